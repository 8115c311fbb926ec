//! The command line as a client of the running instance.
//!
//! * `synccenter sync …` hands its run to the instance of the same home when one is on the
//!   session bus, and shows the same live progress from its signals, with the same exit
//!   codes. Without an instance (or without a session bus: ssh, CI) it runs the engine
//!   itself under the home's engine lock; a second terminal sync waits for the first,
//!   saying so, and a home held by an instance it cannot reach is refused (exit 3).
//! * `synccenter` raises the running instance's window instead of starting a second one.

use crate::cli::sync::{
    catch_interrupt, item_style, mark, overall_style, say, spinner_style, take_interrupt, truncate,
};
use crate::cli::{Cli, Command, EXIT_FAILED, EXIT_NOTHING_RAN, EXIT_OK, SyncArgs};
use crate::core::progress::{ItemShare, ProgressView, format_eta, overall};
use crate::core::store::{Home, SessionRecord};
use crate::desktop::{APP_ID, CONTROL_INTERFACE, OBJECT_PATH};
use crate::resident::lock::{self, Attempt, EngineLock, Holder};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use zbus::blocking::{Connection, MessageIterator, Proxy};
use zbus::message::Type as MessageType;
use zbus::zvariant::Value;
use zbus::{MatchRule, Message};

/// How long a terminal sync looks for an instance that holds the home's lock but is not on
/// the bus yet (it is starting).
const INSTANCE_STARTING: Duration = Duration::from_secs(5);

/// What `main` should do before setting up its own engine.
pub enum Prepared {
    /// Everything is done (handed off, or refused): exit with this code.
    Done(u8),
    /// Go on in this process, holding this lock (for a sync) while it lives.
    RunHere(Option<EngineLock>),
}

/// The running instance of a home, reached over the session bus.
pub struct Instance {
    connection: Connection,
    control: Proxy<'static>,
}

impl Instance {
    /// The instance on this session bus, if there is one and it works on `home`.
    pub fn find(home: &Home) -> Option<Instance> {
        let connection = Connection::session().ok()?;
        let dbus = zbus::blocking::fdo::DBusProxy::new(&connection).ok()?;
        if !dbus.name_has_owner(APP_ID.try_into().ok()?).ok()? {
            return None;
        }
        let control = Proxy::new(&connection, APP_ID, OBJECT_PATH, CONTROL_INTERFACE).ok()?;
        let their_home: String = control.get_property("Home").ok()?;
        if their_home != home.config_dir.display().to_string() {
            tracing::info!("the running Sync Center works on {their_home}, not on this home");
            return None;
        }
        Some(Instance {
            connection,
            control,
        })
    }

    /// Makes the instance read its settings file again.
    pub fn reload_settings(&self) -> zbus::Result<()> {
        self.control.call_method("ReloadSettings", &())?;
        Ok(())
    }

