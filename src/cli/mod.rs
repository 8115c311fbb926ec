//! The terminal front end: `synccenter items | sync | results | conflicts | check`, on the
//! same engine and event stream as the window.
//!
//! Exit codes: 0 everything succeeded; 1 something was skipped, canceled or left in
//! conflict; 2 an item failed; 3 nothing could run (bad arguments, unusable configuration).

mod args;
mod prompt;
mod sync;

pub use args::{Cli, Command};

use crate::core::conflicts::{ConflictRecord, Resolution};
use crate::core::engine::{Engine, Listing};
use crate::core::model::{ItemKey, unix_millis};
use crate::core::status::ItemStatus;
use crate::core::store::SessionRecord;
use crate::handlers::folders::config::{self as folder_config, Mode, PairConfig};
use crate::handlers::folders::location::Location;
use crate::setup::{Setup, setup};
use args::{ConflictAction, ConflictsArgs, FolderAction, SyncArgs};
use clap::Parser;
use serde::Serialize;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::SystemTime;

pub const EXIT_OK: u8 = 0;
pub const EXIT_INCOMPLETE: u8 = 1;
pub const EXIT_FAILED: u8 = 2;
pub const EXIT_NOTHING_RAN: u8 = 3;

/// A reason nothing could run, said on stderr; exit code 3.
struct Refusal(String);

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal(e.to_string())
    }
}

pub fn main() -> ExitCode {
    // `synccenter items | head` ends quietly, as Unix tools do, instead of panicking.
    // SAFETY: restores the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_NOTHING_RAN
            } else {
                EXIT_OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("SYNCCENTER_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let setup = match setup(cli.home.clone(), cli.demo) {
        Ok(setup) => setup,
        Err(e) => {
            eprintln!("synccenter: {e}");
            return ExitCode::from(EXIT_NOTHING_RAN);
        }
    };
    let Some(command) = cli.command else {
        return ExitCode::from(run_window(setup));
    };
    for notice in &setup.notices {
        eprintln!("synccenter: {notice}");
    }
    let code = match run(command, &setup) {
        Ok(code) => code,
        Err(Refusal(reason)) => {
            eprintln!("synccenter: {reason}");
            EXIT_NOTHING_RAN
        }
    };
    setup.engine.store().flush();
    ExitCode::from(code)
}

fn run_window(setup: Setup) -> u8 {
    match crate::window::run(setup.engine, setup.events, setup.notices) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!(
                "synccenter: cannot open the window: {e}. Is there a display (X11 or Wayland)? The commands work without one: synccenter --help."
            );
            EXIT_NOTHING_RAN
        }
    }
}

fn run(command: Command, setup: &Setup) -> Result<u8, Refusal> {
    match command {
        Command::Items { json } => items(&setup.engine, json),
        Command::Sync(args) => sync_items(setup, args),
        Command::Results { json } => results(&setup.engine, json),
        Command::Conflicts(args) => conflicts(&setup.engine, args),
        Command::Check { off, items } => check(&setup.engine, &items, !off),
        Command::Folder { action } => folder(setup, action),
        Command::Handlers { json } => handlers(setup, json),
    }
}

#[derive(Serialize)]
struct HandlerRow {
    id: String,
    name: String,
    kind: &'static str,
    /// "ok", or "problem" for a manifest that did not load.
    state: &'static str,
    program: Option<String>,
    manifest: Option<std::path::PathBuf>,
    reason: Option<String>,
}

fn handlers(setup: &Setup, json: bool) -> Result<u8, Refusal> {
    let external: Vec<&str> = setup.manifests.iter().map(|m| m.id.as_str()).collect();
    let mut rows: Vec<HandlerRow> = setup
        .engine
        .registry()
        .providers()
        .iter()
        .filter(|p| !external.contains(&p.id().as_str()))
        .map(|p| HandlerRow {
            id: p.id().to_string(),
            name: p.display_name(),
            kind: "built-in",
            state: "ok",
            program: None,
            manifest: None,
            reason: None,
        })
        .collect();
    rows.extend(setup.manifests.iter().map(|m| HandlerRow {
        id: m.id.clone(),
        name: m.name.clone(),
        kind: "external",
        state: "ok",
        program: Some(m.program.clone()),
        manifest: Some(m.path.clone()),
        reason: None,
    }));
    rows.extend(setup.manifest_problems.iter().map(|p| {
        HandlerRow {
            id: String::new(),
            name: p
                .path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
            kind: "external",
            state: "problem",
            program: None,
            manifest: Some(p.path.clone()),
            reason: Some(p.reason.clone()),
        }
    }));
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(EXIT_OK);
    }
    for row in rows {
        let detail = match (&row.reason, &row.manifest) {
            (Some(reason), Some(path)) => format!("not loaded: {reason} ({})", path.display()),
            (None, Some(path)) => {
                format!("{} ({})", row.program.unwrap_or_default(), path.display())
            }
            _ => String::new(),
        };
        println!("{:<20} {:<22} {:<9} {detail}", row.id, row.name, row.kind);
    }
    Ok(EXIT_OK)
}

