//! `synccenter`: with a command, the terminal front end; without one, the running instance
//! (its window, or in the background), which a second start only asks to show its window.

use std::process::ExitCode;
use synccenter::cli;
use synccenter::resident::instance::{self, Start};

fn main() -> ExitCode {
    synccenter::setup::process_signals();
    let args = match cli::parse() {
        Ok(args) => args,
        Err(code) => return ExitCode::from(code),
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("SYNCCENTER_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let code = match args.command {
        Some(command) => cli::run(args.home, args.demo, command),
        None => instance::start(Start {
            home: args.home,
            demo: args.demo,
            background: args.background,
            at_logon: args.logon,
            action: args.action,
        }),
    };
    // Children killed at the end of a session are reaped before the center is gone.
    synccenter::process::wait_for_reapers();
    ExitCode::from(code)
}
