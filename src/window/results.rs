//! The Results tab: every run, newest first, with how each item ended, what it changed
//! (counts, bytes, time taken, and the files, searchable) and what its handler logged. Kept
//! across restarts (the store's history), updated live while a run goes on.

use crate::core::activity::{Activity, Change, RunActivity};
use crate::core::model::{HandlerId, ItemId, ItemKey, LogEntry, LogId, LogLevel, SessionId};
use crate::core::status::{ItemStatus, Problems, Tone, verdict};
use crate::core::store::{ItemResult, SessionRecord, Store};
use crate::window::command::{Command, Commands};
use crate::window::format;
use crate::window::icons;
use crate::window::state::Model;
use crossbeam_channel::{Receiver, Sender};
use egui::{RichText, Ui};
use std::collections::{HashMap, HashSet};
use std::time::SystemTime;

/// One run as the Results tab shows it.
struct SessionEntry {
    id: SessionId,
    reason: String,
    started: SystemTime,
    /// Set once the run ended, with how each item ended.
    finished: Option<(SystemTime, Vec<ItemResult>)>,
    /// The items while the run goes on.
    items: Vec<ItemKey>,
    log: Vec<LogEntry>,
}

impl SessionEntry {
    fn from_record(record: SessionRecord) -> Self {
        Self {
            id: record.id,
            reason: record.reason,
            started: record.started,
            items: record.items.iter().map(|i| i.key.clone()).collect(),
            finished: Some((record.finished, record.items)),
            log: record.log,
        }
    }
}

/// Which lines the Results tab shows.
struct Filter {
    /// The least severe level shown.
    min_level: LogLevel,
    /// Words to look for, in lowercase; empty shows everything.
    words: String,
}

impl Filter {
    fn searching(&self) -> bool {
        !self.words.trim().is_empty()
    }

    fn matches(&self, text: &str) -> bool {
        text.to_lowercase().contains(self.words.trim())
    }

    fn shows(&self, line: &LogEntry) -> bool {
        line.level >= self.min_level && (!self.searching() || self.matches(&line.text))
    }
}

/// The lists of changed files of runs, read from the store on a worker thread when first
/// opened (a list may hold ten thousand entries per item).
struct FileLists {
    store: Store,
    loaded: HashMap<SessionId, Result<RunActivity, String>>,
    asked: HashSet<SessionId>,
    tx: Sender<(SessionId, Result<RunActivity, String>)>,
    rx: Receiver<(SessionId, Result<RunActivity, String>)>,
    /// What the user searches for in each item's list.
    searches: HashMap<(SessionId, ItemKey), String>,
    /// How many entries of each item's list mention the words of the Results search
    /// (`hits_for`), for the runs in `searched`: worked out once per list as lists arrive,
    /// and again for all only when the words change.
    hits: HashMap<(SessionId, ItemKey), usize>,
    hits_for: String,
    searched: HashSet<SessionId>,
}

impl FileLists {
    fn new(store: Store) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        Self {
            store,
            loaded: HashMap::new(),
            asked: HashSet::new(),
            tx,
            rx,
            searches: HashMap::new(),
            hits: HashMap::new(),
            hits_for: String::new(),
            searched: HashSet::new(),
        }
    }

    fn take_loaded(&mut self) {
        while let Ok((session, list)) = self.rx.try_recv() {
            self.loaded.insert(session, list);
        }
    }

    /// Starts reading a run's lists, once.
    fn ask(&mut self, session: SessionId, ctx: &egui::Context) {
        self.ask_all([session], ctx);
    }

    /// Starts reading the lists of these runs not asked for yet, one after the other on
    /// one worker thread.
    fn ask_all(&mut self, sessions: impl IntoIterator<Item = SessionId>, ctx: &egui::Context) {
        let new: Vec<SessionId> = sessions
            .into_iter()
            .filter(|session| self.asked.insert(*session))
            .collect();
        if new.is_empty() {
            return;
        }
        let (store, tx, ctx) = (self.store.clone(), self.tx.clone(), ctx.clone());
        let _ = std::thread::Builder::new()
            .name("results-files".into())
            .spawn(move || {
                for session in new {
                    if tx.send((session, store.activity(session))).is_err() {
                        return;
                    }
                    ctx.request_repaint();
                }
            });
    }

    /// Whether lists asked for are still being read.
    fn reading(&self) -> bool {
        self.asked.len() > self.loaded.len()
    }

    /// Which items' lists mention `words` (lowercase): the lists not looked through for
    /// these words yet (all of them when the words changed).
    fn search(&mut self, words: &str) {
        let words = words.trim();
        if self.hits_for != words {
            self.hits_for = words.to_string();
            self.hits.clear();
            self.searched.clear();
        }
        if words.is_empty() {
            return;
        }
        for (session, listed) in &self.loaded {
            if !self.searched.insert(*session) {
                continue;
            }
            for item in listed.iter().flatten() {
                let count = item.entries.iter().filter(|e| e.mentions(words)).count();
                if count > 0 {
                    self.hits.insert((*session, item.key.clone()), count);
                }
            }
        }
    }

    /// How many entries of an item's list in a run mention the words searched for.
    fn hits(&self, session: SessionId, key: &ItemKey) -> usize {
        self.hits.get(&(session, key.clone())).copied().unwrap_or(0)
    }

    fn session_hits(&self, session: SessionId) -> bool {
        self.hits.keys().any(|(s, _)| *s == session)
    }
}

