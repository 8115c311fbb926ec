//! The program's exit codes, the same for every command, for a sync handed to the running
//! instance, and for the instance itself.

/// Everything succeeded (or there was nothing to do).
pub const OK: u8 = 0;
/// Something was skipped, canceled, or left in conflict, or an item logged an error.
pub const INCOMPLETE: u8 = 1;
/// An item failed (or waits for the user).
pub const FAILED: u8 = 2;
/// Nothing could run: bad arguments, an unusable configuration, no display.
pub const NOTHING_RAN: u8 = 3;
