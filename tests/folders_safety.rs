//! Safety rails at the points where timing matters: entries that change while a sync looks
//! at them, and runs stopped half-way. Driven through `sync::run` with a replica that edits
//! the real files at exactly the moment under test.

mod folders_common;

use folders_common::{read, tree, versions, write};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use synccenter::core::activity::{Activity, Change, Direction};
use synccenter::core::conflicts::{ConflictReport, Resolution};
use synccenter::handlers::folders::archive::archive_file;
use synccenter::handlers::folders::config::{Mode, PairConfig};
use synccenter::handlers::folders::filter::Filter;
use synccenter::handlers::folders::local::LocalReplica;
use synccenter::handlers::folders::names::RelPath;
use synccenter::handlers::folders::replica::{
    Entry, FolderRemoval, Hash, Keeps, Mtime, Pruned, Replica, Retention, RootId, Scan, SourceFile,
    StagedFile,
};
use synccenter::handlers::folders::sync::{
    self, DeletionAnswer, MassDelete, Observer, Outcome, Pair, RootChange,
};

/// The local replica, plus an edit made by "the user" the first time the sync touches a
/// given path in a given way.
struct Meddling {
    inner: LocalReplica,
    root: PathBuf,
    on_open: Option<(&'static str, &'static str)>,
    on_stage: Option<(&'static str, &'static str)>,
    /// Right before the folder (first) is removed, a file (second) is saved.
    on_remove_folder: Option<(&'static str, &'static str)>,
    /// Once the sync has begun (the root opened), the root cannot be looked at: a server
    /// that went away.
    lost: bool,
    done: AtomicBool,
}

impl Meddling {
    fn meddle(&self, rule: Option<(&'static str, &'static str)>, path: &RelPath) {
        if let Some((at, text)) = rule
            && at.as_bytes() == path
            && !self.done.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            std::fs::write(self.root.join(at), text).unwrap();
        }
    }
}

impl Replica for Meddling {
    fn location(&self) -> String {
        self.inner.location()
    }
    fn open_root(&self) -> io::Result<RootId> {
        self.inner.open_root()
    }
    fn current_root(&self) -> io::Result<RootId> {
        if self.lost {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "cannot reach the server",
            ));
        }
        self.inner.current_root()
    }
    fn keeps(&self) -> io::Result<Keeps> {
        self.inner.keeps()
    }
    fn scan(&self, filter: &Filter, folders: &AtomicU64, stop: &AtomicBool) -> io::Result<Scan> {
        self.inner.scan(filter, folders, stop)
    }
    fn stat(&self, path: &RelPath) -> io::Result<Option<Entry>> {
        self.inner.stat(path)
    }
    fn hash(&self, path: &RelPath) -> io::Result<Hash> {
        self.inner.hash(path)
    }
    fn open(&self, path: &RelPath) -> io::Result<Box<dyn SourceFile + '_>> {
        let opened = self.inner.open(path);
        self.meddle(self.on_open, path);
        opened
    }
    fn stage(&self, path: &RelPath) -> io::Result<Box<dyn StagedFile + '_>> {
        self.meddle(self.on_stage, path);
        self.inner.stage(path)
    }
    fn make_dir(&self, path: &RelPath) -> io::Result<()> {
        self.inner.make_dir(path)
    }
    fn make_symlink(&self, path: &RelPath, target: &[u8], mtime: Mtime) -> io::Result<()> {
        self.inner.make_symlink(path, target, mtime)
    }
    fn keep_version(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        self.inner.keep_version(path, stamp)
    }
    fn retire(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        self.inner.retire(path, stamp)
    }
    fn remove_folder(
        &self,
        path: &RelPath,
        filter: &Filter,
        stamp: &str,
    ) -> io::Result<FolderRemoval> {
        if let Some((folder, file)) = self.on_remove_folder
            && folder.as_bytes() == path
            && !self.done.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            std::fs::write(self.root.join(file), "saved during the sync").unwrap();
        }
        self.inner.remove_folder(path, filter, stamp)
    }
    fn rename(&self, from: &RelPath, to: &RelPath) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn flush(&self) -> io::Result<()> {
        self.inner.flush()
    }
    fn prune_versions(&self, retention: &Retention, now_secs: i64) -> io::Result<Pruned> {
        self.inner.prune_versions(retention, now_secs)
    }
}

fn meddling(root: &Path) -> Meddling {
    Meddling {
        inner: LocalReplica::new(root),
        root: root.to_path_buf(),
        on_open: None,
        on_stage: None,
        on_remove_folder: None,
        lost: false,
        done: AtomicBool::new(false),
    }
}

/// Counts what it is told; stops after `stop_after` changes.
#[derive(Default)]
struct Counting {
    stop_after: Option<u64>,
    applied: u64,
    work_done: u64,
    first_estimate: Option<u64>,
    batches: u64,
    planned: Option<(u64, u64, bool)>,
    activity: Vec<Activity>,
}