/// Rows of a changed-files list shown before it scrolls.
const FILE_ROWS_SHOWN: f32 = 12.0;

pub struct Results {
    /// Oldest first, as the store keeps them.
    sessions: Vec<SessionEntry>,
    filter: Filter,
    search: String,
    unseen_errors: usize,
    files: FileLists,
}

impl Results {
    pub fn new(history: Vec<SessionRecord>, store: Store) -> Self {
        Self {
            sessions: history
                .into_iter()
                .filter(|record| !is_empty(record))
                .map(SessionEntry::from_record)
                .collect(),
            filter: Filter {
                min_level: LogLevel::Info,
                words: String::new(),
            },
            search: String::new(),
            unseen_errors: 0,
            files: FileLists::new(store),
        }
    }

    fn entry(&mut self, id: SessionId) -> &mut SessionEntry {
        let index = match self.sessions.iter().position(|s| s.id == id) {
            Some(index) => index,
            None => {
                self.sessions.push(SessionEntry {
                    id,
                    reason: "manual".into(),
                    started: SystemTime::now(),
                    finished: None,
                    items: Vec::new(),
                    log: Vec::new(),
                });
                self.sessions.len() - 1
            }
        };
        &mut self.sessions[index]
    }

    pub fn items_added(&mut self, id: SessionId, items: &[ItemKey]) {
        let entry = self.entry(id);
        let known: HashSet<&ItemKey> = entry.items.iter().collect();
        let new: Vec<ItemKey> = items
            .iter()
            .filter(|key| !known.contains(key))
            .cloned()
            .collect();
        entry.items.extend(new);
    }

    pub fn log(&mut self, line: LogEntry) {
        if line.level == LogLevel::Error {
            self.unseen_errors += 1;
        }
        self.entry(line.session).log.push(line);
    }

    /// Errors logged since the user last looked at the Results tab.
    pub fn unseen_errors(&self) -> usize {
        self.unseen_errors
    }

    pub fn log_deleted(&mut self, ids: &[LogId]) {
        for session in &mut self.sessions {
            session.log.retain(|line| !ids.contains(&line.id));
        }
    }

    pub fn finished(&mut self, record: SessionRecord) {
        if is_empty(&record) {
            self.sessions.retain(|s| s.id != record.id);
            return;
        }
        let entry = self.entry(record.id);
        *entry = SessionEntry::from_record(record);
    }

    pub fn ui(&mut self, ui: &mut Ui, model: &Model, out: &mut Commands) {
        self.unseen_errors = 0;
        self.files.take_loaded();
        let filter = &mut self.filter;
        // Wraps in a small window, so the search stays in sight.
        ui.horizontal_wrapped(|ui| {
            ui.label("Show:");
            ui.selectable_value(&mut filter.min_level, LogLevel::Info, "Everything");
            ui.selectable_value(
                &mut filter.min_level,
                LogLevel::Warning,
                "Warnings and errors",
            );
            ui.selectable_value(&mut filter.min_level, LogLevel::Error, "Errors only");
            ui.add_space(12.0);
            ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .hint_text("Search results")
                    .desired_width(220.0),
            )
            .accessible_name("Search results");
        });
        filter.words = self.search.to_lowercase();
        // The search looks into every run's list of changed files too, read on a worker.
        if filter.searching() {
            let finished = self.sessions.iter().filter(|s| s.finished.is_some());
            self.files.ask_all(finished.map(|s| s.id), ui.ctx());
        }
        self.files.search(&filter.words);
        if filter.searching() && self.files.reading() {
            ui.label(RichText::new("Searching the lists of changed files…").weak());
        }
        ui.separator();
        if self.sessions.is_empty() {
            ui.label(
                RichText::new("No results yet. They appear here after each synchronization.")
                    .weak(),
            );
            return;
        }
        let now = SystemTime::now();
        let filter = &self.filter;
        let files = &mut self.files;
        egui::ScrollArea::vertical()
            .auto_shrink(false)
            .show(ui, |ui| {
                let mut found = false;
                for (age, session) in self.sessions.iter().rev().enumerate() {
                    let matches =
                        session_matches(session, filter) || files.session_hits(session.id);
                    if filter.searching() && !matches || !shows_at_level(session, filter) {
                        continue;
                    }
                    found = true;
                    let heading = heading(session, now);
                    egui::CollapsingHeader::new(heading)
                        .id_salt(("session", session.id.0))
                        .default_open(age < 3)
                        .open(filter.searching().then_some(true))
                        .show(ui, |ui| {
                            session_body(ui, session, filter, files, model, out)
                        });
                }
                if !found {
                    ui.label(RichText::new("Nothing in the results matches.").weak());
                }
            });
    }
}

