//! Handlers that ship with Sync Center.

/// A handler that demonstrates the whole contract without touching anything real.
pub mod demo;
/// Handlers that are separate programs speaking JSON-RPC over stdio.
pub mod external;
/// Folder pairs: two local folders kept in sync, safely.
pub mod folders;
