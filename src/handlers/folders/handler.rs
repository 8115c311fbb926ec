//! The folder pairs handler: items are the pairs in `folders.toml`; a sync runs [`sync::run`]
//! for each and reports in Sync Center's terms.

use super::config::{self, Mode, PairConfig};
use super::local::LocalReplica;
use super::lock::PairLock;
use super::sync::{self, MassDelete, Observer, Outcome, Pair, RootChange};
use super::{FolderError, HANDLER_ID, archive};
use crate::core::activity::{Activity, Change, Direction};
use crate::core::callback::{Callback, LogLine, Progress, Reply};
use crate::core::dialog::{Button, ButtonRole, Field, Form, FormReply, Values};
use crate::core::figures::Figures;
use crate::core::handler::{FnProvider, Handler, HandlerError, HandlerProvider, HandlerResult};
use crate::core::model::{
    Enumeration, HandlerInfo, Icon, ItemId, ItemInfo, Participation, PropertiesOutcome,
    PropertiesTarget, RunContext,
};
use crate::core::preview::ItemAnswer;
use crate::core::progress::{BatchEstimate, Stage, WorkReport};
use crate::core::status::ItemStatus;
use crate::core::store::Home;
use crate::core::words::{grouped, plural};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Failures logged one by one before the rest are only counted.
const MAX_FAILURE_LINES: usize = 50;

/// The folder pairs handler for the center whose files live in `home`.
pub fn provider(home: &Home) -> Arc<dyn HandlerProvider> {
    let home = home.clone();
    FnProvider::new(HANDLER_ID, "Folder pairs", move || {
        Box::new(FolderPairs {
            home: home.clone(),
            prepared: HashMap::new(),
        }) as Box<dyn Handler>
    })
}

struct Prepared {
    pair: PairConfig,
    _lock: PairLock,
}

struct FolderPairs {
    home: Home,
    prepared: HashMap<ItemId, Prepared>,
}

fn handler_error(e: FolderError) -> HandlerError {
    HandlerError::new(e.to_string())
}

