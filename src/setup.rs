//! Assembles a center: its home, its store, its handlers and its engine. The window and the
//! command line start from the same setup.

use crate::core::engine::{Engine, EngineConfig};
use crate::core::events::Event;
use crate::core::handler::Registry;
use crate::core::store::{Home, Store, StoreError};
use crate::handlers::{demo, folders};
use crossbeam_channel::Receiver;
use std::path::PathBuf;

pub struct Setup {
    pub home: Home,
    pub engine: Engine,
    pub events: Receiver<Event>,
    /// Things to tell the user once, in plain words (damaged files moved aside, bad manifests).
    pub notices: Vec<String>,
}

/// Whether the demo handler is on: `--demo` or `SYNCCENTER_DEMO=1`.
pub fn demo_enabled(flag: bool) -> bool {
    flag || std::env::var("SYNCCENTER_DEMO").is_ok_and(|v| v == "1")
}

pub fn setup(home: Option<PathBuf>, demo: bool) -> Result<Setup, StoreError> {
    let home = Home::resolve(home)?;
    let (store, notices) = Store::open(home.clone());
    let mut registry = Registry::new().with(folders::provider(&home));
    if demo_enabled(demo) {
        registry.add(demo::provider(demo::step_from_env()));
    }
    let (engine, events) = Engine::new(registry, store, EngineConfig::default());
    Ok(Setup {
        home,
        engine,
        events,
        notices,
    })
}
