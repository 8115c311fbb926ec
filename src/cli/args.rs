//! The command line's grammar.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "synccenter",
    version,
    about = "Sync Center: see every handler's items, sync them, read the results, resolve conflicts.",
    long_about = "Sync Center: see every handler's items, sync them, read the results, resolve conflicts.\n\nWithout a command it opens the window (or raises the running one). While Sync Center runs, `synccenter sync` hands its work to it."
)]
pub struct Cli {
    /// Keep all settings and records under DIR (also: SYNCCENTER_HOME).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,

    /// Add the demo handler, which pretends to sync (also: SYNCCENTER_DEMO=1).
    #[arg(long, global = true)]
    pub demo: bool,

    /// Start without a window: schedules, triggers and the tray only (needs a session bus).
    /// `synccenter` without it opens the window, or raises the one already open.
    #[arg(long)]
    pub background: bool,

    /// Started by the session at logon (the autostart entry): sync the checked items.
    #[arg(long, hide = true, requires = "background")]
    pub logon: bool,

    /// A desktop action (`sync-all`), as a launcher without D-Bus activation runs it: the
    /// running Sync Center does it, or one is started to do it.
    #[arg(
        long,
        hide = true,
        value_name = "ACTION",
        conflicts_with = "background"
    )]
    pub action: Option<String>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every handler's items, whether they are checked, and when they last synced.
    Items {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Synchronize items: the checked ones, the ones named, or all.
    Sync(SyncArgs),
    /// Show the results of past runs, newest first.
    Results {
        #[arg(long)]
        json: bool,
    },
    /// List unresolved conflicts, or resolve one.
    Conflicts(ConflictsArgs),
    /// List the handlers: built in, and external programs found by their manifests.
    Handlers {
        #[arg(long)]
        json: bool,
    },
    /// Set up folder pairs: two folders kept in sync.
    Folder {
        #[command(subcommand)]
        action: FolderAction,
    },
    /// Schedules: sync items every N minutes, daily, or on weekdays, in the background.
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// Check or uncheck items for "Sync now" and `synccenter sync`.
    Check {
        /// Uncheck instead of check.
        #[arg(long)]
        off: bool,
        #[arg(required = true, value_name = "ITEM")]
        items: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Items to synchronize, by id or as HANDLER/ID. Default: the checked items.
    #[arg(value_name = "ITEM")]
    pub items: Vec<String>,
    /// Synchronize every item of every handler.
    #[arg(long, conflicts_with = "items")]
    pub all: bool,
    /// Never show a dialog: handlers that need one fail their item instead.
    #[arg(long)]
    pub no_prompt: bool,
    /// Say what a sync would do (each change with its direction, and counts) and change
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print the planned changes as JSON.
    #[arg(long, requires = "dry_run")]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ConflictsArgs {
    #[arg(long)]
    pub json: bool,
    #[command(subcommand)]
    pub action: Option<ConflictAction>,
}

#[derive(Debug, Subcommand)]
pub enum ConflictAction {
    /// Choose which version wins; it takes effect at the item's next sync.
    Resolve {
        /// The item (for folder pairs: the pair's name).
        item: String,
        /// The conflicting path, relative to the item's roots, as `conflicts` lists it.
        path: String,
        /// Which version to keep: left, right, or both (the other one renamed).
        #[arg(long, value_parser = ["left", "right", "both"])]
        keep: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum FolderAction {
    /// Add a folder pair; its name is the item's id.
    Add {
        name: String,
        left: PathBuf,
        right: PathBuf,
        /// two-way: changes go both ways; mirror: the right becomes a copy of the left;
        /// contribute: left to right, never deleting on the right.
        #[arg(long, default_value = "two-way", value_parser = ["two-way", "mirror", "contribute"])]
        mode: String,
        /// A path to leave out, in .gitignore syntax (repeatable).
        #[arg(long = "exclude", value_name = "PATTERN")]
        excludes: Vec<String>,
        /// Keep replaced and deleted files (versions) this many days.
        #[arg(long, value_name = "DAYS", default_value_t = crate::handlers::folders::config::DEFAULT_VERSIONS_DAYS)]
        versions_days: u32,
        /// Versions may take at most this share of their disk (percent); the oldest go first.
        #[arg(long, value_name = "PERCENT", default_value_t = crate::handlers::folders::config::DEFAULT_VERSIONS_DISK_PERCENT)]
        versions_disk_percent: u8,
        /// Make the pair's folders that do not exist yet (without it, a missing folder is
        /// refused: a mistyped path would fail every sync).
        #[arg(long)]
        create: bool,
    },
    /// Remove a folder pair and forget its last sync (its folders and files are left as
    /// they are; adding it again starts as a first sync, which deletes nothing — except in
    /// mirror mode, which makes the right a copy, keeping what it replaces as versions).
    Remove { name: String },
    /// List the folder pairs.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Add a schedule (or replace the one with this name).
    Add {
        /// The schedule's name.
        name: String,
        /// Items to sync, by id or HANDLER/ID.
        #[arg(required = true, value_name = "ITEM")]
        items: Vec<String>,
        /// Every period: 30s, 15m, 2h, 1d.
        #[arg(long, value_name = "PERIOD", conflicts_with_all = ["daily", "weekly"])]
        every: Option<String>,
        /// Every day at HH:MM (local time).
        #[arg(long, value_name = "HH:MM", conflicts_with = "weekly")]
        daily: Option<String>,
        /// On these weekdays (mon,tue,…) at the time given with --at.
        #[arg(long, value_name = "DAYS", requires = "at")]
        weekly: Option<String>,
        /// The time of day for --weekly, HH:MM.
        #[arg(long, value_name = "HH:MM")]
        at: Option<String>,
    },
    /// List the schedules with their next runs.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a schedule.
    Remove { name: String },
}