/// Whether anything in a run matches the words searched for.
fn session_matches(session: &SessionEntry, filter: &Filter) -> bool {
    session.log.iter().any(|line| filter.shows(line))
        || session.finished.as_ref().is_some_and(|(_, items)| {
            items
                .iter()
                .any(|item| filter.matches(&item.name) || filter.matches(&item.text))
        })
}

/// Whether a run has anything for the level chosen ("Warnings and errors" hides quiet
/// successes, runs too): a line at that level, or an item that did not simply succeed. A
/// run still going always shows.
fn shows_at_level(session: &SessionEntry, filter: &Filter) -> bool {
    let Some((_, items)) = &session.finished else {
        return true;
    };
    filter.min_level == LogLevel::Info
        || session
            .log
            .iter()
            .any(|line| line.level >= filter.min_level)
        || items
            .iter()
            .any(|item| verdict(item.status, item.problems).tone != Tone::Good)
}

/// A run that did nothing worth showing: details opened for a message, nothing retried.
fn is_empty(record: &SessionRecord) -> bool {
    record.items.is_empty() && record.log.is_empty()
}

/// Why a run happened, in the heading's words, from its record's word
/// ([`reason_word`](crate::core::engine::reason_word)).
fn reason_label(word: &str) -> &str {
    match word {
        // Sync now, a terminal's `sync`, the tray's "Sync all", a conflict's resolution.
        "manual" => "Started by you",
        "scheduled" => "Scheduled",
        "idle" => "While idle",
        "invoked" => "Started by a program",
        "logon" => "At log on",
        "change" => "Files changed",
        "network" => "Network came back",
        "settings" => "Settings",
        other => other,
    }
}

fn heading(session: &SessionEntry, now: SystemTime) -> RichText {
    let when = format::when(session.started, now);
    let reason = reason_label(&session.reason);
    let summary = match &session.finished {
        None => "running…".to_string(),
        Some((_, items)) => {
            let counts: Vec<String> = [
                (ItemStatus::Succeeded, "succeeded"),
                (ItemStatus::Failed, "failed"),
                (ItemStatus::Skipped, "skipped"),
                (ItemStatus::Canceled, "stopped"),
            ]
            .iter()
            .filter_map(|(status, word)| {
                let n = items.iter().filter(|i| i.status == *status).count();
                (n > 0).then(|| format!("{n} {word}"))
            })
            .collect();
            if counts.is_empty() {
                "nothing ran".to_string()
            } else {
                counts.join(", ")
            }
        }
    };
    RichText::new(format!("{when} · {reason} · {summary}")).strong()
}

/// Quiet items (no lines) of one status listed before the rest are only counted.
const QUIET_ITEMS_LISTED: usize = 20;