impl Observer for Counting {
    fn scanning(&mut self, _: u64) -> bool {
        true
    }
    fn batch_started(&mut self, _: u64, remaining: u64) -> bool {
        self.first_estimate.get_or_insert(remaining);
        self.batches += 1;
        true
    }
    fn planned(&mut self, changes: u64, bytes: u64, both_ways: bool) {
        self.planned = Some((changes, bytes, both_ways));
    }
    fn applied(&mut self, work: u64, done: Option<Activity>) -> bool {
        self.activity.extend(done);
        self.applied += 1;
        self.work_done += work;
        self.stop_after != Some(self.applied)
    }
    fn conflict_found(&mut self) -> bool {
        self.work_done += sync::PER_FILE_WORK;
        true
    }
    fn batch_applied(&mut self) {}
    fn confirm_deletions(&mut self, _: &MassDelete) -> DeletionAnswer {
        DeletionAnswer::Delete
    }
    fn confirm_root_change(&mut self, _: &RootChange) -> bool {
        false
    }
}

struct Fixture {
    dir: tempfile::TempDir,
    config: PairConfig,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let config = PairConfig::new(
            "p",
            dir.path().join("left"),
            dir.path().join("right"),
            Mode::TwoWay,
        );
        std::fs::create_dir_all(&config.left).unwrap();
        std::fs::create_dir_all(&config.right).unwrap();
        Fixture { dir, config }
    }

    fn run(
        &self,
        left: &dyn Replica,
        right: &dyn Replica,
        observer: &mut dyn Observer,
        resolutions: &[(ConflictReport, Resolution)],
    ) -> Outcome {
        let pair = Pair {
            config: &self.config,
            left,
            right,
            archive_file: archive_file(self.dir.path(), "p"),
        };
        sync::run(&pair, resolutions, observer).unwrap()
    }

    fn plain(&self) -> Outcome {
        let (l, r) = (
            LocalReplica::new(&self.config.left),
            LocalReplica::new(&self.config.right),
        );
        self.run(&l, &r, &mut Counting::default(), &[])
    }

    fn l(&self, rel: &str) -> PathBuf {
        self.config.left.join(rel)
    }
    fn r(&self, rel: &str) -> PathBuf {
        self.config.right.join(rel)
    }
}

#[test]
fn a_target_edited_during_the_sync_is_left_alone_and_reported() {
    let f = Fixture::new();
    write(&f.l("a.txt"), "v1");
    write(&f.l("b.txt"), "b1");
    f.plain();
    write(&f.l("a.txt"), "v2 from the left");
    write(&f.l("b.txt"), "b2 from the left");
    let left = LocalReplica::new(&f.config.left);
    let mut right = meddling(&f.config.right);
    right.on_stage = Some(("a.txt", "edited on the right during the sync"));
    let outcome = f.run(&left, &right, &mut Counting::default(), &[]);
    assert_eq!(outcome.changed_during_sync, vec!["a.txt".to_string()]);
    assert_eq!(read(&f.r("a.txt")), "edited on the right during the sync");
    assert_eq!(read(&f.r("b.txt")), "b2 from the left", "the rest synced");
    // The archive did not record a.txt: the next run sees two changes, a conflict.
    let next = f.plain();
    assert_eq!(next.conflicts.unwrap().len(), 1);
}

#[test]
fn a_side_lost_during_the_sync_is_told_as_lost_not_as_another_folder() {
    let f = Fixture::new();
    write(&f.l("a.txt"), "new");
    let left = LocalReplica::new(&f.config.left);
    let mut right = meddling(&f.config.right);
    right.lost = true;
    let pair = Pair {
        config: &f.config,
        left: &left,
        right: &right,
        archive_file: archive_file(f.dir.path(), "p"),
    };
    let error = sync::run(&pair, &[], &mut Counting::default())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("could not be reached during the sync: cannot reach the server"),
        "{error}"
    );
    // The next run, with the side back, finishes the job.
    f.plain();
    assert_eq!(read(&f.r("a.txt")), "new");
}

#[test]
fn a_source_edited_while_it_is_copied_is_not_recorded() {
    let f = Fixture::new();
    write(&f.l("a.txt"), "first");
    let mut left = meddling(&f.config.left);
    left.on_open = Some(("a.txt", "second, written while the sync read the file"));
    let right = LocalReplica::new(&f.config.right);
    let outcome = f.run(&left, &right, &mut Counting::default(), &[]);
    assert_eq!(outcome.changed_during_sync.len(), 1);
    assert!(!f.r("a.txt").exists(), "a torn copy must not land");
    f.plain();
    assert_eq!(
        read(&f.r("a.txt")),
        "second, written while the sync read the file"
    );
}

