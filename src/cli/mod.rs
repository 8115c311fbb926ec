//! The terminal front end: `synccenter items | sync | results | conflicts | check | folder |
//! handlers | schedule`, on the same engine and event stream as the window. A `sync` goes to
//! the running instance when there is one (`handoff.rs`); `sync --dry-run` only plans, here
//! (`preview.rs`).
//!
//! Exit codes (`crate::exit_code`): 0 everything succeeded; 1 something was skipped,
//! canceled or left in conflict, or an item logged an error; 2 an item failed; 3 nothing
//! could run (bad arguments, unusable configuration).

mod args;
mod bars;
mod handoff;
mod interrupt;
mod preview;
mod prompt;
mod schedule;
mod sync;

pub use args::{Cli, Command, ScheduleAction, SyncArgs};

use crate::core::choice::{self, Listed, Target};
use crate::core::conflicts::{ConflictRecord, Resolution};
use crate::core::engine::{Engine, Listing};
use crate::core::model::{ItemKey, LogLevel, unix_millis};
use crate::core::status::ItemStatus;
use crate::core::store::SessionRecord;
use crate::exit_code::{FAILED, INCOMPLETE, NOTHING_RAN, OK};
use crate::handlers::folders::config::{self as folder_config, Mode, PairConfig};
use crate::handlers::folders::location::Location;
use crate::handlers::folders::remotes;
use crate::output::{self, err, out};
use crate::setup::{Setup, setup};
use args::{ConflictAction, ConflictsArgs, FolderAction};
use bars::mark;
use clap::Parser;
use serde::Serialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::SystemTime;

/// A reason nothing could run, said on stderr; exit code 3.
struct Refusal(String);

impl<E: std::fmt::Display> From<E> for Refusal {
    fn from(e: E) -> Self {
        Refusal(e.to_string())
    }
}

/// Reads the command line; `Err` is the exit code after clap said what was wrong (or
/// printed the help).
pub fn parse() -> Result<Cli, u8> {
    Cli::try_parse().map_err(|e| {
        let code = if e.use_stderr() { NOTHING_RAN } else { OK };
        let _ = e.print();
        code
    })
}

/// Carries out a command on the home; returns the exit code.
pub fn run(home: Option<PathBuf>, demo: bool, command: Command) -> u8 {
    // A sync goes to the running instance of the home; without one, this process holds the
    // home's engine lock while it runs (and opens the store only once it has it).
    let _engine_lock = match &command {
        Command::Sync(args) if !args.dry_run => {
            let home = match crate::core::store::Home::resolve(home.clone()) {
                Ok(home) => home,
                Err(e) => {
                    err!("synccenter: {e}");
                    return NOTHING_RAN;
                }
            };
            match handoff::decide(&home, args) {
                handoff::Where::HandedOff(code) => return code,
                handoff::Where::Here(lock) => Some(lock),
            }
        }
        _ => None,
    };
    let setup = match setup(home, demo) {
        Ok(setup) => setup,
        Err(e) => {
            err!("synccenter: {e}");
            return NOTHING_RAN;
        }
    };
    for notice in &setup.notices {
        err!("synccenter: {notice}");
    }
    let mut code = match command_in(command, &setup) {
        Ok(code) => code,
        Err(Refusal(reason)) => {
            err!("synccenter: {reason}");
            NOTHING_RAN
        }
    };
    if let Err(unsaved) = setup.engine.store().flush() {
        for text in &unsaved.0 {
            err!("synccenter: {text}");
        }
        code = code.max(FAILED);
    }
    if output::stdout_failed() {
        code = code.max(FAILED);
    }
    code
}

fn command_in(command: Command, setup: &Setup) -> Result<u8, Refusal> {
    match command {
        Command::Items { json } => items(&setup.engine, json),
        Command::Sync(args) => sync_items(setup, args),
        Command::Results { json } => results(&setup.engine, json),
        Command::Conflicts(args) => conflicts(&setup.engine, args),
        Command::Check { off, items } => check(&setup.engine, &items, !off),
        Command::Folder { action } => folder(setup, action),
        Command::Handlers { json } => handlers(setup, json),
        Command::Schedule { action } => {
            let names = schedule::named_items(&action);
            let items = if names.is_empty() {
                Vec::new()
            } else {
                let listed = list(&setup.engine);
                choice::resolve_names(names, &listed)?
            };
            schedule::schedule(&setup.home, action, items).map_err(Refusal)
        }
    }
}

