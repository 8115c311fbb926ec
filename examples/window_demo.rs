//! The window over the demo handler, until `synccenter` itself opens the window:
//! `cargo run --example window_demo -- --home DIR`.

use synccenter::core::engine::{Engine, EngineConfig};
use synccenter::core::handler::Registry;
use synccenter::core::store::{Home, Store};
use synccenter::handlers::demo;

fn main() -> eframe::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut home = None;
    while let Some(arg) = args.next() {
        if arg == "--home" {
            home = args.next().map(std::path::PathBuf::from);
        }
    }
    let home = Home::resolve(home).expect("a home folder for Sync Center");
    let (store, notices) = Store::open(home);
    let registry = Registry::new().with(demo::provider(demo::step_from_env()));
    let (engine, events) = Engine::new(registry, store, EngineConfig::default());
    synccenter::window::run(engine, events, notices)
}
