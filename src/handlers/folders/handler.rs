//! The folder pairs handler: items are the pairs in `folders.toml`; a sync runs [`sync::run`]
//! for each and reports in Sync Center's terms.

use super::config::{self, PairConfig};
use super::live_figures::LiveFigures;
use super::local::LocalReplica;
use super::lock::PairLock;
use super::remotes::{NotReady, Remotes};
use super::replica::Replica;
use super::sync::{self, DeletionAnswer, MassDelete, Observer, Outcome, Pair, RootChange};
use super::{FolderError, HANDLER_ID, archive, pair_form};
use crate::core::activity::{Activity, Change, Direction};
use crate::core::callback::{Callback, LogLine, Progress, Reply, UiPermit};
use crate::core::dialog::{Button, ButtonRole, Form};
use crate::core::figures::Figures;
use crate::core::handler::{FnProvider, Handler, HandlerError, HandlerProvider, HandlerResult};
use crate::core::model::{
    Enumeration, HandlerInfo, Icon, ItemId, ItemInfo, Participation, PropertiesOutcome,
    PropertiesTarget, RunContext,
};
use crate::core::preview::{ItemAnswer, ItemPlan};
use crate::core::progress::{BatchEstimate, Stage, WorkReport};
use crate::core::status::ItemStatus;
use crate::core::store::Home;
use crate::core::words::{grouped, plural};
use std::collections::HashMap;
use std::sync::Arc;

/// Figures of an item that starts looking for changes.
fn detecting() -> Arc<LiveFigures> {
    Arc::new(LiveFigures::new(Figures::at(Stage::ChangeDetection)))
}

/// Failures logged one by one before the rest are only counted.
const MAX_FAILURE_LINES: usize = 50;

