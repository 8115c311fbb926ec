//! The handler contract: what ISyncMgrSynchronize asks of a handler, as a Rust trait, and
//! the registry the center finds its handlers in.
//!
//! Every call runs on the handler's own worker thread and returns when the work is done, as
//! in Vista's Sync Center; the `*Completed` callbacks of SyncMgr are the return values.

use crate::core::callback::Callback;
use crate::core::model::{
    Enumeration, HandlerId, HandlerInfo, ItemId, LogId, Participation, PropertiesOutcome,
    PropertiesTarget, RunContext, ShowErrorOutcome,
};
use std::sync::Arc;
use std::time::Duration;

/// A failure a handler reports, in words the user can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

impl HandlerError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl From<std::io::Error> for HandlerError {
    fn from(e: std::io::Error) -> Self {
        Self(e.to_string())
    }
}

pub type HandlerResult<T> = Result<T, HandlerError>;

/// Why a handler call did not return a value: the handler's own error, or a panic.
#[derive(Debug)]
pub enum CallFailure {
    Error(HandlerError),
    Panic(String),
}

impl std::fmt::Display for CallFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallFailure::Error(e) => write!(f, "{e}"),
            CallFailure::Panic(text) => write!(f, "the handler crashed: {text}"),
        }
    }
}

/// Runs a handler call, turning a panic into a failure with its text instead of unwinding
/// into the host.
pub fn call_guarded<T>(call: impl FnOnce() -> HandlerResult<T>) -> Result<T, CallFailure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(CallFailure::Error(e)),
        Err(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            Err(CallFailure::Panic(text))
        }
    }
}

/// A sync handler (ISyncMgrSynchronize). One instance serves one run or one dialog; the host
/// creates a fresh one through its [`HandlerProvider`] each time, on a fresh thread.
pub trait Handler: Send {
    /// Whether the handler takes part in this run (Initialize). `run.may_bother_user` says
    /// whether it may show dialogs at all.
    fn initialize(&mut self, run: &RunContext) -> HandlerResult<Participation>;

    /// Name, icon, whether there is a handler-level properties dialog (GetHandlerInfo).
    fn info(&self) -> HandlerInfo;

    /// The items this handler can synchronize (EnumSyncMgrItems).
    fn enumerate(&mut self) -> HandlerResult<Enumeration>;

    /// The properties dialog of one item or of the handler (ShowProperties). Dialogs go
    /// through `callback.request_ui`. Returning `ItemsChanged` makes the host enumerate again.
    fn show_properties(
        &mut self,
        target: &PropertiesTarget,
        callback: &Callback,
    ) -> HandlerResult<PropertiesOutcome> {
        let _ = (target, callback);
        Ok(PropertiesOutcome::Unchanged)
    }

    /// Get ready to synchronize `items` (PrepareForSync): the place for a logon dialog. An
    /// error releases the handler without synchronizing; an item it reports failed or
    /// skipped here is left out of `synchronize`.
    fn prepare(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()>;

    /// Synchronize `items` (Synchronize), reporting progress and asking before each item
    /// whether to go on (`callback.check`), which is also how skips and stops arrive
    /// (SetItemStatus(SKIPPED), S_SYNCMGR_CANCELITEM / CANCELALL). Items left without a
    /// final status when this returns `Ok` count as succeeded.
    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()>;

    /// Show the details of a line this handler logged as actionable (ShowError); may ask the
    /// host to retry some items (S_SYNCMGR_RETRYSYNC).
    fn show_error(&mut self, error: LogId, callback: &Callback) -> HandlerResult<ShowErrorOutcome> {
        let _ = (error, callback);
        Ok(ShowErrorOutcome::Done)
    }
}

/// Makes handler instances: the registration of one handler (its CLSID in the registry).
pub trait HandlerProvider: Send + Sync {
    fn id(&self) -> HandlerId;
    /// The name to show before the handler itself said its name.
    fn display_name(&self) -> String;
    fn create(&self) -> HandlerResult<Box<dyn Handler>>;

    /// How long this handler may take to honor a stop before Sync Center gives up on it.
    /// `Some` for handlers in a process of their own (the manifest's `timeouts.stop`):
    /// their process is ended then, and their items wait until it is gone. `None` uses
    /// the engine's timeout for handlers in the center's process.
    fn stop_timeout(&self) -> Option<Duration> {
        None
    }

    /// Whether two sessions may run this handler at once (Vista's
    /// SYNCMGR_HCM_SUPPORTS_CONCURRENT_SESSIONS). When false, a later session's run waits,
    /// its items "waiting for its handler", until the earlier one is done.
    fn concurrent_sessions(&self) -> bool {
        true
    }
}

/// A provider made from a closure, for built-in handlers and tests.
pub struct FnProvider<F> {
    id: HandlerId,
    name: String,
    make: F,
}

impl<F> FnProvider<F>
where
    F: Fn() -> Box<dyn Handler> + Send + Sync + 'static,
{
    pub fn new(id: impl Into<String>, name: impl Into<String>, make: F) -> Arc<Self> {
        Arc::new(Self {
            id: HandlerId(id.into()),
            name: name.into(),
            make,
        })
    }
}

impl<F> HandlerProvider for FnProvider<F>
where
    F: Fn() -> Box<dyn Handler> + Send + Sync + 'static,
{
    fn id(&self) -> HandlerId {
        self.id.clone()
    }
    fn display_name(&self) -> String {
        self.name.clone()
    }
    fn create(&self) -> HandlerResult<Box<dyn Handler>> {
        Ok((self.make)())
    }
}

/// The handlers the center knows, in the order they are shown.
#[derive(Clone, Default)]
pub struct Registry {
    providers: Vec<Arc<dyn HandlerProvider>>,
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, provider: Arc<dyn HandlerProvider>) -> Self {
        self.add(provider);
        self
    }

    /// Adds a provider; one with the same id replaces the earlier one.
    pub fn add(&mut self, provider: Arc<dyn HandlerProvider>) {
        let id = provider.id();
        self.providers.retain(|p| p.id() != id);
        self.providers.push(provider);
    }

    pub fn get(&self, id: &HandlerId) -> Option<Arc<dyn HandlerProvider>> {
        self.providers.iter().find(|p| &p.id() == id).cloned()
    }

    pub fn providers(&self) -> &[Arc<dyn HandlerProvider>] {
        &self.providers
    }
}
