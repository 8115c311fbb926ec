//! The core: the handler contract, sessions on worker threads, the dialog broker, progress
//! accounting and the store. No front end lives here, and nothing here imports egui.

pub mod board;
pub mod callback;
pub mod choice;
pub mod conflicts;
pub mod dialog;
pub mod engine;
pub mod events;
pub mod handler;
pub mod model;
pub mod progress;
pub mod status;
pub mod store;
