//! The instance on the session bus: `org.freedesktop.Application` (the launcher's Activate
//! and desktop actions) and Sync Center's own control interface, shaped after
//! `ISyncMgrSynchronizeInvoke` (UpdateItems / UpdateAll with a cookie) and `ISyncMgrControl`
//! (StartItemSync / StartHandlerSync / StartSyncAll / Stop…). `docs/dbus.md` documents it.

// The interface macro writes a function per signal with the signal's arguments, and the
// ItemProgress signal has seven: its D-Bus signature.
#![allow(clippy::too_many_arguments)]

use crate::core::choice::Target;
use crate::core::model::RunReason;
use crate::desktop::{CONTROL_INTERFACE, OBJECT_PATH};
use crate::resident::scheduler::Pause;
use crate::resident::{ActionError, CenterRef, RunRequest};
use serde::Serialize;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};
use zbus::fdo;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{OwnedValue, Value};

/// Options every Sync… method takes (`a{sv}`), parsed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// `cookie` (`ay`): handed back to the handler's initialize (SYNCMGRFLAG_INVOKE).
    pub cookie: Option<Vec<u8>>,
    /// `prompt` (`b`): handlers may show dialogs; they show in the window.
    pub prompt: bool,
    /// `reason` (`s`): "invoke" (default) or "manual" (a person asked, e.g. in a terminal).
    pub manual: bool,
}

impl RunOptions {
    pub fn parse(options: &HashMap<String, OwnedValue>) -> fdo::Result<RunOptions> {
        let mut parsed = RunOptions::default();
        for (key, value) in options {
            let value: &Value<'_> = value;
            match key.as_str() {
                "cookie" => {
                    let bytes = Vec::<u8>::try_from(value.try_clone().map_err(bad(key))?)
                        .map_err(bad(key))?;
                    parsed.cookie = Some(bytes);
                }
                "prompt" => parsed.prompt = bool::try_from(value).map_err(bad(key))?,
                "reason" => {
                    let reason = <&str>::try_from(value).map_err(bad(key))?;
                    parsed.manual = match reason {
                        "manual" => true,
                        "invoke" => false,
                        other => {
                            return Err(fdo::Error::InvalidArgs(format!(
                                "reason \"{other}\": use \"invoke\" or \"manual\""
                            )));
                        }
                    };
                }
                other => {
                    return Err(fdo::Error::InvalidArgs(format!(
                        "unknown option \"{other}\" (cookie, prompt, reason)"
                    )));
                }
            }
        }
        if parsed.manual && parsed.cookie.is_some() {
            return Err(fdo::Error::InvalidArgs(
                "a cookie makes an invoked run; it cannot go with reason \"manual\"".into(),
            ));
        }
        Ok(parsed)
    }

    fn reason(&self) -> RunReason {
        if self.manual {
            RunReason::Manual
        } else {
            RunReason::Invoke {
                cookie: self.cookie.clone().unwrap_or_default(),
            }
        }
    }
}

fn bad<E: std::fmt::Display>(key: &str) -> impl Fn(E) -> fdo::Error + '_ {
    move |e| fdo::Error::InvalidArgs(format!("option \"{key}\": {e}"))
}

/// `org.freedesktop.Application`.
pub struct Application {
    pub center: CenterRef,
}

#[zbus::interface(name = "org.freedesktop.Application")]
impl Application {
    /// Opens the window, or raises it when it is open.
    fn activate(&self, platform_data: HashMap<String, OwnedValue>) -> fdo::Result<()> {
        // The activation token in `platform_data` cannot be handed to a new eframe window.
        let _ = platform_data;
        self.center.show_window().map_err(fdo::Error::Failed)
    }

    /// Sync Center opens no files: the same as Activate.
    fn open(
        &self,
        uris: Vec<String>,
        platform_data: HashMap<String, OwnedValue>,
    ) -> fdo::Result<()> {
        let _ = uris;
        self.activate(platform_data)
    }

