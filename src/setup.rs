//! Assembles a center: its home, its store, its handlers and its engine. The window and the
//! command line start from the same setup.

use crate::core::engine::{Engine, EngineConfig};
use crate::core::events::Event;
use crate::core::handler::Registry;
use crate::core::store::{Home, Store, StoreError};
use crate::handlers::external::{self, ManifestProblem, ManifestSummary};
use crate::handlers::{demo, folders};
use crossbeam_channel::Receiver;
use std::path::PathBuf;

pub struct Setup {
    pub home: Home,
    pub engine: Engine,
    pub events: Receiver<Event>,
    /// Things to tell the user once, in plain words (damaged files moved aside, bad manifests).
    pub notices: Vec<String>,
    /// External handlers' manifests that loaded, and the ones that did not.
    pub manifests: Vec<ManifestSummary>,
    pub manifest_problems: Vec<ManifestProblem>,
}

/// The process's signal dispositions, set first thing by `main`, before the window or a
/// command starts, so both front ends run with the same: SIGPIPE and SIGXFSZ are ignored.
/// A handler program that dies with answers still unwritten is then a failed write to its
/// pipe, and a file-size limit a failed save that the user is told about, never the end of
/// the whole center with every other handler's results.
pub fn process_signals() {
    // SAFETY: setting a disposition to SIG_IGN has no preconditions; it runs before any
    // thread of ours starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Whether the demo handler is on: `--demo` or `SYNCCENTER_DEMO=1`.
pub fn demo_enabled(flag: bool) -> bool {
    flag || std::env::var("SYNCCENTER_DEMO").is_ok_and(|v| v == "1")
}

pub fn setup(home: Option<PathBuf>, demo: bool) -> Result<Setup, StoreError> {
    Ok(setup_in(Home::resolve(home)?, demo))
}

/// The setup of a home already resolved.
pub fn setup_in(home: Home, demo: bool) -> Setup {
    let (store, mut notices) = Store::open(home.clone());
    let mut registry = Registry::new().with(folders::provider(&home));
    if demo_enabled(demo) {
        registry.add(demo::provider(demo::step_from_env()));
    }
    let discovery = external::discover(&home);
    for provider in discovery.providers {
        registry.add(provider);
    }
    notices.extend(discovery.problems.iter().map(|p| {
        format!(
            "The handler manifest {} was not loaded: {}",
            p.path.display(),
            p.reason
        )
    }));
    let (engine, events) = Engine::new(registry, store, EngineConfig::default());
    Setup {
        home,
        engine,
        events,
        notices,
        manifests: discovery.manifests,
        manifest_problems: discovery.problems,
    }
}