    /// Opens or raises the instance's window (org.freedesktop.Application.Activate).
    pub fn activate(&self) -> zbus::Result<()> {
        let app = Proxy::new(
            &self.connection,
            APP_ID,
            OBJECT_PATH,
            "org.freedesktop.Application",
        )?;
        app.call_method("Activate", &(HashMap::<&str, Value<'_>>::new(),))?;
        Ok(())
    }
}

pub fn prepare(cli: &Cli) -> Prepared {
    let Ok(home) = Home::resolve(cli.home.clone()) else {
        // The setup that follows says what is wrong with the home.
        return Prepared::RunHere(None);
    };
    match &cli.command {
        None => match Instance::find(&home) {
            Some(instance) if cli.background => {
                drop(instance);
                eprintln!("synccenter: Sync Center is already running.");
                Prepared::Done(EXIT_OK)
            }
            Some(instance) => match instance.activate() {
                Ok(()) => Prepared::Done(EXIT_OK),
                Err(e) => {
                    eprintln!("synccenter: the running Sync Center did not open its window: {e}");
                    Prepared::Done(EXIT_NOTHING_RAN)
                }
            },
            None => Prepared::RunHere(None),
        },
        Some(Command::Sync(args)) => prepare_sync(&home, args),
        Some(_) => Prepared::RunHere(None),
    }
}

fn prepare_sync(home: &Home, args: &SyncArgs) -> Prepared {
    if let Some(instance) = Instance::find(home) {
        return Prepared::Done(hand_off(&instance, args));
    }
    let attempt = match lock::try_acquire(home, Holder::Terminal) {
        Ok(attempt) => attempt,
        Err(e) => {
            eprintln!("synccenter: {e}");
            return Prepared::Done(EXIT_NOTHING_RAN);
        }
    };
    match attempt {
        Attempt::Acquired(lock) => Prepared::RunHere(Some(lock)),
        Attempt::Held { owner, waiter } => {
            if let Some(owner) = owner.filter(|o| o.holder == Holder::Instance) {
                // The instance may be starting: give it a moment to appear on the bus.
                let deadline = Instant::now() + INSTANCE_STARTING;
                while Instant::now() < deadline {
                    if let Some(instance) = Instance::find(home) {
                        return Prepared::Done(hand_off(&instance, args));
                    }
                    std::thread::sleep(Duration::from_millis(200));
                }
                eprintln!(
                    "synccenter: Sync Center (process {}) is running on this home, but this terminal cannot reach it over the session bus. Sync from its window or run this command in its desktop session, or quit it first.",
                    owner.pid
                );
                return Prepared::Done(EXIT_NOTHING_RAN);
            }
            let who = owner.map_or_else(
                || "another `synccenter sync`".to_string(),
                |o| format!("another `synccenter sync` (process {})", o.pid),
            );
            eprintln!(
                "synccenter: {who} is synchronizing this home; waiting for it to finish (Ctrl+C gives up)…"
            );
            match waiter.wait() {
                Ok(lock) => Prepared::RunHere(Some(lock)),
                Err(e) => {
                    eprintln!("synccenter: {e}");
                    Prepared::Done(EXIT_NOTHING_RAN)
                }
            }
        }
    }
}

/// Forwards every message matching `rule` to a channel, from a thread of its own.
fn subscribe(
    connection: &Connection,
    rule: MatchRule<'static>,
    tx: crossbeam_channel::Sender<Message>,
) -> zbus::Result<()> {
    let messages = MessageIterator::for_match_rule(rule, connection, None)?;
    std::thread::Builder::new()
        .name("bus-signals".into())
        .spawn(move || {
            for message in messages.flatten() {
                if tx.send(message).is_err() {
                    return;
                }
            }
        })
        .expect("spawn a signal reader");
    Ok(())
}

fn rules() -> zbus::Result<[MatchRule<'static>; 2]> {
    let ours = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .path(OBJECT_PATH)?
        .interface(CONTROL_INTERFACE)?
        .build();
    let owner = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .sender("org.freedesktop.DBus")?
        .interface("org.freedesktop.DBus")?
        .member("NameOwnerChanged")?
        .arg(0, APP_ID)?
        .build();
    Ok([ours, owner])
}

/// Runs `sync` in the instance and follows it; returns the exit code.
fn hand_off(instance: &Instance, args: &SyncArgs) -> u8 {
    let (tx, rx) = crossbeam_channel::unbounded();
    // Listen before asking, so no signal of the run can be missed.
    let listening = rules().and_then(|rules| {
        rules
            .into_iter()
            .try_for_each(|rule| subscribe(&instance.connection, rule, tx.clone()))
    });
    if let Err(e) = listening {
        eprintln!("synccenter: cannot follow the running Sync Center: {e}");
        return EXIT_NOTHING_RAN;
    }
    let mut options: HashMap<&str, Value<'_>> = HashMap::new();
    options.insert("reason", Value::from("manual"));
    options.insert("prompt", Value::from(crate::cli::may_prompt(args)));
    let reply = if args.all {
        instance.control.call::<_, _, u64>("SyncAll", &(options,))
    } else {
        instance
            .control
            .call::<_, _, u64>("SyncItems", &(args.items.clone(), options))
    };
    let session = match reply {
        Ok(session) => session,
        Err(zbus::Error::MethodError(_, Some(text), _)) => {
            eprintln!("synccenter: {text}");
            return EXIT_NOTHING_RAN;
        }
        Err(e) => {
            eprintln!("synccenter: the running Sync Center did not take the run: {e}");
            return EXIT_NOTHING_RAN;
        }
    };
    let dialogs = if crate::cli::may_prompt(args) {
        " Its window shows any dialog a handler needs."
    } else {
        ""
    };
    eprintln!("Synchronizing in the running Sync Center (Ctrl+C stops the run).{dialogs}");
    catch_interrupt();
    let code = follow(instance, session, &rx);
    // SAFETY: restores the default disposition.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
    }
    code
}

/// One item's bar.
struct Line {
    name: String,
    bar: ProgressBar,
    view: ProgressView,
    share: ItemShare,
    done: bool,
}

/// Shows the run's progress from the instance's signals until it ends.
fn follow(instance: &Instance, session: u64, rx: &Receiver<Message>) -> u8 {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    let overall_bar = multi.add(ProgressBar::new(1000).with_style(overall_style()));
    overall_bar.set_prefix("All items");
    let mut overall_view = ProgressView::new();
    let mut lines: HashMap<String, Line> = HashMap::new();
    let started = Instant::now();
    let mut stopping = false;
    let outcome = loop {
        if take_interrupt() && !stopping {
            stopping = true;
            say(
                &multi,
                "Stopping… (the handlers finish what they are doing)",
            );
            if let Err(e) = instance.control.call_method("Stop", &(session,)) {
                say(&multi, &format!("The run could not be stopped: {e}"));
            }
        }
        let message = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break None,
        };
        let header = message.header();
        let member = header.member().map(|m| m.to_string()).unwrap_or_default();
        let body = message.body();
        let now = started.elapsed().as_secs_f64();
        match member.as_str() {
            "NameOwnerChanged" => {
                if let Ok((_, _, new)) = body.deserialize::<(String, String, String)>()
                    && new.is_empty()
                {
                    break None;
                }
            }
            "ItemProgress" => {
                let Ok((s, key, name, status, text, completed, total)) =
                    body.deserialize::<(u64, String, String, String, String, u64, u64)>()
                else {
                    continue;
                };
                if s != session {
                    continue;
                }
                let line = lines.entry(key).or_insert_with(|| {
                    let bar = multi.add(ProgressBar::new(1000).with_style(item_style()));
                    bar.set_prefix(truncate(&name, 28));
                    Line {
                        name: name.clone(),
                        bar,
                        view: ProgressView::new(),
                        share: ItemShare {
                            fraction: 0.0,
                            determinate: false,
                            done: false,
                        },
                        done: false,
                    }
                });
                show(&multi, line, &status, &text, (completed, total), now);
            }
            "LogLine" => {
                if let Ok((s, level, handler, text)) =
                    body.deserialize::<(u64, String, String, String)>()
                    && s == session
                {
                    say(&multi, &format!("{level}: {handler}: {text}"));
                }
            }
            "SessionFinished" => {
                if let Ok((s, conflicts, record)) = body.deserialize::<(u64, u32, String)>()
                    && s == session
                {
                    break Some((conflicts, record));
                }
            }
            _ => {}
        }
        let shares: Vec<ItemShare> = lines.values().map(|l| l.share).collect();
        if !shares.is_empty() {
            let shown = overall_view.update(now, overall(&shares), shares.iter().all(|s| s.done));
            overall_bar.set_position((shown.fraction * 1000.0) as u64);
            overall_bar.set_message(shown.eta_seconds.map(format_eta).unwrap_or_default());
        }
    };
    overall_bar.finish_and_clear();
    for line in lines.values() {
        line.bar.finish_and_clear();
    }
    let Some((conflicts, record)) = outcome else {
        eprintln!(
            "synccenter: Sync Center quit before the run ended; `synccenter results` shows what was done."
        );
        return EXIT_FAILED;
    };
    match serde_json::from_str::<SessionRecord>(&record) {
        Ok(record) => crate::cli::report_outcome(&record, conflicts as usize),
        Err(e) => {
            eprintln!("synccenter: the run ended, but its record could not be read: {e}");
            EXIT_FAILED
        }
    }
}

fn show(
    multi: &MultiProgress,
    line: &mut Line,
    status: &str,
    text: &str,
    work: (u64, u64),
    now: f64,
) {
    let done = matches!(status, "succeeded" | "failed" | "skipped" | "canceled");
    let measure = (work.1 > 0).then_some(work);
    let shown = line.view.update(now, measure, done);
    line.share = ItemShare {
        fraction: shown.fraction,
        determinate: shown.determinate,
        done,
    };
    if shown.determinate {
        line.bar.set_style(item_style());
        line.bar.set_position((shown.fraction * 1000.0) as u64);
    } else {
        line.bar.set_style(spinner_style());
        line.bar.tick();
    }
    line.bar.set_message(if text.is_empty() {
        status.to_string()
    } else {
        text.to_string()
    });
    if done && !line.done {
        let label = crate::resident::dispatch::status_from_word(status)
            .map(|s| (mark(s), s.label()))
            .unwrap_or(("·", status));
        let text = if text.is_empty() {
            String::new()
        } else {
            format!(" — {text}")
        };
        say(
            multi,
            &format!("{} {}: {}{text}", label.0, line.name, label.1),
        );
    }
    line.done = done;
}