    /// The desktop file's actions: `sync-all`, `pause-schedules`, `resume-schedules`,
    /// `quit`. Quit is under way when this returns: nothing more is started.
    async fn activate_action(
        &self,
        action: String,
        parameter: Vec<OwnedValue>,
        platform_data: HashMap<String, OwnedValue>,
    ) -> fdo::Result<()> {
        let _ = (parameter, platform_data);
        let center = self.center.clone();
        blocking::unblock(move || center.activate_action(&action))
            .await
            .map_err(|e| match e {
                ActionError::Unknown(_) => fdo::Error::InvalidArgs(e.to_string()),
                ActionError::Failed(_) => fdo::Error::Failed(e.to_string()),
            })
    }
}

/// Sync Center's control interface.
pub struct Control {
    pub center: CenterRef,
}

/// A started run as a `Sync…` method answers it: the session, and the handlers that could
/// not list their items (name, why) when the run was to cover every handler.
type Answer = (u64, Vec<(String, String)>);

impl Control {
    async fn start(
        &self,
        target: Target,
        options: HashMap<String, OwnedValue>,
    ) -> fdo::Result<Answer> {
        let options = RunOptions::parse(&options)?;
        let request = RunRequest {
            target,
            reason: options.reason(),
            prompt: options.prompt,
        };
        let center = self.center.clone();
        blocking::unblock(move || center.start(request))
            .await
            .map(|started| (started.session.0, started.unlisted))
            .map_err(fdo::Error::Failed)
    }
}

#[zbus::interface(name = "io.github.synccenter.SyncCenter1")]
impl Control {
    /// Synchronizes items named by id or HANDLER/ID; none means the checked items
    /// (ISyncMgrControl::StartItemSync). Returns the session id, and the handlers left out
    /// because they could not list their items.
    #[zbus(out_args("session", "unlisted"))]
    async fn sync_items(
        &self,
        items: Vec<String>,
        options: HashMap<String, OwnedValue>,
    ) -> fdo::Result<Answer> {
        let target = if items.is_empty() {
            Target::Checked
        } else {
            Target::Named(items)
        };
        self.start(target, options).await
    }

    /// Synchronizes every item of one handler (ISyncMgrSynchronizeInvoke::UpdateItems;
    /// StartHandlerSync).
    #[zbus(out_args("session", "unlisted"))]
    async fn sync_handler(
        &self,
        handler: String,
        options: HashMap<String, OwnedValue>,
    ) -> fdo::Result<Answer> {
        self.start(Target::Handler(handler), options).await
    }

    /// Synchronizes every item (UpdateAll; StartSyncAll).
    #[zbus(out_args("session", "unlisted"))]
    async fn sync_all(&self, options: HashMap<String, OwnedValue>) -> fdo::Result<Answer> {
        self.start(Target::All, options).await
    }

    /// Stops one session, or every session with 0 (StopSyncAll). Handlers finish what they
    /// are doing; the session ends with SessionFinished.
    fn stop(&self, session: u64) -> fdo::Result<()> {
        if session == 0 {
            self.center.engine.stop_everything();
            return Ok(());
        }
        let handle = self
            .center
            .engine
            .session(crate::core::model::SessionId(session))
            .ok_or_else(|| fdo::Error::InvalidArgs(format!("no session {session} is running")))?;
        handle.stop_all();
        Ok(())
    }

    /// Stops these items wherever they run (StopItemSync).
    async fn stop_items(&self, items: Vec<String>) -> fdo::Result<()> {
        let center = self.center.clone();
        blocking::unblock(move || {
            for name in &items {
                let key = center.find_item(name).map_err(fdo::Error::InvalidArgs)?;
                for session in center.engine.sessions() {
                    session.stop_item(&key);
                }
            }
            Ok(())
        })
        .await
    }

    /// Pauses schedules and triggers for `seconds`, or until resumed with 0.
    fn pause_schedules(&self, seconds: u32) {
        let pause = if seconds == 0 {
            Pause::UntilResumed
        } else {
            Pause::Until(SystemTime::now() + Duration::from_secs(seconds.into()))
        };
        self.center.pause(pause);
    }

    fn resume_schedules(&self) {
        self.center.pause(Pause::Off);
    }

    /// Reads `resident.json` again (`synccenter schedule …` changed it); answers once it
    /// is applied.
    async fn reload_settings(&self) {
        let center = self.center.clone();
        blocking::unblock(move || center.reload_settings()).await;
    }

