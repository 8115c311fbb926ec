//! "Sync when files change": inotify watches (through `notify`) on both folders of every
//! folder pair. A change marks its pair; the pair syncs once nothing has changed in it for
//! the quiet period. The watcher is only a hint, so every pair is also synced after each
//! full rescan period. Between changes nothing polls the trees: the thread sleeps on its
//! channel until an event or the next rescan.
//!
//! Running out of inotify watches is said once, with the fix, and that pair falls back to
//! the periodic rescan.
//!
//! A sync writes into the folders it watches. A change seen while its pair synchronizes (or
//! within [`ECHO`] after its run ended: the last writes' events may still be on their way)
//! is taken for that run's own writing and starts no other run; a change the user made
//! meanwhile waits for the next change or the rescan.

use crate::core::choice::Target;
use crate::core::model::{ItemKey, RunReason};
use crate::handlers::folders::config::{self as folder_config, PairConfig};
use crate::resident::scheduler::Pause;
use crate::resident::{CenterRef, RunRequest};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use notify::{RecursiveMode, Watcher};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

/// The folder pairs handler, whose items the watcher watches.
const FOLDERS: &str = "folders";
/// How long after a pair's run ended its own writes' events may still arrive.
pub const ECHO: Duration = Duration::from_millis(250);

/// When a pair's latest run started and, once it has, ended.
pub type RunWindow = (Instant, Option<Instant>);

/// Debouncing, pure: which pairs are due after their quiet period.
#[derive(Debug, Default)]
pub struct Quiet {
    last_change: BTreeMap<String, Instant>,
}

impl Quiet {
    pub fn changed(&mut self, pair: &str, at: Instant) {
        self.last_change.insert(pair.to_string(), at);
    }

    /// The pairs quiet for `period` at `now` (taken out), and how long until the next one
    /// is (`None`: nothing pending).
    pub fn due(&mut self, now: Instant, period: Duration) -> (Vec<String>, Option<Duration>) {
        let due: Vec<String> = self
            .last_change
            .iter()
            .filter(|(_, at)| now.duration_since(**at) >= period)
            .map(|(pair, _)| pair.clone())
            .collect();
        for pair in &due {
            self.last_change.remove(pair);
        }
        let next = self
            .last_change
            .values()
            .map(|at| (*at + period).saturating_duration_since(now))
            .min();
        (due, next)
    }
}

/// Whether a change seen at `seen` was the pair's own run writing: it came while the run
/// went on, or within [`ECHO`] after it ended. Pure.
pub fn is_own_write(seen: Instant, run: Option<RunWindow>) -> bool {
    match run {
        Some((started, None)) => seen >= started,
        Some((started, Some(ended))) => seen >= started && seen <= ended + ECHO,
        None => false,
    }
}

/// Which pair a changed path belongs to; changes inside Sync Center's own `.synccenter`
/// folder (kept versions) are not the user's.
pub fn pair_of<'a>(path: &Path, roots: &'a [(PathBuf, String)]) -> Option<&'a str> {
    if path
        .components()
        .any(|c| c == Component::Normal(".synccenter".as_ref()))
    {
        return None;
    }
    roots
        .iter()
        .filter(|(root, _)| path.starts_with(root))
        .max_by_key(|(root, _)| root.as_os_str().len())
        .map(|(_, pair)| pair.as_str())
}

/// The message when inotify runs out of watches: what happened, the consequence, the fix.
pub fn watches_exhausted(pair: &str, rescan: Duration) -> String {
    let limit = std::fs::read_to_string("/proc/sys/fs/inotify/max_user_watches")
        .map(|s| format!(" (fs.inotify.max_user_watches = {})", s.trim()))
        .unwrap_or_default();
    format!(
        "Sync Center cannot watch every folder of the pair \"{pair}\": the system's limit of inotify watches{limit} is used up. It syncs the pair every {} instead of on each change. To raise the limit: echo fs.inotify.max_user_watches=524288 | sudo tee /etc/sysctl.d/90-synccenter.conf && sudo sysctl --system",
        crate::resident::schedule::period_words(rescan.as_secs().max(1))
    )
}

enum Message {
    /// What inotify said, and when it was read.
    Fs(notify::Result<notify::Event>, Instant),
    Reload,
    Stop,
}

/// The watcher thread's handle.
#[derive(Clone)]
pub struct ChangeWatch {
    tx: Sender<Message>,
}

impl ChangeWatch {
    pub fn spawn(center: CenterRef) -> ChangeWatch {
        let (tx, rx) = crossbeam_channel::unbounded();
        let watch = ChangeWatch { tx: tx.clone() };
        std::thread::Builder::new()
            .name("file-changes".into())
            .spawn(move || run(center, tx, rx))
            .expect("spawn the file watcher");
        watch
    }