fn session_body(
    ui: &mut Ui,
    session: &SessionEntry,
    filter: &Filter,
    files: &mut FileLists,
    model: &Model,
    out: &mut Commands,
) {
    let visuals = ui.visuals().clone();
    // Lines by item, in one pass: a run may have thousands of items.
    let in_session: HashSet<(&HandlerId, &ItemId)> = session
        .items
        .iter()
        .map(|key| (&key.handler, &key.item))
        .collect();
    let mut lines_of: HashMap<(&HandlerId, &ItemId), Vec<&LogEntry>> = HashMap::new();
    let mut general = Vec::new();
    for line in session.log.iter().filter(|line| filter.shows(line)) {
        match &line.item {
            Some(item) if in_session.contains(&(&line.handler, item)) => {
                lines_of
                    .entry((&line.handler, item))
                    .or_default()
                    .push(line);
            }
            _ => general.push(line),
        }
    }
    // Succeeded and not yet started items without lines: listed up to a point, then counted.
    let mut quiet = [(ItemStatus::Succeeded, 0), (ItemStatus::Pending, 0)];
    for (index, key) in session.items.iter().enumerate() {
        // A finished run's items and results come from the same record, in the same order.
        let result = session.finished.as_ref().map(|(_, items)| &items[index]);
        let (status, text) = match result {
            Some(result) => (Some(result.status), result.text.as_str()),
            None => {
                let live = model.live(key).map(|l| &l.snapshot);
                (live.map(|s| s.status), live.map_or("", |s| s.text.as_str()))
            }
        };
        let lines = lines_of
            .remove(&(&key.handler, &key.item))
            .unwrap_or_default();
        let problems = result.map_or_else(Problems::default, |r| r.problems);
        // "Warnings and errors" hides quiet successes.
        if filter.min_level > LogLevel::Info
            && lines.is_empty()
            && status.is_some_and(|s| verdict(s, problems).tone == Tone::Good)
        {
            continue;
        }
        if let Some((_, count)) = quiet
            .iter_mut()
            .find(|(quiet, _)| lines.is_empty() && status == Some(*quiet))
        {
            *count += 1;
            if *count > QUIET_ITEMS_LISTED && !filter.searching() {
                continue;
            }
        }
        let name = match result {
            Some(result) => format!("{} ({})", result.name, result.handler_name),
            None => model.item_name(key),
        };
        let file_hits = match filter.searching() {
            true => files.hits(session.id, key),
            false => 0,
        };
        if filter.searching()
            && lines.is_empty()
            && file_hits == 0
            && !filter.matches(&name)
            && !filter.matches(text)
        {
            continue;
        }
        // Wrapped: a failure's words (what happened, what to do) can be long.
        ui.horizontal_wrapped(|ui| {
            if let Some(status) = status {
                let verdict = verdict(status, problems);
                let color = icons::tone_color(verdict.tone, status, &visuals);
                ui.label(icons::status_glyph(status, &visuals));
                ui.label(RichText::new(&name).strong());
                let mut line = verdict.words;
                if !text.is_empty() {
                    line = format!("{line}: {text}");
                }
                ui.label(RichText::new(line).color(color));
            } else {
                ui.label(RichText::new(&name).strong());
            }
        });
        if let Some(result) = result {
            let searched = (file_hits > 0).then_some((filter.words.trim(), file_hits));
            changes(ui, session.id, result, &name, files, searched);
        }
        log_lines(ui, lines, out);
    }
    for (status, count) in quiet {
        if count > QUIET_ITEMS_LISTED && !filter.searching() {
            let more = count - QUIET_ITEMS_LISTED;
            let what = match status {
                ItemStatus::Pending => "have not started yet",
                _ => "succeeded",
            };
            ui.label(RichText::new(format!("…and {more} more items {what}.")).weak());
        }
    }
    if !general.is_empty() {
        ui.label(RichText::new("Other messages").strong());
        log_lines(ui, general, out);
    }
}

/// What an item changed in a run: counts by action, bytes and time taken, the files in
/// conflict, and the list of changed files to open and search. `searched`: the words of
/// the Results search and how many of the list's entries mention them, which opens it.
fn changes(
    ui: &mut Ui,
    session: SessionId,
    result: &ItemResult,
    name: &str,
    files: &mut FileLists,
    searched: Option<(&str, usize)>,
) {
    let counts = &result.activity;
    if counts.is_empty() {
        return;
    }
    let mut summary = counts.summary();
    if let Some(took) = result
        .started
        .zip(result.ended)
        .and_then(|(started, ended)| ended.duration_since(started).ok())
    {
        summary = format!("{summary} · {}", format::took(took.as_secs()));
    }
    ui.horizontal_wrapped(|ui| {
        ui.add_space(24.0);
        ui.label(RichText::new(summary).weak());
    });
    if counts.count(Change::Conflict) > 0 {
        ui.horizontal_wrapped(|ui| {
            ui.add_space(24.0);
            ui.label(
                RichText::new(format!("In conflict: {}", counts.conflict_names()))
                    .color(ui.visuals().warn_fg_color),
            );
        });
    }
    let key = result.key.clone();
    ui.indent(("files", session.0, &key), |ui| {
        let title = match searched {
            Some((_, hits)) => format!(
                "Changed files of {name} · {} matching",
                crate::core::words::grouped(hits as u64)
            ),
            None => format!("Changed files of {name}"),
        };
        egui::CollapsingHeader::new(title)
            .id_salt(("files", session.0, &key))
            .open(searched.map(|_| true))
            .show(ui, |ui| {
                files.ask(session, ui.ctx());
                file_list(ui, session, result, files, searched.map(|(words, _)| words));
            });
    });
}