    /// The home this instance works on (its config folder), so a client on another home
    /// does not hand its work to the wrong instance.
    #[zbus(property)]
    fn home(&self) -> String {
        self.center.home.config_dir.display().to_string()
    }

    /// 0 when schedules run, -1 when paused until resumed, else when the pause ends (Unix
    /// milliseconds).
    #[zbus(property)]
    fn paused_until(&self) -> i64 {
        match self.center.scheduler.pause_state() {
            Pause::Off => 0,
            Pause::UntilResumed => -1,
            Pause::Until(t) => crate::core::model::unix_millis::to_millis(t),
        }
    }

    /// Every item's next scheduled run, as `HANDLER/ID` → words.
    #[zbus(property)]
    fn next_runs(&self) -> HashMap<String, String> {
        self.center
            .next_runs()
            .into_iter()
            .map(|(key, words)| (key.to_string(), words))
            .collect()
    }

    /// A run started; `items` as HANDLER/ID.
    #[zbus(signal)]
    async fn session_started(
        emitter: &SignalEmitter<'_>,
        session: u64,
        reason: &str,
        items: Vec<String>,
    ) -> zbus::Result<()>;

    /// An item's state changed (at most every 200 ms per item). `status` is one of
    /// pending, waiting, updating, indeterminate, succeeded, failed, skipped, canceled;
    /// `total` 0 means the amount of work is unknown.
    #[zbus(signal)]
    async fn item_progress(
        emitter: &SignalEmitter<'_>,
        session: u64,
        item: &str,
        name: &str,
        status: &str,
        text: &str,
        completed: u64,
        total: u64,
    ) -> zbus::Result<()>;

    /// A line a handler logged (info, warning, error).
    #[zbus(signal)]
    async fn log_line(
        emitter: &SignalEmitter<'_>,
        session: u64,
        level: &str,
        handler_name: &str,
        text: &str,
    ) -> zbus::Result<()>;

    /// A run ended. `record` is the run as `synccenter results --json` prints it;
    /// `open_conflicts` counts the unresolved conflicts of its items.
    #[zbus(signal)]
    async fn session_finished(
        emitter: &SignalEmitter<'_>,
        session: u64,
        open_conflicts: u32,
        record: &str,
    ) -> zbus::Result<()>;
}

/// Emits one of the control interface's signals; a failure (bus gone) is only logged.
pub fn emit<B: Serialize + zbus::zvariant::DynamicType>(
    connection: &zbus::blocking::Connection,
    signal: &str,
    body: &B,
) {
    if let Err(e) = connection.emit_signal(
        None::<zbus::names::BusName<'_>>,
        OBJECT_PATH,
        CONTROL_INTERFACE,
        signal,
        body,
    ) {
        tracing::warn!("could not send the {signal} signal: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(pairs: Vec<(&str, Value<'static>)>) -> HashMap<String, OwnedValue> {
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), OwnedValue::try_from(v).unwrap()))
            .collect()
    }

    #[test]
    fn run_options_are_read_and_mistakes_named() {
        let parsed = RunOptions::parse(&options(vec![
            ("cookie", Value::from(vec![1u8, 2, 3])),
            ("prompt", Value::from(true)),
        ]))
        .unwrap();
        assert_eq!(parsed.cookie, Some(vec![1, 2, 3]));
        assert!(parsed.prompt);
        assert_eq!(
            parsed.reason(),
            RunReason::Invoke {
                cookie: vec![1, 2, 3]
            }
        );
        let manual = RunOptions::parse(&options(vec![("reason", Value::from("manual"))])).unwrap();
        assert_eq!(manual.reason(), RunReason::Manual);
        assert_eq!(
            RunOptions::parse(&HashMap::new()).unwrap().reason(),
            RunReason::Invoke { cookie: vec![] }
        );
        for (bad, word) in [
            (vec![("colour", Value::from(1u32))], "colour"),
            (vec![("prompt", Value::from("yes"))], "prompt"),
            (vec![("reason", Value::from("scheduled"))], "scheduled"),
            (
                vec![
                    ("reason", Value::from("manual")),
                    ("cookie", Value::from(vec![1u8])),
                ],
                "cookie",
            ),
        ] {
            let error = RunOptions::parse(&options(bad)).unwrap_err().to_string();
            assert!(error.contains(word), "{error}");
        }
    }
}