impl Handler for FolderPairs {
    fn initialize(&mut self, _run: &RunContext) -> HandlerResult<Participation> {
        Ok(Participation::TakesPart)
    }

    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: "Folder pairs".into(),
            icon: Icon::Folder,
            has_properties: true,
        }
    }

    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        let items = config::load(&self.home)
            .map_err(handler_error)?
            .into_iter()
            .map(|pair| ItemInfo {
                icon: Icon::Folder,
                has_properties: true,
                detail: Some(config::describe(&pair)),
                folders: vec![pair.left.clone(), pair.right.clone()],
                last_synced: archive::last_synced(&archive::archive_file(
                    &self.home.data_dir,
                    &pair.name,
                )),
                ..ItemInfo::new(pair.name.clone(), pair.name)
            })
            .collect();
        Ok(Enumeration {
            items,
            some_missing: false,
        })
    }

    fn show_properties(
        &mut self,
        target: &PropertiesTarget,
        callback: &Callback,
    ) -> HandlerResult<PropertiesOutcome> {
        let (about, existing) = match target {
            PropertiesTarget::Handler => (None, None),
            PropertiesTarget::Item(item) => (
                Some(item),
                Some(config::find(&self.home, item.as_str()).map_err(handler_error)?),
            ),
        };
        let Ok(permit) = callback.request_ui(about) else {
            return Ok(PropertiesOutcome::Unchanged);
        };
        let mut form = pair_form(existing.as_ref());
        loop {
            let reply = permit.show(form.clone());
            let FormReply::Submitted { button, values } = &reply else {
                return Ok(PropertiesOutcome::Unchanged);
            };
            let again = pair_form_from(values, existing.is_some());
            match (button.as_str(), existing.as_ref()) {
                ("remove", Some(pair)) => {
                    if permit.show(remove_form(pair)).pressed("remove").is_none() {
                        form = again;
                        continue;
                    }
                    return match super::remove_pair(&self.home, &pair.name) {
                        Ok(()) => Ok(PropertiesOutcome::ItemsChanged),
                        Err(e) => {
                            form = with_error(again, e);
                            continue;
                        }
                    };
                }
                ("ok", _) => {}
                _ => return Ok(PropertiesOutcome::Unchanged),
            }
            // Folders that do not exist yet are made, once the user says so.
            match create_missing(values, |missing| permit.show(create_form(missing))) {
                Ok(true) => {}
                Ok(false) => {
                    form = again;
                    continue;
                }
                Err(e) => {
                    form = with_error(again, e);
                    continue;
                }
            }
            match self.save_form(existing.as_ref(), values) {
                Ok(()) => return Ok(PropertiesOutcome::ItemsChanged),
                Err(e) => form = with_error(again, e),
            }
        }
    }

    fn prepare(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        let pairs = config::load(&self.home).map_err(handler_error)?;
        for item in items {
            let ready = pairs
                .iter()
                .find(|p| p.name == item.as_str())
                .ok_or_else(|| FolderError::UnknownPair(item.to_string()))
                .and_then(|pair| self.ready(pair));
            match ready {
                Ok(prepared) => {
                    self.prepared.insert(item.clone(), prepared);
                }
                Err(e) => fail(callback, item, &e.to_string()),
            }
        }
        Ok(())
    }

    fn preview(
        &mut self,
        items: &[ItemId],
        callback: &Callback,
    ) -> HandlerResult<Option<Vec<ItemAnswer>>> {
        let pairs = config::load(&self.home).map_err(handler_error)?;
        let answers = items
            .iter()
            .map(|item| {
                let planned = pairs
                    .iter()
                    .find(|p| p.name == item.as_str())
                    .ok_or_else(|| FolderError::UnknownPair(item.to_string()))
                    .and_then(|config| {
                        let (left, right) = (
                            LocalReplica::new(&config.left),
                            LocalReplica::new(&config.right),
                        );
                        let pair = Pair {
                            config,
                            left: &left,
                            right: &right,
                            archive_file: archive::archive_file(&self.home.data_dir, &config.name),
                        };
                        sync::preview(&pair, &callback.chosen_resolutions(item), &mut Previewing)
                    });
                (item.clone(), planned.map_err(|e| e.to_string()))
            })
            .collect();
        Ok(Some(answers))
    }

    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        for item in items {
            let Some(prepared) = self.prepared.remove(item) else {
                continue;
            };
            let reply = callback.check(item);
            if let Some(status) = reply.final_status() {
                callback.progress(item, Progress::status(status));
                if reply == Reply::CancelAll {
                    return Ok(());
                }
                continue;
            }
            if self.sync_item(item, &prepared.pair, callback) == Reply::CancelAll {
                return Ok(());
            }
        }
        Ok(())
    }
}

impl FolderPairs {
    /// Checks that both folders are there and takes the pair's lock.
    fn ready(&self, pair: &PairConfig) -> Result<Prepared, FolderError> {
        for (side, root) in [("left", &pair.left), ("right", &pair.right)] {
            if !root.is_dir() {
                return Err(FolderError::MissingRoot {
                    side,
                    path: root.clone(),
                });
            }
        }
        let lock = PairLock::acquire(&self.home.data_dir, &pair.name)?;
        Ok(Prepared {
            pair: pair.clone(),
            _lock: lock,
        })
    }

    fn sync_item(&self, item: &ItemId, config: &PairConfig, callback: &Callback) -> Reply {
        let (left, right) = (
            LocalReplica::new(&config.left),
            LocalReplica::new(&config.right),
        );
        let pair = Pair {
            config,
            left: &left,
            right: &right,
            archive_file: archive::archive_file(&self.home.data_dir, &config.name),
        };
        let mut reporter = Reporter {
            callback,
            item,
            reply: Reply::Continue,
            ui_refused: false,
            figures: Figures::at(Stage::ChangeDetection),
            both_ways: false,
        };
        let resolutions = callback.chosen_resolutions(item);
        let result = sync::run(&pair, &resolutions, &mut reporter);
        let reply = reporter.reply;
        match result {
            Err(e) => fail(callback, item, &e.to_string()),
            Ok(outcome) => report_outcome(callback, item, outcome, reply, reporter.ui_refused),
        }
        reply
    }

