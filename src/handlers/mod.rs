//! Handlers that ship with Sync Center.

/// A handler that demonstrates the whole contract without touching anything real.
pub mod demo;
/// Folder pairs: two local folders kept in sync, safely.
pub mod folders;