fn folder(setup: &Setup, action: FolderAction) -> Result<u8, Refusal> {
    let home = &setup.home;
    match action {
        FolderAction::Add {
            name,
            left,
            right,
            mode,
            excludes,
            versions_days,
            versions_disk_percent,
        } => {
            // A remote (`gdrive:Docs`, `nextcloud://…`) is kept as typed; a folder is made
            // absolute.
            let remote = right
                .to_str()
                .and_then(|text| Location::parse(text).ok())
                .is_some_and(|location| location.is_remote());
            let pair = PairConfig {
                mode: mode.parse::<Mode>()?,
                left: std::path::absolute(&left)?,
                right: if remote {
                    right
                } else {
                    std::path::absolute(&right)?
                },
                name,
                excludes,
                versions_days,
                versions_disk_percent,
            };
            let summary = format!(
                "{} ⇄ {} ({})",
                pair.left.display(),
                pair.right.display(),
                pair.mode
            );
            let name = pair.name.clone();
            folder_config::add(home, pair)?;
            println!(
                "Added the folder pair {name}: {summary}. Sync it with `synccenter sync {name}`."
            );
        }
        FolderAction::Remove { name } => {
            crate::handlers::folders::remove_pair(home, &name)?;
            println!(
                "Removed the folder pair {name}; its folders and files were left as they are, and its record of the last sync was forgotten."
            );
        }
        FolderAction::List { json } => {
            let pairs = folder_config::load(home)?;
            if json {
                #[derive(Serialize)]
                struct Listed<'a> {
                    #[serde(flatten)]
                    pair: &'a PairConfig,
                    /// The server or rclone remote of a remote right side.
                    server: Option<String>,
                }
                let rows: Vec<Listed> = pairs
                    .iter()
                    .map(|pair| Listed {
                        pair,
                        server: pair.right_location().ok().and_then(|l| l.server()),
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if pairs.is_empty() {
                println!("No folder pairs. Add one with `synccenter folder add NAME LEFT RIGHT`.");
            } else {
                for pair in pairs {
                    println!(
                        "{:<20} {:<10} {} ⇄ {}",
                        pair.name,
                        pair.mode,
                        pair.left.display(),
                        pair.right.display()
                    );
                }
            }
        }
    }
    Ok(EXIT_OK)
}

#[derive(Serialize)]
struct ItemRow {
    handler: String,
    handler_name: String,
    id: String,
    name: String,
    checked: bool,
    last_synced: Option<String>,
    last_status: Option<ItemStatus>,
    has_properties: bool,
}

fn item_rows(engine: &Engine, listings: &[Listing]) -> Vec<ItemRow> {
    let store = engine.store();
    listings
        .iter()
        .flat_map(|listing| {
            listing.items.iter().map(move |item| {
                let key = ItemKey {
                    handler: listing.handler.clone(),
                    item: item.id.clone(),
                };
                let record = store.item_record(&key).unwrap_or_default();
                ItemRow {
                    handler: listing.handler.to_string(),
                    handler_name: listing.info.name.clone(),
                    id: item.id.to_string(),
                    name: item.name.clone(),
                    checked: store.is_checked(&key, item.checked_by_default),
                    last_synced: record.last_synced.or(item.last_synced).map(rfc3339),
                    last_status: record.last_status,
                    has_properties: item.has_properties,
                }
            })
        })
        .collect()
}

fn report_unavailable(listings: &[Listing]) {
    for listing in listings {
        if let Some(error) = &listing.error {
            eprintln!(
                "synccenter: {} could not list its items: {error}",
                listing.info.name
            );
        }
    }
}

fn items(engine: &Engine, json: bool) -> Result<u8, Refusal> {
    let listings = engine.list_now();
    report_unavailable(&listings);
    let rows = item_rows(engine, &listings);
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(EXIT_OK);
    }
    if rows.is_empty() {
        println!(
            "No items. A handler provides items to sync: add a folder pair, or install a handler."
        );
        return Ok(EXIT_OK);
    }
    println!(
        "{:<14} {:<20} {:<28} {:<8} LAST SYNCED",
        "HANDLER", "ITEM", "NAME", "CHECKED"
    );
    for row in rows {
        let when = row.last_synced.unwrap_or_else(|| "never".into());
        let checked = if row.checked { "yes" } else { "no" };
        println!(
            "{:<14} {:<20} {:<28} {checked:<8} {when}",
            row.handler_name, row.id, row.name
        );
    }
    Ok(EXIT_OK)
}

/// Finds items by id (`ID`) or by handler and id (`HANDLER/ID`).
fn resolve_items(listings: &[Listing], names: &[String]) -> Result<Vec<ItemKey>, Refusal> {
    let all: Vec<ItemKey> = listings
        .iter()
        .flat_map(|l| {
            l.items
                .iter()
                .map(|i| ItemKey::new(l.handler.as_str(), i.id.as_str()))
        })
        .collect();
    names
        .iter()
        .map(|name| {
            let matches: Vec<&ItemKey> = all
                .iter()
                .filter(|k| k.item.as_str() == name || k.to_string() == *name)
                .collect();
            match matches.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err(Refusal(format!(
                    "there is no item \"{name}\"; `synccenter items` lists the items"
                ))),
                many => Err(Refusal(format!(
                    "\"{name}\" names several items ({}); write HANDLER/ID",
                    many.iter()
                        .map(|k| k.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))),
            }
        })
        .collect()
}

fn sync_items(setup: &Setup, args: SyncArgs) -> Result<u8, Refusal> {
    let engine = &setup.engine;
    let listings = engine.list_now();
    report_unavailable(&listings);
    let keys = if args.all {
        item_rows(engine, &listings)
            .into_iter()
            .map(|r| ItemKey::new(r.handler, r.id))
            .collect()
    } else if args.items.is_empty() {
        let checked: Vec<ItemKey> = item_rows(engine, &listings)
            .into_iter()
            .filter(|r| r.checked)
            .map(|r| ItemKey::new(r.handler, r.id))
            .collect();
        if checked.is_empty() {
            return Err(Refusal(
                "no items are checked; name the items to sync, use --all, or check some with `synccenter check ITEM`".into(),
            ));
        }
        checked
    } else {
        resolve_items(&listings, &args.items)?
    };
    if keys.is_empty() {
        return Err(Refusal(
            "there are no items to sync; `synccenter items` lists the items".into(),
        ));
    }
    // Dialogs need someone to answer them: a terminal on both ends.
    let may_bother_user =
        !args.no_prompt && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let record =
        sync::run(engine, &setup.events, keys.clone(), may_bother_user).map_err(Refusal)?;
    for result in &record.items {
        let text = if result.text.is_empty() {
            String::new()
        } else {
            format!(" — {}", result.text)
        };
        println!(
            "{} {}: {}{text}",
            sync::mark(result.status),
            result.name,
            result.status
        );
    }
    let open_conflicts = engine
        .store()
        .conflicts()
        .iter()
        .filter(|c| keys.contains(&c.item) && c.resolution.is_none())
        .count();
    if open_conflicts > 0 {
        let conflicts = if open_conflicts == 1 {
            "1 conflict needs"
        } else {
            &format!("{open_conflicts} conflicts need")
        };
        println!("{conflicts} you: `synccenter conflicts` lists them.");
    }
    let mut code = exit_code(&record, open_conflicts);
    let unlisted = listings.iter().filter(|l| l.error.is_some()).count();
    if unlisted > 0 && (args.all || args.items.is_empty()) {
        // Their items could not even be chosen: that is a failure, not a success.
        println!(
            "{unlisted} handler(s) could not list their items, so those items were not synchronized."
        );
        code = code.max(EXIT_FAILED);
    }
    Ok(code)
}

/// 2 if an item failed; 1 if one was skipped or canceled or conflicts remain; else 0.
pub fn exit_code(record: &SessionRecord, open_conflicts: usize) -> u8 {
    let any = |status| record.items.iter().any(|i| i.status == status);
    if any(ItemStatus::Failed) || record.items.iter().any(|i| !i.status.is_terminal()) {
        EXIT_FAILED
    } else if any(ItemStatus::Skipped) || any(ItemStatus::Canceled) || open_conflicts > 0 {
        EXIT_INCOMPLETE
    } else {
        EXIT_OK
    }
}

fn results(engine: &Engine, json: bool) -> Result<u8, Refusal> {
    let mut history = engine.store().history();
    history.reverse();
    if json {
        println!("{}", serde_json::to_string_pretty(&history)?);
        return Ok(EXIT_OK);
    }
    if history.is_empty() {
        println!("No results yet: nothing has been synchronized.");
    }
    for session in &history {
        let counts: Vec<String> = [
            ItemStatus::Succeeded,
            ItemStatus::Failed,
            ItemStatus::Skipped,
            ItemStatus::Canceled,
        ]
        .into_iter()
        .filter_map(|s| {
            let n = session.count(s);
            (n > 0).then(|| format!("{n} {}", s.label().to_lowercase()))
        })
        .collect();
        println!(
            "{} ({}): {}",
            local_time(session.started),
            session.reason,
            counts.join(", ")
        );
        for item in &session.items {
            let text = if item.text.is_empty() {
                String::new()
            } else {
                format!(" — {}", item.text)
            };
            println!(
                "  {} {} / {}: {}{text}",
                sync::mark(item.status),
                item.handler_name,
                item.name,
                item.status
            );
        }
        for line in &session.log {
            println!("    {}", sync::log_line(line));
        }
    }
    Ok(EXIT_OK)
}

#[derive(Serialize)]
struct ConflictRow<'a> {
    handler: &'a str,
    item: &'a str,
    item_name: &'a str,
    path: &'a str,
    id: &'a str,
    left: &'a crate::core::conflicts::ConflictSide,
    right: &'a crate::core::conflicts::ConflictSide,
    detected: String,
    resolution: Option<Resolution>,
}