    /// The settings or the folder pairs changed: watch again.
    pub fn reload(&self) {
        let _ = self.tx.send(Message::Reload);
    }

    pub fn stop(&self) {
        let _ = self.tx.send(Message::Stop);
    }
}

/// What is being watched now.
struct Watching {
    _watcher: Option<notify::RecommendedWatcher>,
    roots: Vec<(PathBuf, String)>,
    pairs: Vec<String>,
    quiet: Duration,
    rescan: Duration,
}

fn start_watching(
    center: &CenterRef,
    tx: &Sender<Message>,
    told: &mut BTreeSet<String>,
) -> Watching {
    let settings = center.settings();
    let quiet = Duration::from_secs(settings.change_quiet_seconds);
    let rescan = Duration::from_secs(settings.rescan_seconds.max(1));
    let pairs: Vec<PairConfig> = if settings.sync_on_change {
        folder_config::load(&center.home).unwrap_or_default()
    } else {
        Vec::new()
    };
    let events = tx.clone();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = events.send(Message::Fs(event, Instant::now()));
    })
    .map_err(|e| tracing::warn!("no file watching: {e}"))
    .ok();
    let mut roots = Vec::new();
    if let Some(watcher) = watcher.as_mut() {
        // The pairs' list itself: a pair added or removed changes what is watched.
        let _ = watcher.watch(&center.home.config_dir, RecursiveMode::NonRecursive);
        for pair in &pairs {
            // A remote side cannot be watched: its changes are seen at the rescan, the
            // local side's as soon as they settle.
            let local_roots = match pair.right_location() {
                Ok(right) if right.is_remote() => vec![&pair.left],
                _ => vec![&pair.left, &pair.right],
            };
            let mut ok = true;
            for &root in &local_roots {
                if let Err(e) = watcher.watch(root, RecursiveMode::Recursive) {
                    ok = false;
                    if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
                        if told.insert(pair.name.clone()) {
                            center.engine.notice(watches_exhausted(&pair.name, rescan));
                        }
                    } else {
                        tracing::warn!("cannot watch {}: {e}", root.display());
                    }
                }
            }
            if ok {
                for &root in &local_roots {
                    roots.push((root.clone(), pair.name.clone()));
                }
            } else {
                // Half-watched is worse than not watched: the rescan covers the pair.
                for &root in &local_roots {
                    let _ = watcher.unwatch(root);
                }
            }
        }
    }
    Watching {
        _watcher: watcher,
        roots,
        pairs: pairs.into_iter().map(|p| p.name).collect(),
        quiet,
        rescan,
    }
}

