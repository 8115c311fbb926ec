//! The running instance of a home as another process reaches it over the session bus:
//! find it, show its window, do a desktop action, have it reload its settings, hand it a
//! run and follow the run's news. The bus's messages are read here; what to show of them is
//! the caller's business (the terminal draws bars).

use crate::core::status::ItemStatus;
use crate::core::store::{Home, SessionRecord};
use crate::desktop::{APP_ID, CONTROL_INTERFACE, OBJECT_PATH};
use crossbeam_channel::{Receiver, Sender};
use std::collections::HashMap;
use zbus::blocking::{Connection, MessageIterator, Proxy};
use zbus::message::Type as MessageType;
use zbus::zvariant::Value;
use zbus::{MatchRule, Message};

/// The running instance of a home, reached over the session bus.
pub struct Instance {
    connection: Connection,
    control: Proxy<'static>,
}

/// What the instance says while runs go on.
#[derive(Debug)]
pub enum News {
    /// An item's state changed. `text` is the handler's words, or why the item waits.
    Progress {
        session: u64,
        key: String,
        name: String,
        status: ItemStatus,
        text: String,
        /// (completed, total) when the amount of work is known.
        measure: Option<(u64, u64)>,
    },
    /// A handler logged a line.
    Log {
        session: u64,
        level: String,
        handler_name: String,
        text: String,
    },
    /// A run ended: its record, or why it could not be read.
    Finished {
        session: u64,
        open_conflicts: usize,
        record: Result<SessionRecord, String>,
    },
    /// The instance left the bus (it quit).
    Gone,
}

/// A run the instance started.
#[derive(Debug)]
pub struct Run {
    pub session: u64,
    /// Handlers that could not list their items (name, why), when the run was to cover
    /// every handler.
    pub unlisted: Vec<(String, String)>,
}

/// The items of a run handed over.
pub enum Items<'a> {
    /// These, by id or `HANDLER/ID`; none means the checked ones.
    Named(&'a [String]),
    All,
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
        if std::path::Path::new(&their_home) != home.config_dir {
            tracing::info!("the running Sync Center works on {their_home}, not on this home");
            return None;
        }
        Some(Instance {
            connection,
            control,
        })
    }

    /// Makes the instance read its settings file again; returns once it has.
    pub fn reload_settings(&self) -> Result<(), String> {
        self.control
            .call_method("ReloadSettings", &())
            .map(|_| ())
            .map_err(words)
    }

    /// Each scheduled item's next run, in words, as the instance knows it.
    pub fn next_runs(&self) -> Result<HashMap<String, String>, String> {
        self.control.get_property("NextRuns").map_err(words)
    }

    fn application(&self) -> Result<Proxy<'_>, String> {
        Proxy::new(
            &self.connection,
            APP_ID,
            OBJECT_PATH,
            "org.freedesktop.Application",
        )
        .map_err(words)
    }

    /// Opens or raises the instance's window (`org.freedesktop.Application.Activate`).
    pub fn activate(&self) -> Result<(), String> {
        self.application()?
            .call_method("Activate", &(HashMap::<&str, Value<'_>>::new(),))
            .map(|_| ())
            .map_err(words)
    }

    /// A desktop action (`ActivateAction`), such as `sync-all`.
    pub fn activate_action(&self, action: &str) -> Result<(), String> {
        let parameter: Vec<Value<'_>> = Vec::new();
        self.application()?
            .call_method(
                "ActivateAction",
                &(action, parameter, HashMap::<&str, Value<'_>>::new()),
            )
            .map(|_| ())
            .map_err(words)
    }

    /// Starts listening to the instance's news. Listen before asking for a run: its first
    /// news may come before the answer.
    pub fn listen(&self) -> Result<Receiver<News>, String> {
        let (tx, rx) = crossbeam_channel::unbounded();
        for rule in rules().map_err(words)? {
            let messages =
                MessageIterator::for_match_rule(rule, &self.connection, None).map_err(words)?;
            let tx = tx.clone();
            std::thread::Builder::new()
                .name("bus-news".into())
                .spawn(move || forward(messages, tx))
                .expect("spawn a news reader");
        }
        Ok(rx)
    }

    /// Asks the instance for a run of these items; `prompt`: handlers may show dialogs (in
    /// the instance's window). A person asked (`reason: manual`).
    pub fn sync(&self, items: Items<'_>, prompt: bool) -> Result<Run, String> {
        let mut options: HashMap<&str, Value<'_>> = HashMap::new();
        options.insert("reason", Value::from("manual"));
        options.insert("prompt", Value::from(prompt));
        let reply = match items {
            Items::All => self.control.call("SyncAll", &(options,)),
            Items::Named(names) => self.control.call("SyncItems", &(names, options)),
        };
        let (session, unlisted): (u64, Vec<(String, String)>) = reply.map_err(words)?;
        Ok(Run { session, unlisted })
    }

    /// Stops a run.
    pub fn stop(&self, session: u64) -> Result<(), String> {
        self.control
            .call_method("Stop", &(session,))
            .map(|_| ())
            .map_err(words)
    }
}

/// A bus error in words: the instance's own explanation when it gave one.
fn words(error: zbus::Error) -> String {
    match error {
        zbus::Error::MethodError(_, Some(text), _) => text,
        other => other.to_string(),
    }
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

fn forward(messages: MessageIterator, tx: Sender<News>) {
    for message in messages.flatten() {
        if let Some(news) = read(&message)
            && tx.send(news).is_err()
        {
            return;
        }
    }
}

/// The news a signal carries.
fn read(message: &Message) -> Option<News> {
    let header = message.header();
    let member = header.member()?.to_string();
    let body = message.body();
    match member.as_str() {
        "NameOwnerChanged" => {
            let (_, _, new) = body.deserialize::<(String, String, String)>().ok()?;
            new.is_empty().then_some(News::Gone)
        }
        "ItemProgress" => {
            let (session, key, name, status, text, completed, total) = body
                .deserialize::<(u64, String, String, String, String, u64, u64)>()
                .ok()?;
            Some(News::Progress {
                session,
                key,
                name,
                status: ItemStatus::from_word(&status)?,
                text,
                measure: (total > 0).then_some((completed, total)),
            })
        }
        "LogLine" => {
            let (session, level, handler_name, text) =
                body.deserialize::<(u64, String, String, String)>().ok()?;
            Some(News::Log {
                session,
                level,
                handler_name,
                text,
            })
        }
        "SessionFinished" => {
            let (session, open_conflicts, record) =
                body.deserialize::<(u64, u32, String)>().ok()?;
            Some(News::Finished {
                session,
                open_conflicts: open_conflicts as usize,
                record: serde_json::from_str(&record).map_err(|e| e.to_string()),
            })
        }
        _ => None,
    }
}
