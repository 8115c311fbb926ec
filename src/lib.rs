//! Sync Center: a desktop sync center in the spirit of the Windows Synchronization Manager.
//!
//! Handlers enumerate items; the user checks items and clicks Sync now; the engine drives
//! each handler through initialize → enumerate → prepare → synchronize on worker threads
//! while progress, log lines, dialogs and results stream to the front ends.

/// The terminal front end: items, sync with live progress and terminal dialogs, results.
pub mod cli;
/// The handler contract, sessions, dialog broker, progress accounting, store (no egui).
pub mod core;
/// The app id shared by the bus name, desktop file, icon and metainfo.
pub mod desktop;
/// The exit codes every command and the running instance share.
pub mod exit_code;
/// Handlers that ship with the center: demo, folder pairs, external programs.
pub mod handlers;
/// Printing on stdout and stderr that never panics (SIGPIPE is ignored).
pub mod output;
/// Child programs tied to the center: own process group, killed with it, reaped.
pub mod process;
/// The running instance: D-Bus service and hand-off, schedules, triggers, tray.
pub mod resident;
/// Assembles home, store, handlers and engine for either front end.
pub mod setup;
/// The eframe window over the core.
pub mod window;