/// An item's list of changed files, with a search of its own; while that is empty, the
/// words of the Results search (`searched`) pick the files shown.
fn file_list(
    ui: &mut Ui,
    session: SessionId,
    result: &ItemResult,
    files: &mut FileLists,
    searched: Option<&str>,
) {
    let search = files
        .searches
        .entry((session, result.key.clone()))
        .or_default();
    ui.add(
        egui::TextEdit::singleline(search)
            .hint_text(searched.unwrap_or("Search files"))
            .desired_width(220.0),
    )
    .accessible_name(format!("Search the changed files of {}", result.name));
    let own = search.trim().to_lowercase();
    let words = match own.is_empty() {
        true => searched.unwrap_or("").to_string(),
        false => own,
    };
    let listed = match files.loaded.get(&session) {
        None => {
            ui.label(RichText::new("Reading the list…").weak());
            return;
        }
        Some(Err(error)) => {
            ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
            return;
        }
        Some(Ok(listed)) => listed,
    };
    let entries = listed
        .iter()
        .find(|item| item.key == result.key)
        .map_or(&[][..], |item| &item.entries[..]);
    let shown: Vec<&Activity> = entries
        .iter()
        .filter(|entry| words.is_empty() || entry.mentions(&words))
        .collect();
    if shown.is_empty() {
        ui.label(RichText::new("No file matches.").weak());
    }
    let row_height = ui.text_style_height(&egui::TextStyle::Body);
    egui::ScrollArea::vertical()
        .id_salt(("file list", session.0, &result.key))
        .max_height(row_height * FILE_ROWS_SHOWN)
        .auto_shrink([false, true])
        .show_rows(ui, row_height, shown.len(), |ui, rows| {
            for entry in &shown[rows] {
                ui.label(entry_words(entry));
            }
        });
    let unlisted = result.activity.unlisted;
    if unlisted > 0 {
        ui.label(
            RichText::new(format!(
                "…and {} more, counted but not listed.",
                crate::core::words::grouped(unlisted)
            ))
            .weak(),
        );
    }
}

/// "➡ copied Reports/report.pdf · 1.2 MB", "⬅ renamed Old.txt to New.txt".
fn entry_words(entry: &Activity) -> String {
    let mut words = format!("{} {} ", entry.direction.arrow(), entry.change.done_word());
    if let Some(from) = &entry.from {
        words.push_str(&format!("{from} to "));
    }
    words.push_str(&entry.path);
    if let Some(size) = entry.size.filter(|_| entry.change != Change::Deleted) {
        words.push_str(&format!(" · {}", format::size(size)));
    }
    words
}

fn log_lines(ui: &mut Ui, lines: Vec<&LogEntry>, out: &mut Commands) {
    let visuals = ui.visuals().clone();
    for line in lines {
        ui.horizontal_wrapped(|ui| {
            ui.add_space(24.0);
            ui.label(icons::level_glyph(line.level, &visuals))
                .on_hover_text(line.level.to_string());
            ui.label(&line.text);
            ui.label(
                RichText::new(format::when(line.time, SystemTime::now()))
                    .weak()
                    .small(),
            )
            .on_hover_text(format::exact(line.time));
            if line.actionable && ui.link("Details…").clicked() {
                out.push(Command::ShowError(line.id));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::engine::reason_word;
    use crate::core::model::RunReason;

    #[test]
    fn every_reason_a_run_records_has_words_of_its_own() {
        // One of each: a new reason fails to build here until it is listed.
        let one_of_each = |reason: &RunReason| match reason {
            RunReason::Manual => 0,
            RunReason::Scheduled => 1,
            RunReason::Idle => 2,
            RunReason::Invoke { .. } => 3,
            RunReason::Logon => 4,
            RunReason::Changed => 5,
            RunReason::Network => 6,
            RunReason::Settings => 7,
        };
        let reasons = [
            RunReason::Manual,
            RunReason::Scheduled,
            RunReason::Idle,
            RunReason::Invoke { cookie: Vec::new() },
            RunReason::Logon,
            RunReason::Changed,
            RunReason::Network,
            RunReason::Settings,
        ];
        assert!(reasons.iter().map(one_of_each).eq(0..8));
        for reason in reasons {
            let word = reason_word(&reason);
            assert_ne!(reason_label(word), word, "{reason:?}");
        }
        assert_eq!(reason_label("manual"), "Started by you");
    }
}
