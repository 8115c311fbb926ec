//! The window over the built-in handlers (the demo one with SYNCCENTER_DEMO=1), until
//! `synccenter` itself opens the window: `cargo run --example window_demo -- --home DIR`.

use synccenter::setup::setup;

fn main() -> eframe::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut home = None;
    while let Some(arg) = args.next() {
        if arg == "--home" {
            home = args.next().map(std::path::PathBuf::from);
        }
    }
    let center = match setup(home, false) {
        Ok(center) => center,
        Err(e) => {
            eprintln!("window_demo: {e}");
            std::process::exit(2);
        }
    };
    synccenter::window::run(center.engine, center.events, center.notices)
}