/// Lists every handler's items now, saying which handlers could not.
fn list(engine: &Engine) -> Vec<Listed> {
    let listed = choice::listed(&engine.list_now(), engine.store());
    say_unlisted(&choice::unlisted(&listed));
    listed
}

/// Says on stderr which handlers could not list their items, and why.
pub(crate) fn say_unlisted(unlisted: &[(String, String)]) {
    for (name, error) in unlisted {
        err!("synccenter: {name} could not list its items: {error}");
    }
}

/// After a run of every (checked) item: handlers that could not list their items left
/// theirs out, which is a failure, not a success.
pub(crate) fn report_unlisted(unlisted: usize, code: u8) -> u8 {
    if unlisted == 0 {
        return code;
    }
    out!("{unlisted} handler(s) could not list their items, so those items were not synchronized.");
    code.max(FAILED)
}

#[derive(Serialize)]
struct HandlerRow {
    id: String,
    name: String,
    kind: &'static str,
    /// "ok", or "problem" for a manifest that did not load or whose program is missing.
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
        state: if m.program_problem.is_some() {
            "problem"
        } else {
            "ok"
        },
        program: Some(m.program.clone()),
        manifest: Some(m.path.clone()),
        reason: m.program_problem.clone(),
    }));
    rows.extend(setup.manifest_problems.iter().map(|p| {
        HandlerRow {
            // It has no id (it did not load): its file names it.
            id: p
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
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
        out!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(OK);
    }
    for row in rows {
        let detail = match (&row.reason, &row.manifest) {
            (Some(reason), Some(path)) if row.program.is_some() => {
                format!("cannot start: {reason} ({})", path.display())
            }
            (Some(reason), Some(path)) => format!("not loaded: {reason} ({})", path.display()),
            (None, Some(path)) => {
                format!("{} ({})", row.program.unwrap_or_default(), path.display())
            }
            _ => String::new(),
        };
        out!("{:<20} {:<22} {:<9} {detail}", row.id, row.name, row.kind);
    }
    Ok(OK)
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
            create,
        } => {
            // A remote (`gdrive:Docs`, `nextcloud://…`) is kept as typed; a folder is made
            // absolute. An address that is not understood is refused, never taken for a
            // folder of that name (nor kept, with a password it may hold).
            let remote = match right
                .to_str()
                .map(|text| (text, Location::parse_typed(text)))
            {
                Some((_, Ok(location))) => {
                    remotes::check_remote_is_configured(home, &location)?;
                    location.is_remote()
                }
                // (`name,option=value:path` is an rclone remote, not a folder.)
                Some((text, Err(e)))
                    if text.contains("://")
                        || text
                            .split('/')
                            .next()
                            .is_some_and(|first| first.contains(':')) =>
                {
                    return Err(e.into());
                }
                _ => false,
            };
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
                "{} {} {} ({})",
                pair.left.display(),
                pair.mode.arrow(),
                pair.right.display(),
                pair.mode
            );
            let name = pair.name.clone();
            let missing = pair.missing_folders();
            if !create && let Some(path) = missing.first() {
                return Err(Refusal(format!(
                    "The folder {} does not exist. Check the path, or add --create to make it.",
                    path.display()
                )));
            }
            folder_config::add(home, pair)?;
            for path in &missing {
                // Made once the pair is known to be fine; a folder that cannot be made
                // takes the pair back out, so nothing is left half done.
                if let Err(e) = std::fs::create_dir_all(path) {
                    let _ = folder_config::remove(home, &name);
                    return Err(crate::handlers::folders::FolderError::io(path.clone(), e).into());
                }
                out!("Made the folder {}.", path.display());
            }
            out!("Added the folder pair {name}: {summary}. Sync it with `synccenter sync {name}`.");
        }
        FolderAction::Remove { name } => {
            crate::handlers::folders::remove_pair(home, &name)?;
            out!(
                "Removed the folder pair {name}; its folders and files were left as they are, and its record of the last sync was forgotten."
            );
            let key = ItemKey::new(crate::handlers::folders::HANDLER_ID, name.as_str());
            match schedule::forget_item(home, &key) {
                Ok(said) => said.iter().for_each(|line| out!("{line}")),
                Err(problem) => err!("synccenter: {problem}"),
            }
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
                out!("{}", serde_json::to_string_pretty(&rows)?);
            } else if pairs.is_empty() {
                out!("No folder pairs. Add one with `synccenter folder add NAME LEFT RIGHT`.");
            } else {
                for pair in pairs {
                    out!(
                        "{:<20} {:<10} {} {} {}",
                        pair.name,
                        pair.mode,
                        pair.left.display(),
                        pair.mode.arrow(),
                        pair.right.display()
                    );
                }
            }
        }
    }
    Ok(OK)
}