fn conflict_row(c: &ConflictRecord) -> ConflictRow<'_> {
    ConflictRow {
        handler: c.item.handler.as_str(),
        item: c.item.item.as_str(),
        item_name: &c.item_name,
        path: &c.report.path,
        id: &c.report.id,
        left: &c.report.left,
        right: &c.report.right,
        detected: rfc3339(c.detected),
        resolution: c.resolution,
    }
}

fn conflicts(engine: &Engine, args: ConflictsArgs) -> Result<u8, Refusal> {
    let all = engine.store().conflicts();
    match args.action {
        None => {
            let open: Vec<&ConflictRecord> =
                all.iter().filter(|c| c.resolution.is_none()).collect();
            if args.json {
                let rows: Vec<ConflictRow> = open.iter().map(|c| conflict_row(c)).collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if open.is_empty() {
                println!("No conflicts.");
            } else {
                for c in open {
                    println!("{}  {}", c.item.item, c.report.path);
                    for side in [&c.report.left, &c.report.right] {
                        println!("    {:<6} {}", side.label, describe_side(side));
                    }
                }
            }
            Ok(EXIT_OK)
        }
        Some(ConflictAction::Resolve { item, path, keep }) => {
            let resolution = Resolution::parse(&keep)
                .ok_or_else(|| Refusal(format!("--keep {keep}: use left, right or both")))?;
            let found = all
                .iter()
                .find(|c| c.item.item.as_str() == item && c.report.path == path)
                .ok_or_else(|| Refusal(format!("there is no conflict at \"{path}\" in \"{item}\"; `synccenter conflicts` lists them")))?;
            engine
                .store()
                .resolve_conflict(&found.item, &found.report.id, resolution);
            let what = match resolution {
                Resolution::KeepLeft => "the left version",
                Resolution::KeepRight => "the right version",
                Resolution::KeepBoth => "both versions",
            };
            println!(
                "Keeping {what} of {path}. It takes effect at the next sync of {item} (synccenter sync {item})."
            );
            Ok(EXIT_OK)
        }
    }
}

fn describe_side(side: &crate::core::conflicts::ConflictSide) -> String {
    if !side.exists {
        return format!("deleted (in {})", side.location);
    }
    let size = side
        .size
        .map_or_else(String::new, |s| format!("{s} bytes, "));
    let modified = side
        .modified
        .map_or_else(String::new, |m| format!("modified {}", local_time(m)));
    format!("{size}{modified} (in {})", side.location)
}

fn check(engine: &Engine, names: &[String], checked: bool) -> Result<u8, Refusal> {
    let listings = engine.list_now();
    report_unavailable(&listings);
    for key in resolve_items(&listings, names)? {
        engine.store().set_checked(&key, checked);
    }
    Ok(EXIT_OK)
}

fn rfc3339(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_millis(unix_millis::to_millis(time))
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn local_time(time: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(time)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}