/// The folder pairs handler for the center whose files live in `home`.
pub fn provider(home: &Home) -> Arc<dyn HandlerProvider> {
    let home = home.clone();
    FnProvider::new(HANDLER_ID, "Folder pairs", move || {
        Box::new(FolderPairs {
            home: home.clone(),
            prepared: HashMap::new(),
            remotes: Remotes::new(&home),
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
    /// The session's rclone and remote logons (rcd is killed when the session drops this).
    remotes: Remotes,
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
            .map(|pair| {
                // Remote items show their server: "Documents (ann@cloud.example.org)".
                let server = pair.right_location().ok().and_then(|l| l.server());
                let name = match &server {
                    Some(server) => format!("{} ({server})", pair.name),
                    None => pair.name.clone(),
                };
                ItemInfo {
                    icon: if server.is_some() {
                        Icon::Cloud
                    } else {
                        Icon::Folder
                    },
                    has_properties: true,
                    detail: Some(config::describe(&pair)),
                    folders: pair.local_folders(),
                    last_synced: archive::last_synced(&archive::archive_file(
                        &self.home.data_dir,
                        &pair.name,
                    )),
                    ..ItemInfo::new(pair.name.clone(), name)
                }
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
        Ok(match existing {
            None if self.add_pair(&permit, callback) => PropertiesOutcome::ItemsChanged,
            None => PropertiesOutcome::Unchanged,
            Some(pair) => self.edit_pair(&permit, callback, &pair),
        })
    }

    fn prepare(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        let pairs = config::load(&self.home).map_err(handler_error)?;
        for item in items {
            let ready = pairs
                .iter()
                .find(|p| p.name == item.as_str())
                .ok_or_else(|| FolderError::UnknownPair(item.to_string()))
                .and_then(|pair| self.ready(&pair.name))
                .map_err(NotReady::from)
                .and_then(|prepared| {
                    if prepared.pair.right_location()?.is_remote() {
                        self.remotes.prepare(&prepared.pair, item, callback)?;
                    }
                    Ok(prepared)
                });
            match ready {
                Ok(prepared) => {
                    self.prepared.insert(item.clone(), prepared);
                }
                Err(not_ready) => not_ready_now(callback, item, &not_ready),
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
                let planned = match pairs.iter().find(|p| p.name == item.as_str()) {
                    Some(config) => self.plan(config, item, callback),
                    None => Err(FolderError::UnknownPair(item.to_string()).to_string()),
                };
                (item.clone(), planned)
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
    fn add_pair(&mut self, permit: &UiPermit<'_>, callback: &Callback) -> bool {
        pair_form::add_pair(&self.home, &mut self.remotes, permit, callback)
    }

    fn edit_pair(
        &mut self,
        permit: &UiPermit<'_>,
        callback: &Callback,
        pair: &PairConfig,
    ) -> PropertiesOutcome {
        pair_form::edit_pair(&self.home, &mut self.remotes, permit, callback, pair)
    }

    /// Takes the pair's lock and checks that both folders are there. The pair is read again
    /// under the lock: one removed since the run read the list (while an earlier item's logon
    /// form was open, say) is not run, and an edited one runs as it is now.
    fn ready(&self, name: &str) -> Result<Prepared, FolderError> {
        let lock = PairLock::acquire(&self.home.data_dir, name)?;
        let pair = &config::find(&self.home, name)?;
        let right_local = !pair.right_location()?.is_remote();
        let locals = [
            ("left", &pair.left, true),
            ("right", &pair.right, right_local),
        ];
        for (side, root, _) in locals.into_iter().filter(|l| l.2) {
            if !root.is_dir() {
                return Err(FolderError::MissingRoot {
                    side,
                    path: root.clone(),
                });
            }
        }
        Ok(Prepared {
            pair: pair.clone(),
            _lock: lock,
        })
    }

    /// The right side of a pair: its local folder, or its remote (got ready by
    /// `Remotes::prepare`); for a preview, one that writes nothing.
    fn right_replica(
        &mut self,
        config: &PairConfig,
        item: &ItemId,
        callback: &Callback,
        live: Arc<LiveFigures>,
        previewing: bool,
    ) -> Result<Box<dyn Replica>, NotReady> {
        Ok(match config.right_location() {
            Ok(location) if location.is_remote() => Box::new(
                self.remotes
                    .replica(config, item, callback, live, previewing)?,
            ),
            _ => Box::new(LocalReplica::new(&config.right)),
        })
    }

    /// What a sync of the pair would do now, changing nothing. A remote side is got ready as
    /// for a sync: its password from the keyring, else the logon form when the preview may
    /// ask (the window, a terminal), else the plan fails saying it needs the logon.
    fn plan(
        &mut self,
        config: &PairConfig,
        item: &ItemId,
        callback: &Callback,
    ) -> Result<ItemPlan, String> {
        if matches!(config.right_location(), Ok(l) if l.is_remote()) {
            self.remotes
                .prepare(config, item, callback)
                .map_err(|e| e.why)?;
        }
        let left = LocalReplica::new(&config.left);
        let right = self
            .right_replica(config, item, callback, detecting(), true)
            .map_err(|e| e.why)?;
        let pair = Pair {
            config,
            left: &left,
            right: &*right,
            archive_file: archive::archive_file(&self.home.data_dir, &config.name),
        };
        sync::preview(&pair, &callback.chosen_resolutions(item), &mut Previewing)
            .map_err(|e| e.to_string())
    }

    fn sync_item(&mut self, item: &ItemId, config: &PairConfig, callback: &Callback) -> Reply {
        let left = LocalReplica::new(&config.left);
        let live = detecting();
        let right = match self.right_replica(config, item, callback, live.clone(), false) {
            Ok(right) => right,
            Err(not_ready) => {
                not_ready_now(callback, item, &not_ready);
                return Reply::Continue;
            }
        };
        let pair = Pair {
            config,
            left: &left,
            right: &*right,
            archive_file: archive::archive_file(&self.home.data_dir, &config.name),
        };
        let mut reporter = Reporter {
            callback,
            item,
            reply: Reply::Continue,
            ui_refused: false,
            declined_root: false,
            live,
            both_ways: false,
        };
        let resolutions = callback.chosen_resolutions(item);
        let result = sync::run(&pair, &resolutions, &mut reporter);
        let reply = reporter.reply;
        match result {
            // The user's own choice: not a failure.
            Err(FolderError::RootChanged { side, path }) if reporter.declined_root => {
                let text = format!(
                    "You chose not to sync: the {side} folder {} is not the folder synced last time. Nothing was changed.",
                    path.display()
                );
                cancel(callback, item, &text);
            }
            Err(e) => fail(callback, item, &e.to_string()),
            Ok(outcome) => report_outcome(callback, item, outcome, reply, reporter.ui_refused),
        }
        reply
    }
}

fn fail(callback: &Callback, item: &ItemId, text: &str) {
    callback.log(LogLine::error(text).item(item));
    callback.progress(item, Progress::status(ItemStatus::Failed).with_text(text));
}

/// Ends the item as the user chose (a logon or a question answered "no"): not a failure.
fn cancel(callback: &Callback, item: &ItemId, text: &str) {
    callback.log(LogLine::info(text).item(item));
    callback.progress(item, Progress::status(ItemStatus::Canceled).with_text(text));
}

/// A remote pair that cannot run: failed, or canceled when the user canceled its logon.
fn not_ready_now(callback: &Callback, item: &ItemId, not_ready: &NotReady) {
    if not_ready.canceled {
        cancel(callback, item, &not_ready.why);
    } else {
        fail(callback, item, &not_ready.why);
    }
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
        restorable,
        location,
        ..
    }) = outcome.refused
    {
        if ui_refused {
            let or_restore = if restorable > 0 {
                " or restore them"
            } else {
                ""
            };
            let text = format!(
                "This sync would delete {} of {} files in {location}; Sync Center stopped to be safe, as it could not ask you. Sync it from the window, or with `synccenter sync {item}` in a terminal, to delete them{or_restore}.",
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
        cancel(callback, item, &text);
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
    /// The user answered "Don't sync" to "Is this the right folder?".
    declined_root: bool,
    /// The stage, files and bytes so far (those of transfers under way too, which the
    /// remote replica adds), sent with every report.
    live: Arc<LiveFigures>,
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
        let (callback, item) = (self.callback, self.item);
        let reply = self.live.report(
            |_| {},
            |figures| callback.progress(item, Progress::figures(figures)),
        );
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
        self.live.update(|figures| figures.files_done = checked);
        self.send_figures()
    }

    fn planned(&mut self, changes: u64, bytes: u64, both_ways: bool) {
        self.both_ways = both_ways;
        self.live.reset(Figures {
            files_total: Some(changes),
            bytes_total: Some(bytes),
            ..Figures::at(Stage::ChangeApplication)
        });
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
        let both_ways = self.both_ways;
        self.live
            .applied(work.saturating_sub(sync::PER_FILE_WORK), |figures| {
                figures.files_done += 1;
                if let Some(done) = &done {
                    figures.current = Some(done.path.clone());
                    figures.change = Some(done.change);
                    figures.direction = both_ways.then_some(done.direction);
                }
            });
        if let Some(done) = done {
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
        self.live.update(|figures| figures.files_done += 1);
        self.send_figures()
    }

    fn batch_applied(&mut self) {
        self.callback
            .report_work(self.item, WorkReport::BatchApplied);
    }

    fn stopping(&mut self) -> bool {
        let reply = self.callback.check(self.item);
        !self.heard(reply)
    }

    fn confirm_deletions(&mut self, deletions: &MassDelete) -> DeletionAnswer {
        let Ok(permit) = self.callback.request_ui(Some(self.item)) else {
            self.ui_refused = true;
            return DeletionAnswer::Keep;
        };
        let count = grouped(deletions.count as u64);
        let restorable = grouped(deletions.restorable as u64);
        let other = &deletions.other_location;
        // (Without a record of the last sync there, in mirror mode: put in the destination
        // by someone else, or synced before the record was lost.)
        let unrecorded = grouped((deletions.count - deletions.restorable) as u64);
        let why = "If that is not what you meant (a drive that is not mounted, a folder emptied by mistake), choose";
        let keep = "Don't delete to change nothing now (the next sync asks again)";
        let choices = if deletions.restorable == deletions.count {
            format!("{why} Restore to copy them to {other} instead, or {keep}.")
        } else if deletions.restorable > 0 {
            format!(
                "Sync Center has no record of {unrecorded} of them in {other}. {why} Restore to copy the other {restorable} back to {other} (those {unrecorded} stay until the next sync, which deletes them as a mirror does), or {keep}.",
            )
        } else {
            format!(
                "Sync Center has no record of any of them in {other}. If that is not what you meant, choose {keep}."
            )
        };
        let said = format!(
            "This sync would delete {count} of the {} files in {}, as they are not in {other}. {choices}",
            grouped(deletions.total as u64),
            deletions.location,
        );
        let mut buttons = vec![Button::new(
            "delete",
            &format!("Delete {count} files"),
            ButtonRole::Accept,
        )];
        if deletions.restorable > 0 {
            buttons.push(Button::new(
                "restore",
                &format!("Restore {restorable} files"),
                ButtonRole::Other,
            ));
        }
        buttons.push(Button::new("keep", "Don't delete", ButtonRole::Reject));
        let form = Form::new("Delete many files?")
            .message(said)
            .buttons(buttons);
        let reply = permit.show(form);
        if reply.pressed("delete").is_some() {
            DeletionAnswer::Delete
        } else if reply.pressed("restore").is_some() {
            DeletionAnswer::Restore
        } else {
            DeletionAnswer::Keep
        }
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
        let confirmed = permit.show(form).pressed("sync").is_some();
        self.declined_root = !confirmed;
        confirmed
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
    fn confirm_deletions(&mut self, _deletions: &MassDelete) -> DeletionAnswer {
        DeletionAnswer::Keep
    }
    fn confirm_root_change(&mut self, _change: &RootChange) -> bool {
        false
    }
}