#[derive(Serialize)]
struct ItemRow {
    handler: String,
    handler_name: String,
    id: String,
    name: String,
    checked: bool,
    /// RFC 3339 in UTC, for programs.
    last_synced: Option<String>,
    /// The same in local time, for people (as `results` and `conflicts` show times).
    #[serde(skip)]
    last_synced_here: Option<String>,
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
                let last_synced = record.last_synced.or(item.last_synced);
                ItemRow {
                    handler: listing.handler.to_string(),
                    handler_name: listing.info.name.clone(),
                    id: item.id.to_string(),
                    name: item.name.clone(),
                    checked: store.is_checked(&key, item.checked_by_default),
                    last_synced: last_synced.map(rfc3339),
                    last_synced_here: last_synced.map(local_time),
                    last_status: record.last_status,
                    has_properties: item.has_properties,
                }
            })
        })
        .collect()
}

fn items(engine: &Engine, json: bool) -> Result<u8, Refusal> {
    let listings = engine.list_now();
    say_unlisted(&choice::unlisted(&choice::listed(
        &listings,
        engine.store(),
    )));
    let rows = item_rows(engine, &listings);
    if json {
        out!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(OK);
    }
    if rows.is_empty() {
        out!(
            "No items. A handler provides items to sync: add a folder pair, or install a handler."
        );
        return Ok(OK);
    }
    out!(
        "{:<14} {:<20} {:<28} {:<8} LAST SYNCED",
        "HANDLER",
        "ITEM",
        "NAME",
        "CHECKED"
    );
    for row in rows {
        let when = row.last_synced_here.unwrap_or_else(|| "never".into());
        let checked = if row.checked { "yes" } else { "no" };
        out!(
            "{:<14} {:<20} {:<28} {checked:<8} {when}",
            row.handler_name,
            row.id,
            row.name
        );
    }
    Ok(OK)
}

fn sync_items(setup: &Setup, args: SyncArgs) -> Result<u8, Refusal> {
    let engine = &setup.engine;
    let listed = list(engine);
    let target = if args.all {
        Target::All
    } else if args.items.is_empty() {
        Target::Checked
    } else {
        Target::Named(args.items.clone())
    };
    let keys = choice::choose(&target, &listed)?;
    let may_bother_user = may_prompt(&args);
    if args.dry_run {
        return preview::preview(engine, &setup.events, keys, args.json, may_bother_user)
            .map_err(Refusal);
    }
    let record =
        sync::run(engine, &setup.events, keys.clone(), may_bother_user).map_err(Refusal)?;
    let open_conflicts = engine
        .store()
        .conflicts()
        .iter()
        .filter(|c| keys.contains(&c.item) && c.resolution.is_none())
        .count();
    let code = report_outcome(&record, open_conflicts);
    let unlisted = if target.covers_every_handler() {
        choice::unlisted(&listed).len()
    } else {
        0
    };
    Ok(report_unlisted(unlisted, code))
}