    fn save_form(&self, existing: Option<&PairConfig>, values: &Values) -> Result<(), FolderError> {
        let text = |id: &str| {
            values
                .get(id)
                .and_then(|v| v.as_text())
                .unwrap_or("")
                .trim()
                .to_string()
        };
        // A field the reply leaves out keeps the default.
        let number = |id: &'static str, default: u32| match values.get(id) {
            None => Ok(default),
            Some(_) => text(id)
                .parse::<u32>()
                .map_err(|_| FolderError::NotANumber {
                    field: id,
                    text: text(id),
                }),
        };
        let pair = PairConfig {
            name: text("name"),
            left: config::expand_home(&text("left")),
            right: config::expand_home(&text("right")),
            mode: text("mode").parse()?,
            excludes: split_patterns(&text("excludes")),
            versions_days: number("versions_days", config::DEFAULT_VERSIONS_DAYS)?,
            versions_disk_percent: u8::try_from(number(
                "versions_disk_percent",
                config::DEFAULT_VERSIONS_DISK_PERCENT.into(),
            )?)
            .unwrap_or(u8::MAX),
        };
        match existing {
            None => config::add(&self.home, pair),
            Some(old) => {
                config::remove(&self.home, &old.name)?;
                config::add(&self.home, pair).inspect_err(|_| {
                    let _ = config::add(&self.home, old.clone());
                })
            }
        }
    }
}