#[test]
fn a_file_saved_into_a_folder_being_removed_keeps_the_folder() {
    let f = Fixture::new();
    for i in 0..5 {
        write(&f.l(&format!("proj/sub/f{i}")), "work");
    }
    f.plain();
    std::fs::remove_dir_all(f.l("proj")).unwrap();
    let left = LocalReplica::new(&f.config.left);
    let mut right = meddling(&f.config.right);
    right.on_remove_folder = Some(("proj", "proj/NEW_WORK.txt"));
    let outcome = f.run(&left, &right, &mut Counting::default(), &[]);
    assert_eq!(outcome.changed_during_sync, vec!["proj".to_string()]);
    assert_eq!(read(&f.r("proj/NEW_WORK.txt")), "saved during the sync");
    assert!(!f.r("proj/sub").exists(), "the synced contents went");
    // The next run sees the new file: the folder comes back on the left with it.
    let next = f.plain();
    assert!(next.changed_during_sync.is_empty());
    assert_eq!(read(&f.l("proj/NEW_WORK.txt")), "saved during the sync");
    assert_eq!(tree(&f.config.left), tree(&f.config.right));
}

#[test]
fn a_stopped_run_keeps_what_it_applied_and_the_next_one_finishes() {
    let f = Fixture::new();
    for i in 0..50 {
        write(&f.l(&format!("f{i:02}")), &format!("contents {i}"));
    }
    let (l, r) = (
        LocalReplica::new(&f.config.left),
        LocalReplica::new(&f.config.right),
    );
    let mut stopper = Counting {
        stop_after: Some(10),
        ..Counting::default()
    };
    let outcome = f.run(&l, &r, &mut stopper, &[]);
    assert!(outcome.stopped);
    assert_eq!(outcome.changes, 10);
    assert_eq!(tree(&f.config.right).len(), 10);
    let mut rest = Counting::default();
    let outcome = f.run(&l, &r, &mut rest, &[]);
    assert_eq!(
        outcome.changes, 40,
        "the ten already copied are not copied again"
    );
    assert_eq!(tree(&f.config.left), tree(&f.config.right));
    assert!(versions(&f.config.right).is_empty());
}

#[test]
fn work_estimates_add_up_to_the_work_reported() {
    let f = Fixture::new();
    for i in 0..30 {
        write(&f.l(&format!("d/f{i:02}")), &"x".repeat(i * 1000));
    }
    write(&f.l("c.txt"), "base");
    let mut first = Counting::default();
    let (l, r) = (
        LocalReplica::new(&f.config.left),
        LocalReplica::new(&f.config.right),
    );
    f.run(&l, &r, &mut first, &[]);
    let bytes: u64 = (0..30).map(|i| i * 1000).sum::<u64>() + 4;
    assert_eq!(first.first_estimate, Some(bytes + 32 * sync::PER_FILE_WORK));
    assert_eq!(first.work_done, first.first_estimate.unwrap());
    // What was planned and what each change did: 30 files, their folder and c.txt.
    assert_eq!(first.planned, Some((32, bytes, false)));
    assert_eq!(first.activity.len(), 32);
    assert!(
        first
            .activity
            .iter()
            .all(|a| (a.change, a.direction) == (Change::Copied, Direction::ToRight)),
        "{:?}",
        first.activity
    );
    assert_eq!(
        first.activity.iter().filter_map(|a| a.size).sum::<u64>(),
        bytes
    );
    write(&f.l("c.txt"), "left!");
    write(&f.r("c.txt"), "right!!");
    let mut second = Counting::default();
    let outcome = f.run(&l, &r, &mut second, &[]);
    assert_eq!(outcome.conflicts.unwrap().len(), 1);
    assert_eq!(second.first_estimate, Some(sync::PER_FILE_WORK));
    assert_eq!(second.work_done, sync::PER_FILE_WORK);
}

#[test]
fn each_change_says_what_it_did_and_which_way() {
    let f = Fixture::new();
    write(&f.l("a.txt"), "one");
    write(&f.l("b.txt"), "two");
    write(&f.l("c.txt"), "three");
    let (l, r) = (
        LocalReplica::new(&f.config.left),
        LocalReplica::new(&f.config.right),
    );
    f.run(&l, &r, &mut Counting::default(), &[]);
    write(&f.l("a.txt"), "one, edited");
    std::fs::remove_file(f.r("b.txt")).unwrap();
    write(&f.r("new.txt"), "from the right");
    let mut second = Counting::default();
    f.run(&l, &r, &mut second, &[]);
    let mut did: Vec<_> = second
        .activity
        .iter()
        .map(|a| (a.path.as_str(), a.change, a.direction, a.size))
        .collect();
    did.sort();
    assert_eq!(
        did,
        [
            ("a.txt", Change::Replaced, Direction::ToRight, Some(11)),
            ("b.txt", Change::Deleted, Direction::ToLeft, None),
            ("new.txt", Change::Copied, Direction::ToLeft, Some(14)),
        ]
    );
    // Changes went both ways; the bytes planned are those copied.
    assert_eq!(second.planned, Some((3, 25, true)));
    // Nothing to do is told too (the item weighs nothing in the overall bar).
    let mut third = Counting::default();
    f.run(&l, &r, &mut third, &[]);
    assert_eq!(third.planned, Some((0, 0, false)));
    assert!(third.activity.is_empty());
}