/// Dialogs need someone to answer them: a terminal on both ends, and no --no-prompt.
pub(crate) fn may_prompt(args: &SyncArgs) -> bool {
    !args.no_prompt && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Prints how each item of a finished run ended and what conflicts wait; the exit code.
pub(crate) fn report_outcome(record: &SessionRecord, open_conflicts: usize) -> u8 {
    for result in &record.items {
        out!("{}", bars::ending_of(result));
    }
    if open_conflicts > 0 {
        let conflicts = if open_conflicts == 1 {
            "1 conflict needs"
        } else {
            &format!("{open_conflicts} conflicts need")
        };
        out!("{conflicts} you: `synccenter conflicts` lists them.");
    }
    exit_code(record, open_conflicts)
}

/// 2 if an item failed; 1 if one was skipped or canceled, conflicts remain, or an error was
/// logged (an item that went on past a file it could not sync); else 0.
pub fn exit_code(record: &SessionRecord, open_conflicts: usize) -> u8 {
    let any = |status| record.items.iter().any(|i| i.status == status);
    let logged_errors = record.log.iter().any(|line| line.level == LogLevel::Error);
    if any(ItemStatus::Failed) || record.items.iter().any(|i| !i.status.is_terminal()) {
        FAILED
    } else if any(ItemStatus::Skipped)
        || any(ItemStatus::Canceled)
        || open_conflicts > 0
        || logged_errors
    {
        INCOMPLETE
    } else {
        OK
    }
}

fn results(engine: &Engine, json: bool) -> Result<u8, Refusal> {
    let mut history = engine.store().history();
    history.reverse();
    if json {
        let runs = history
            .iter()
            .map(|run| with_entries(engine, run))
            .collect::<Result<Vec<_>, _>>()?;
        out!("{}", serde_json::to_string_pretty(&runs)?);
        return Ok(OK);
    }
    if history.is_empty() {
        out!("No results yet: nothing has been synchronized.");
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
        // (A run that found nothing to do, as a trigger's can, has no items.)
        let summary = match counts.is_empty() {
            true => "nothing ran".to_string(),
            false => counts.join(", "),
        };
        out!(
            "{} ({}): {summary}",
            local_time(session.started),
            session.reason,
        );
        for item in &session.items {
            let text = if item.text.is_empty() {
                String::new()
            } else {
                format!(" — {}", item.text)
            };
            out!(
                "  {} {} / {}: {}{text}",
                mark(item.status),
                item.handler_name,
                item.name,
                item.status
            );
        }
        for line in &session.log {
            out!("    {}", sync::log_line(line));
        }
    }
    Ok(OK)
}

/// A run as JSON, each item with the entries its handler listed as changed (`entries`,
/// beside the counts in `activity`).
fn with_entries(engine: &Engine, run: &SessionRecord) -> Result<serde_json::Value, Refusal> {
    let mut listed = engine.store().activity(run.id).map_err(Refusal)?;
    let mut value = serde_json::to_value(run)?;
    if let Some(items) = value["items"].as_array_mut() {
        for (item, result) in items.iter_mut().zip(&run.items) {
            let entries = listed
                .iter()
                .position(|listed| listed.key == result.key)
                .map(|at| listed.swap_remove(at).entries)
                .unwrap_or_default();
            item["entries"] = serde_json::to_value(entries)?;
        }
    }
    Ok(value)
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
                out!("{}", serde_json::to_string_pretty(&rows)?);
            } else if open.is_empty() {
                let chosen: std::collections::BTreeSet<&str> = all
                    .iter()
                    .filter(|c| c.resolution.is_some())
                    .map(|c| c.item_name.as_str())
                    .collect();
                if chosen.is_empty() {
                    out!("No conflicts.");
                } else {
                    let waiting = all.len() - open.len();
                    out!(
                        "No conflicts left to choose for. {} you chose {} at the next sync of {}.",
                        crate::core::words::plural(waiting as u64, "resolution", "resolutions"),
                        if waiting == 1 {
                            "takes effect"
                        } else {
                            "take effect"
                        },
                        chosen.iter().copied().collect::<Vec<_>>().join(", ")
                    );
                }
            } else {
                for c in open {
                    out!("{}  {}", c.item.item, c.report.path);
                    for side in [&c.report.left, &c.report.right] {
                        out!("    {:<6} {}", side.label, describe_side(side));
                    }
                }
            }
            Ok(OK)
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
            out!(
                "Keeping {what} of {path}. It takes effect at the next sync of {item} (synccenter sync {item})."
            );
            Ok(OK)
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
    for key in choice::resolve_names(names, &list(engine))? {
        engine.store().set_checked(&key, checked);
    }
    Ok(OK)
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