/// Exclude patterns typed one per line or separated by commas.
fn split_patterns(text: &str) -> Vec<String> {
    text.split(['\n', ','])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// What the pair form shows, as text.
struct FormText {
    name: String,
    left: String,
    right: String,
    mode: Mode,
    excludes: String,
    versions_days: String,
    versions_disk_percent: String,
}

fn pair_form(pair: Option<&PairConfig>) -> Form {
    let text = |f: fn(&PairConfig) -> String| pair.map(f).unwrap_or_default();
    build_form(
        &FormText {
            name: text(|p| p.name.clone()),
            left: text(|p| p.left.display().to_string()),
            right: text(|p| p.right.display().to_string()),
            mode: pair.map_or(Mode::TwoWay, |p| p.mode),
            excludes: text(|p| p.excludes.join("\n")),
            versions_days: pair
                .map_or(config::DEFAULT_VERSIONS_DAYS, |p| p.versions_days)
                .to_string(),
            versions_disk_percent: pair
                .map_or(config::DEFAULT_VERSIONS_DISK_PERCENT, |p| {
                    p.versions_disk_percent
                })
                .to_string(),
        },
        pair.is_some(),
    )
}

fn pair_form_from(values: &Values, editing: bool) -> Form {
    let text = |id: &str| {
        values
            .get(id)
            .and_then(|v| v.as_text())
            .unwrap_or("")
            .to_string()
    };
    build_form(
        &FormText {
            name: text("name"),
            left: text("left"),
            right: text("right"),
            mode: text("mode").parse().unwrap_or(Mode::TwoWay),
            excludes: text("excludes"),
            versions_days: text("versions_days"),
            versions_disk_percent: text("versions_disk_percent"),
        },
        editing,
    )
}

fn build_form(shown: &FormText, editing: bool) -> Form {
    let modes = Mode::ALL.map(Mode::word);
    let selected = Mode::ALL.iter().position(|m| *m == shown.mode).unwrap_or(0);
    let form = Form::new(if editing { "Folder pair" } else { "Add folder pair" })
        .message("Sync Center keeps the two folders the same. Replaced and deleted files are kept in .synccenter/versions inside each folder.")
        .field(Field::text("name", "Name", &shown.name).required())
        .field(Field::folder("left", "Left folder", &shown.left).required())
        .field(Field::folder("right", "Right folder", &shown.right).required())
        .field(
            Field::choice("mode", "Mode", &modes, selected)
                .help("two-way: changes go both ways; mirror: the right becomes a copy of the left; contribute: left to right, never deleting on the right"),
        )
        .field(
            Field::text("excludes", "Leave out", &shown.excludes)
                .help("Patterns as in .gitignore, one per line or separated by commas"),
        )
        .field(
            Field::text("versions_days", "Keep versions (days)", &shown.versions_days)
                .required()
                .help("Replaced and deleted files older than this are removed at the end of a sync"),
        )
        .field(
            Field::text(
                "versions_disk_percent",
                "Versions may use (% of the disk)",
                &shown.versions_disk_percent,
            )
            .required()
            .help("The oldest versions are removed first when they take more than this"),
        );
    let mut buttons = Button::ok_cancel();
    if editing {
        buttons.insert(
            0,
            Button::new("remove", "Remove this pair…", ButtonRole::Other),
        );
    }
    form.buttons(buttons)
}

/// Asks before a pair is removed, and says what happens to the files: nothing.
fn remove_form(pair: &PairConfig) -> Form {
    Form::new(format!("Remove the folder pair {}?", pair.name))
        .message(format!(
            "Sync Center stops keeping these folders the same. The files stay where they are, \
             in both folders:\n{}\n{}",
            pair.left.display(),
            pair.right.display()
        ))
        .buttons(vec![
            Button::new("remove", "Remove", ButtonRole::Accept),
            Button::new("cancel", "Cancel", ButtonRole::Reject),
        ])
}

/// Offers to make folders of the form that do not exist yet.
fn create_form(missing: &[PathBuf]) -> Form {
    let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
    let (title, what) = if missing.len() == 1 {
        ("Create the folder?", "This folder does not exist yet")
    } else {
        ("Create the folders?", "These folders do not exist yet")
    };
    Form::new(title)
        .message(format!("{what}:\n{}", list.join("\n")))
        .buttons(vec![
            Button::new("create", "Create", ButtonRole::Accept),
            Button::new("back", "Back", ButtonRole::Reject),
        ])
}

/// Makes the form's folders that do not exist, if `ask` says yes to them. Returns whether
/// the form may go on (false: the user would rather change the paths).
fn create_missing(
    values: &Values,
    ask: impl FnOnce(&[PathBuf]) -> FormReply,
) -> Result<bool, FolderError> {
    let folders: Vec<PathBuf> = ["left", "right"]
        .iter()
        .filter_map(|id| values.get(*id)?.as_text())
        .map(|text| config::expand_home(text.trim()))
        .collect();
    // A path that is no full path is refused by the checks that follow, before anything
    // is made.
    let missing: Vec<PathBuf> = folders
        .iter()
        .filter(|path| !path.exists() && !path.is_symlink())
        .cloned()
        .collect();
    if missing.is_empty() || !folders.iter().all(|path| path.is_absolute()) {
        return Ok(true);
    }
    if ask(&missing).pressed("create").is_none() {
        return Ok(false);
    }
    for path in &missing {
        std::fs::create_dir_all(path).map_err(|e| FolderError::io(path.clone(), e))?;
    }
    Ok(true)
}

/// Shows a validation error under the field it is about.
fn with_error(mut form: Form, error: FolderError) -> Form {
    let field = match &error {
        FolderError::EmptyName | FolderError::SlashInName(_) | FolderError::DuplicateName(_) => {
            "name"
        }
        FolderError::NotAbsolute { side, .. } => side,
        FolderError::SameFolder(_) | FolderError::Nested { .. } => "right",
        FolderError::UnknownMode(_) => "mode",
        FolderError::BadExclude { .. } => "excludes",
        FolderError::NotANumber { field, .. } => field,
        FolderError::BadShare(_) => "versions_disk_percent",
        _ => {
            form.message = Some(error.to_string());
            return form;
        }
    };
    if let Some(f) = form.fields.iter_mut().find(|f| f.id == field) {
        f.error = Some(error.to_string());
    }
    form
}

fn fail(callback: &Callback, item: &ItemId, text: &str) {
    callback.log(LogLine::error(text).item(item));
    callback.progress(item, Progress::status(ItemStatus::Failed).with_text(text));
}

fn report_outcome(
    callback: &Callback,
    item: &ItemId,
    outcome: Outcome,
    reply: Reply,
    ui_refused: bool,
) {
    if let Some(notice) = &outcome.notice {
        callback.log(LogLine::warning(notice.clone()).item(item));
    }
    for line in outcome.unsynced.iter().take(MAX_FAILURE_LINES) {
        callback.log(LogLine::warning(line.clone()).item(item));
    }
    if outcome.unsynced.len() > MAX_FAILURE_LINES {
        callback.log(
            LogLine::warning(format!(
                "{} more entries were not synced.",
                grouped((outcome.unsynced.len() - MAX_FAILURE_LINES) as u64)
            ))
            .item(item),
        );
    }
    if let Some(MassDelete {
        count,
        total,
        location,
    }) = outcome.refused
    {
        if ui_refused {
            let text = format!(
                "This sync would delete {} of {} files in {location}; Sync Center stopped to be safe. Run it in the window or without --no-prompt to confirm.",
                grouped(count as u64),
                grouped(total as u64)
            );
            return fail(callback, item, &text);
        }
        // The user's own choice: not a failure.
        let text = format!(
            "You chose not to delete {} files in {location}; nothing was changed.",
            grouped(count as u64)
        );
        callback.log(LogLine::info(text.clone()).item(item));
        callback.progress(
            item,
            Progress::status(ItemStatus::Canceled).with_text(&text),
        );
        return;
    }
    for failure in outcome.failures.iter().take(MAX_FAILURE_LINES) {
        callback.log(LogLine::error(failure.clone()).item(item));
    }
    if outcome.failures.len() > MAX_FAILURE_LINES {
        callback.log(
            LogLine::error(format!(
                "{} more changes could not be made.",
                grouped((outcome.failures.len() - MAX_FAILURE_LINES) as u64)
            ))
            .item(item),
        );
    }
    let conflicts = outcome.conflicts.as_ref().map_or(0, Vec::len);
    if let Some(reports) = outcome.conflicts {
        for report in &reports {
            callback.activity(
                item,
                Activity::new(report.path.clone(), Direction::Both, Change::Conflict),
            );
        }
        callback.replace_conflicts(item, reports);
    }
    if outcome.stopped {
        let status = reply.final_status().unwrap_or(ItemStatus::Canceled);
        callback.progress(
            item,
            Progress::status(status).with_text(&format!(
                "Stopped after {}; the rest is done at the next sync",
                plural(outcome.changes as u64, "change", "changes")
            )),
        );
        return;
    }
    if !outcome.failures.is_empty() {
        return fail(
            callback,
            item,
            &format!(
                "{} could not be made (see the log); the rest was synchronized.",
                plural(outcome.failures.len() as u64, "change", "changes")
            ),
        );
    }
    let changed = outcome.changed_during_sync.len();
    if changed > 0 {
        for path in outcome.changed_during_sync.iter().take(MAX_FAILURE_LINES) {
            callback.log(
                LogLine::warning(format!(
                    "{path} changed during the sync and was left for the next run."
                ))
                .item(item),
            );
        }
        let text = format!(
            "{} changed during the sync and {} left for the next run.",
            plural(changed as u64, "file", "files"),
            if changed == 1 { "was" } else { "were" }
        );
        callback.progress(item, Progress::status(ItemStatus::Failed).with_text(&text));
        return;
    }
    let text = match (conflicts, outcome.changes) {
        (0, 0) => "Up to date".to_string(),
        (0, changes) => format!(
            "Synchronized {}",
            plural(changes as u64, "change", "changes")
        ),
        (n, _) => format!(
            "Synchronized; {} {}",
            plural(n as u64, "conflict", "conflicts"),
            if n == 1 { "needs you" } else { "need you" }
        ),
    };
    callback.progress(
        item,
        Progress::status(ItemStatus::Succeeded).with_text(&text),
    );
}

/// Turns a run's reports into Sync Framework progress and dialogs for one item.
struct Reporter<'a> {
    callback: &'a Callback,
    item: &'a ItemId,
    /// The last answer that asked to stop, if any.
    reply: Reply,
    /// The mass-delete question could not be asked (no dialogs in this run).
    ui_refused: bool,
    /// The stage, files and bytes so far, sent with every report.
    figures: Figures,
    /// Changes go both ways in this run: each entry's direction is shown.
    both_ways: bool,
}