fn run(center: CenterRef, tx: Sender<Message>, rx: Receiver<Message>) {
    let mut told = BTreeSet::new();
    let mut watching = start_watching(&center, &tx, &mut told);
    let mut quiet = Quiet::default();
    let mut next_rescan = Instant::now() + watching.rescan;
    // Every pair syncs once when watching starts: changes made while nobody watched.
    let mut waiting: BTreeSet<String> = watching.pairs.iter().cloned().collect();
    loop {
        let now = Instant::now();
        if now >= next_rescan {
            waiting.extend(watching.pairs.iter().cloned());
            next_rescan = now + watching.rescan;
        }
        let (due, next_quiet) = quiet.due(now, watching.quiet);
        waiting.extend(due);
        if !waiting.is_empty() {
            waiting = start(&center, std::mem::take(&mut waiting));
        }
        // Pairs still running are tried again shortly (while paused, every 30 s);
        // otherwise sleep until something happens.
        let mut sleep = next_rescan.saturating_duration_since(Instant::now());
        if let Some(next) = next_quiet {
            sleep = sleep.min(next);
        }
        if !waiting.is_empty() {
            let paused = center.scheduler.pause_state() != Pause::Off;
            sleep = sleep.min(Duration::from_secs(if paused { 30 } else { 1 }));
        }
        if watching.pairs.is_empty() {
            sleep = Duration::from_secs(24 * 3600);
        }
        let message = match rx.recv_timeout(sleep) {
            Ok(message) => message,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        match message {
            Message::Stop => return,
            Message::Reload => {
                // Only pairs watched anew sync now; the others are as they were.
                let before = std::mem::take(&mut watching.pairs);
                watching = start_watching(&center, &tx, &mut told);
                waiting.extend(
                    watching
                        .pairs
                        .iter()
                        .filter(|p| !before.contains(p))
                        .cloned(),
                );
            }
            // Reading is not changing: Sync Center's own scans open and read the files.
            Message::Fs(Ok(event), _) if event.kind.is_access() => {}
            Message::Fs(Ok(event), seen) => {
                if event.paths.iter().any(|p| {
                    p.parent() == Some(&center.home.config_dir) && p.ends_with("folders.toml")
                }) {
                    let _ = tx.send(Message::Reload);
                    continue;
                }
                let mut changed = |pair: &str| {
                    let key = ItemKey::new(FOLDERS, pair);
                    if !is_own_write(seen, center.run_window(&key)) {
                        quiet.changed(pair, seen);
                    }
                };
                if event.need_rescan() {
                    for pair in &watching.pairs {
                        changed(pair);
                    }
                }
                for path in &event.paths {
                    if let Some(pair) = pair_of(path, &watching.roots) {
                        changed(pair);
                    }
                }
            }
            Message::Fs(Err(e), _) => {
                if matches!(e.kind, notify::ErrorKind::MaxFilesWatch) {
                    let pair = e
                        .paths
                        .first()
                        .and_then(|p| pair_of(p, &watching.roots))
                        .unwrap_or("(several)")
                        .to_string();
                    if told.insert(pair.clone()) {
                        center
                            .engine
                            .notice(watches_exhausted(&pair, watching.rescan));
                    }
                } else {
                    tracing::warn!("file watching: {e}");
                }
            }
        }
    }
}

/// Starts a run of these pairs; returns the ones that could not start (running already).
fn start(center: &CenterRef, pairs: BTreeSet<String>) -> BTreeSet<String> {
    if center.scheduler.pause_state() != Pause::Off {
        return pairs;
    }
    let busy: BTreeSet<ItemKey> = center
        .engine
        .sessions()
        .iter()
        .flat_map(|s| s.items())
        .filter(|key| {
            center
                .engine
                .board()
                .snapshot(key)
                .is_some_and(|s| !s.status.is_terminal())
        })
        .collect();
    let (running, free): (BTreeSet<String>, BTreeSet<String>) = pairs
        .into_iter()
        .partition(|pair| busy.contains(&ItemKey::new(FOLDERS, pair.as_str())));
    if !free.is_empty() {
        let keys = free
            .iter()
            .map(|p| ItemKey::new(FOLDERS, p.as_str()))
            .collect();
        let request = RunRequest {
            target: Target::Keys(keys),
            reason: RunReason::Changed,
            prompt: false,
        };
        if let Err(e) = center.start(request) {
            tracing::warn!("a change-triggered run could not start: {e}");
        }
    }
    running
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_is_due_after_its_quiet_period_counted_from_its_last_change() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let period = ms(1000);
        let mut quiet = Quiet::default();
        assert_eq!(quiet.due(t0, period), (vec![], None));
        quiet.changed("docs", t0);
        quiet.changed("docs", t0 + ms(600)); // still changing
        quiet.changed("music", t0 + ms(200));
        assert_eq!(quiet.due(t0 + ms(900), period), (vec![], Some(ms(300))));
        assert_eq!(
            quiet.due(t0 + ms(1200), period),
            (vec!["music".to_string()], Some(ms(400)))
        );
        assert_eq!(
            quiet.due(t0 + ms(1600), period),
            (vec!["docs".to_string()], None)
        );
    }

    #[test]
    fn changes_seen_during_a_run_or_just_after_it_are_its_own_writes() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let (start, end) = (t0 + ms(1000), t0 + ms(5000));
        // (seen, the pair's last run, own write?)
        let cases = [
            (t0, None, false),
            (t0 + ms(2000), Some((start, None)), true),
            (t0, Some((start, None)), false),
            (t0 + ms(999), Some((start, Some(end))), false),
            (start, Some((start, Some(end))), true),
            (end, Some((start, Some(end))), true),
            (end + ECHO, Some((start, Some(end))), true),
            (end + ECHO + ms(1), Some((start, Some(end))), false),
            (end + ms(500), Some((start, Some(end))), false),
        ];
        for (seen, run, own) in cases {
            assert_eq!(is_own_write(seen, run), own, "{seen:?} {run:?}");
        }
    }

    #[test]
    fn changes_belong_to_the_innermost_root_and_not_to_kept_versions() {
        let roots = vec![
            (PathBuf::from("/data"), "outer".to_string()),
            (PathBuf::from("/data/photos"), "photos".to_string()),
            (PathBuf::from("/media/usb"), "usb".to_string()),
        ];
        let cases = [
            ("/data/a.txt", Some("outer")),
            ("/data/photos/2026/b.jpg", Some("photos")),
            ("/media/usb/x", Some("usb")),
            ("/media/usb/.synccenter/versions/x", None),
            ("/elsewhere/x", None),
            ("/database/x", None),
        ];
        for (path, pair) in cases {
            assert_eq!(pair_of(Path::new(path), &roots), pair, "{path}");
        }
    }
}