impl Reporter<'_> {
    fn heard(&mut self, reply: Reply) -> bool {
        if reply.should_stop() {
            self.reply = reply;
        }
        !self.reply.should_stop()
    }

    fn send_figures(&mut self) -> bool {
        let reply = self
            .callback
            .progress(self.item, Progress::figures(&self.figures));
        self.heard(reply)
    }
}

impl Observer for Reporter<'_> {
    fn scanning(&mut self, checked: u64) -> bool {
        let reply = self.callback.report_work(
            self.item,
            WorkReport::Staged {
                stage: Stage::ChangeDetection,
                completed: checked,
                total: 0,
            },
        );
        self.heard(reply);
        self.figures.files_done = checked;
        self.send_figures()
    }

    fn planned(&mut self, changes: u64, bytes: u64, both_ways: bool) {
        self.both_ways = both_ways;
        self.figures = Figures {
            files_total: Some(changes),
            bytes_total: Some(bytes),
            ..Figures::at(Stage::ChangeApplication)
        };
        self.send_figures();
    }

    fn batch_started(&mut self, batch_work: u64, remaining_work: u64) -> bool {
        let reply = self.callback.report_work(
            self.item,
            WorkReport::BatchStarted {
                estimate: Some(BatchEstimate {
                    batch_work,
                    remaining_session_work: remaining_work,
                }),
            },
        );
        self.heard(reply)
    }

    fn applied(&mut self, work: u64, done: Option<Activity>) -> bool {
        let reply = self
            .callback
            .report_work(self.item, WorkReport::ChangeApplied { work: Some(work) });
        self.heard(reply);
        let figures = &mut self.figures;
        figures.files_done += 1;
        figures.bytes_done += work.saturating_sub(sync::PER_FILE_WORK);
        if let Some(done) = done {
            figures.current = Some(done.path.clone());
            figures.change = Some(done.change);
            figures.direction = self.both_ways.then_some(done.direction);
            self.callback.activity(self.item, done);
        }
        self.send_figures()
    }

    fn conflict_found(&mut self) -> bool {
        let reply = self.callback.report_work(
            self.item,
            WorkReport::ConflictApplied {
                work: Some(sync::PER_FILE_WORK),
            },
        );
        self.heard(reply);
        self.figures.files_done += 1;
        self.send_figures()
    }

    fn batch_applied(&mut self) {
        self.callback
            .report_work(self.item, WorkReport::BatchApplied);
    }

    fn confirm_deletions(&mut self, deletions: &MassDelete) -> bool {
        let Ok(permit) = self.callback.request_ui(Some(self.item)) else {
            self.ui_refused = true;
            return false;
        };
        let count = grouped(deletions.count as u64);
        let form = Form::new("Delete many files?")
            .message(format!(
                "This sync would delete {count} of the {} files in {}. If that is not what you meant (a drive that is not mounted, a folder emptied by mistake), choose Don't delete: nothing will be changed.",
                grouped(deletions.total as u64),
                deletions.location
            ))
            .buttons(vec![
                Button::new("delete", &format!("Delete {count} files"), ButtonRole::Accept),
                Button::new("keep", "Don't delete", ButtonRole::Reject),
            ]);
        permit.show(form).pressed("delete").is_some()
    }

    fn confirm_root_change(&mut self, change: &RootChange) -> bool {
        let Ok(permit) = self.callback.request_ui(Some(self.item)) else {
            return false;
        };
        let form = Form::new("Is this the right folder?")
            .message(format!(
                "The {} folder {} is not the folder synced last time: a drive that is not mounted (an empty mount point), another drive, or a link that now points elsewhere. If it is the right folder, Sync Center compares both sides as they are, as at a first sync: nothing is deleted, and files that differ become conflicts.",
                change.side, change.location
            ))
            .buttons(vec![
                Button::new("sync", "It is the right folder", ButtonRole::Accept),
                Button::new("stop", "Don't sync", ButtonRole::Reject),
            ]);
        permit.show(form).pressed("sync").is_some()
    }
}

/// A preview's observer: it looks through both folders to the end and never confirms what
/// only a sync asks (a preview changes nothing, so nothing else is asked of it).
struct Previewing;

impl Observer for Previewing {
    fn scanning(&mut self, _checked: u64) -> bool {
        true
    }
    fn planned(&mut self, _changes: u64, _bytes: u64, _both_ways: bool) {}
    fn batch_started(&mut self, _batch_work: u64, _remaining_work: u64) -> bool {
        false
    }
    fn applied(&mut self, _work: u64, _done: Option<Activity>) -> bool {
        false
    }
    fn conflict_found(&mut self) -> bool {
        false
    }
    fn batch_applied(&mut self) {}
    fn confirm_deletions(&mut self, _deletions: &MassDelete) -> bool {
        false
    }
    fn confirm_root_change(&mut self, _change: &RootChange) -> bool {
        false
    }
}
