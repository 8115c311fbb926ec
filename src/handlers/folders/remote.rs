//! A remote folder as a replica, through one `rclone rcd` (`rclone.rs`): Nextcloud, WebDAV,
//! SFTP, S3 and every storage rclone speaks.
//!
//! Safety is the local replica's, in rclone's terms:
//! - **Uploads never show a half-written file under the final name**: the bytes are staged in
//!   a local temp file (hashed as they are written), uploaded to a temp name next to the
//!   final one (`.synccenter-tmp-<pid>-<host+run>-<n>`), then moved into place on the server.
//!   The scan skips such names (and rclone's `.partial` leftovers of them) and removes the
//!   ones a dead run of this computer left.
//! - **Nothing is replaced or deleted unseen**: the target is stat'ed again right before it
//!   is moved into the versions or replaced, and again before the upload lands.
//! - **Versions** of replaced and deleted files are moved (server-side) to
//!   `<folder>/.synccenter/versions/<stamp>/<path>` on the remote itself.
//! - **The root's identity** is a marker `.synccenter/root-<random>` made at the first sync:
//!   a remote folder that was deleted and made again, or another server at the same address,
//!   is not the folder synced last time, and the run changes nothing.
//! - **A preview changes nothing** ([`RemoteReplica::for_preview`]): it only lists, stats and
//!   reads. A root that is not there yet (a first sync makes it) is an empty one, one without
//!   a marker is told apart from every marked root, and leftovers are left for the sync.
//!
//! Files are read by streaming them from rcd (`GET /[remote:]/path`), never staged.

use super::filter::{CENTER_DIR, Filter};
use super::local::{is_alive, stamp_time, temp_pid};
use super::names::{RelPath, is_inside, split};
use super::rclone::{Bytes, FailureKind, Rcd, RcloneError, random_hex};
use super::rclone_names::{from_rclone, to_rclone};
use super::replica::{
    Entry, FolderRemoval, Hash, Intake, Keeps, Kind, Mtime, Pruned, Replica, Retention, RootId,
    Scan, SourceFile, StagedFile, Unsynced,
};
use parking_lot::{Condvar, Mutex};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// Folders listed at once during a scan (rcd answers each in its own goroutine). rclone's
/// own walk lists 8 at once (`--checkers`); on loopback WebDAV 10,000 files in 101 folders
/// took 0.70 s with 4, 0.62 s with 8 and 0.70 s with 16 (median of 7 no-change runs).
const LISTINGS_IN_FLIGHT: usize = 8;
/// How often transfer progress is reported.
const REPORT_EVERY: Duration = Duration::from_millis(250);
/// Transfers at least this large run as jobs (progress, Skip and Stop while they run).
const WATCHED_TRANSFER: u64 = 4 * 1024 * 1024;
/// A target checked longer ago than this is checked again right before the upload lands.
const RECHECK_AFTER: Duration = Duration::from_secs(1);
/// Files copied to or from the remote at once (rclone's own default, `--transfers 4`).
const TRANSFERS_AT_ONCE: usize = 4;
/// Changes in a batch of new files taken in at once (see [`Replica::take_in`]): a batch's
/// work (its bytes) still ends it sooner.
const INTAKE_CHANGES: usize = 20_000;
/// How long the check whether a server is still there may wait to connect, or for an
/// answer (see [`RemoteReplica::answers`]); rclone rcd numbers in nanoseconds.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// Times a call is tried again when the server was busy (see [`again`]).
const RETRIES: u32 = 5;
/// The marker of a root's identity, in the center's folder.
const ROOT_MARKER: &str = "root-";
/// The folder of versions in the center's folder.
const VERSIONS_DIR: &str = "versions";
/// rc methods that change nothing on the remote (every other call drops the root's listing
/// `open_root` kept for the scan).
const READS: [&str; 5] = [
    "operations/list",
    "operations/stat",
    "operations/fsinfo",
    "operations/about",
    "operations/size",
];

/// How long what prepare saw of a root ([`FirstLook`]) stands in for `open_root`'s own look:
/// a sync that starts later (the user took a while in another item's logon form) looks again.
const FIRST_LOOK_LASTS: Duration = Duration::from_secs(2);

/// Told how the replica's transfers and reads go, by what they move ("report.pdf",
/// "1,234 new files"); `false` stops one (Skip, Stop).
pub trait Watcher: Send + Sync {
    /// A transfer's bytes so far (on this try).
    fn transferring(&self, what: &str, bytes: Bytes) -> bool;
    /// The transfer ended: landed, failed or stopped; at most `landing` of its bytes and
    /// `landing_files` of its files are those of files that will be placed.
    fn ended(&self, what: &str, landing: u64, landing_files: u64);
    /// A file read to be compared, not copied: its bytes are no part of the sync's.
    fn checking(&self, what: &str, bytes: Bytes) -> bool;
}

/// What a remote's storage is like (`operations/fsinfo`).
#[derive(Clone, Copy, Debug)]
struct Info {
    precision_ns: u64,
    case_insensitive: bool,
}

/// What prepare saw of a remote root, in two round trips instead of three: its listing (which
/// tells whether the server answers and the folder is there), then at once the listing of the
/// center's folder in it (the root's marker) and the storage's features. `open_root` uses it
/// when it is at most [`FIRST_LOOK_LASTS`] old and no sync started since it was taken.
pub struct FirstLook {
    taken: Instant,
    root: Listing,
    /// The other two, asked only when the root could be listed.
    center: Option<Listing>,
    info: Option<Result<Info, RcloneError>>,
}

impl FirstLook {
    /// Looks at `root` on `fs`: the root first (the call that logs on: a wrong password
    /// is tried once, not once per call, which a server's brute-force guard would count),
    /// then the other two at once.
    pub fn take(rcd: &Rcd, fs: &str, root: &str) -> FirstLook {
        let root = trimmed_root(root);
        let taken = Instant::now();
        let root_listing = list_folder(rcd, fs, root);
        let (center, info) = if root_listing.is_ok() {
            let center = join_to(root, std::str::from_utf8(CENTER_DIR).expect("ASCII"));
            std::thread::scope(|scope| {
                let info = scope.spawn(|| read_info(rcd, fs));
                (
                    Some(list_folder(rcd, fs, &center)),
                    Some(info.join().expect("fsinfo thread")),
                )
            })
        } else {
            (None, None)
        };
        FirstLook {
            taken,
            root: root_listing,
            center,
            info,
        }
    }

    /// How the root's listing went: whether the server answered and the folder is there.
    pub fn root_listed(&self) -> Result<(), &RcloneError> {
        self.root.as_ref().map(drop)
    }
}

/// A folder on a remote.
pub struct RemoteReplica {
    rcd: Arc<Rcd>,
    /// The remote as rclone names it (`gdrive:`, `synccenter1:`; a server's name depends on
    /// the pairs synced in the session).
    fs: String,
    /// The folder on it (`Documents/Sync`, `/srv/x` for SFTP from `/`, or empty).
    root: String,
    /// The remote folder as the pair names it, the same in every session: it, not `fs`,
    /// goes into the root's identity.
    location: String,
    /// A local folder for files on their way up.
    staging: PathBuf,
    /// The start of the stats groups of this pair's watched transfers (one group each, so
    /// each reports its own bytes while others run).
    group: String,
    /// This computer (8 hex digits) and this run (8): temp names of a dead run of this
    /// computer are removed, those of other computers left alone.
    token: String,
    counter: AtomicU64,
    /// A missing root is made (first sync) rather than refused.
    create_root: bool,
    info: OnceLock<Info>,
    /// A file named `.synccenter` that was renamed out of the way.
    moved_aside: Mutex<Option<(Box<RelPath>, Unsynced)>>,
    /// Opened for a preview: nothing is written on the remote or in the staging folder.
    previewing: bool,
    /// A preview found no root, which the sync makes: it is scanned as an empty folder.
    root_absent: AtomicBool,
    /// The root's listing `open_root` made, which the scan uses when the run did nothing
    /// else on this side in between (a call that may change the remote, or a look at a
    /// path — a resolution's stat, whose answer may be newer — drops it): one listing of the
    /// root per run, not two.
    root_listing: Mutex<Option<Vec<Listed>>>,
    /// What prepare saw of the root, until `open_root` takes it.
    first_look: Mutex<Option<FirstLook>>,
    /// Whether the center's folder holds versions, as far as this run knows: `None` until
    /// `open_root` looked, `Some(false)` lets the pruning skip its listing.
    holds_versions: Mutex<Option<bool>>,
    /// Paths being staged, and the versions their commit must keep first.
    staged: Mutex<HashSet<Vec<u8>>>,
    pending_versions: Mutex<HashMap<Vec<u8>, String>>,
    kept_versions: AtomicBool,
    /// The places in the versions folder being looked at and moved into now.
    versions_in_flight: Mutex<PlacesInFlight>,
    watcher: Box<dyn Watcher>,
    /// Why the server is gone for this run, once a probe found it so: every call after
    /// fails at once with this (rclone would wait its turn behind a pacer that backs off
    /// to 2 s between calls).
    lost: OnceLock<RcloneError>,
}

/// `operations/list`'s answer, the fields the scan uses (the others are skipped unread).
#[derive(serde::Deserialize)]
struct ListReply {
    #[serde(default)]
    list: Vec<ListItem>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListItem {
    #[serde(default)]
    name: String,
    #[serde(default)]
    is_dir: bool,
    #[serde(default)]
    size: i64,
    #[serde(default)]
    mod_time: String,
}

/// A folder's entries, or why it could not be listed.
type Listing = Result<Vec<Listed>, RcloneError>;

/// One listed entry.
struct Listed {
    name: String,
    is_dir: bool,
    size: u64,
    mtime: Mtime,
}

/// The temp-name tokens of this process's replicas that are in use: a leftover of this
/// process with another token is from a run that ended.
static LIVE_TOKENS: Mutex<Vec<String>> = Mutex::new(Vec::new());

impl Drop for RemoteReplica {
    fn drop(&mut self) {
        LIVE_TOKENS.lock().retain(|live| *live != self.token);
    }
}

impl RemoteReplica {
    /// A replica of `root` on `fs`, shown as `location`. `staging` must be a local folder
    /// only this pair uses.
    pub fn new(
        rcd: Arc<Rcd>,
        fs: String,
        root: String,
        location: String,
        staging: PathBuf,
        create_root: bool,
        watcher: Box<dyn Watcher>,
    ) -> RemoteReplica {
        let group = format!("synccenter-{}", random_hex(4));
        let token = format!("{}{}", host_id(), random_hex(4));
        LIVE_TOKENS.lock().push(token.clone());
        RemoteReplica {
            rcd,
            fs,
            root: trimmed_root(&root).to_string(),
            location,
            staging,
            group,
            token,
            counter: AtomicU64::new(0),
            create_root,
            info: OnceLock::new(),
            moved_aside: Mutex::new(None),
            previewing: false,
            root_absent: AtomicBool::new(false),
            root_listing: Mutex::new(None),
            first_look: Mutex::new(None),
            holds_versions: Mutex::new(None),
            staged: Mutex::new(HashSet::new()),
            pending_versions: Mutex::new(HashMap::new()),
            kept_versions: AtomicBool::new(false),
            versions_in_flight: Mutex::new(PlacesInFlight::default()),
            watcher,
            lost: OnceLock::new(),
        }
    }

    /// This replica with what prepare saw of its root.
    pub fn with_first_look(self, look: FirstLook) -> RemoteReplica {
        *self.first_look.lock() = Some(look);
        self
    }

    /// This replica for a preview, which writes nothing (see the module's notes).
    pub fn for_preview(mut self) -> RemoteReplica {
        self.previewing = true;
        self
    }

    /// The remote path of `rel` (rclone speaks UTF-8 only).
    fn remote(&self, rel: &RelPath) -> io::Result<String> {
        let rel = std::str::from_utf8(rel).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the remote cannot hold names that are not UTF-8",
            )
        })?;
        Ok(self.join(rel))
    }

    /// The remote path of `rel` (the root is in rclone's terms already, as the user gave it).
    fn join(&self, rel: &str) -> String {
        join_to(&self.root, rel)
    }

    fn call(&self, method: &str, input: Value) -> io::Result<Value> {
        self.not_lost()?;
        if !READS.contains(&method) {
            self.root_listing.lock().take();
        }
        Ok(again(false, || self.rcd.call(method, input.clone()))?)
    }

    /// Fails once a probe found the server gone (see [`RemoteReplica::answers`]).
    fn not_lost(&self) -> Result<(), RcloneError> {
        self.lost.get().map_or(Ok(()), |lost| Err(lost.clone()))
    }

    /// Whether the server still answers, asked when a transfer moves no byte and before
    /// each root check: lists the center's folder (small) through an rclone remote of its
    /// own (rcd keeps one per root, each with its own pacer), so the answer does not wait
    /// behind the retries of transfers to a server that is gone. Once it is gone, it stays
    /// gone for this run.
    fn answers(&self) -> Listing {
        self.not_lost()?;
        let center = self.join(std::str::from_utf8(CENTER_DIR).expect("ASCII"));
        let fs = format!("{}{center}", self.fs);
        // One try each, never long (a Stop waits for it), and a second try a moment later
        // before the server is taken for gone: a blip is not the end of the run.
        let quick = json!({
            "LowLevelRetries": 1,
            "ConnectTimeout": PROBE_TIMEOUT.as_nanos() as u64,
            "Timeout": PROBE_TIMEOUT.as_nanos() as u64,
        });
        let mut listed = list_folder_with(&self.rcd, &fs, "", &quick);
        if listed.as_ref().is_err_and(RcloneError::is_lost) {
            std::thread::sleep(Duration::from_secs(1));
            listed = list_folder_with(&self.rcd, &fs, "", &quick);
        }
        if let Err(e) = &listed
            && e.is_lost()
        {
            let _ = self.lost.set(e.clone());
        }
        listed
    }

    /// A transfer run as a job in a stats group of its own, progress reported as `shown`.
    fn transfer(&self, method: &str, input: Value, shown: &str) -> io::Result<()> {
        let watch = |bytes: Bytes| self.watcher.transferring(shown, bytes);
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let group = format!("{}-{n}", self.group);
        self.not_lost()?;
        let done = again(true, || {
            let probe = || self.answers().map(drop);
            self.rcd
                .call_job(method, input.clone(), &group, &watch, &probe)
        });
        self.watcher.ended(shown, u64::MAX, u64::MAX);
        self.rcd.forget_group(&group);
        done.map(drop).map_err(Into::into)
    }

    /// The file at `path`, streamed from the remote.
    fn read_file(&self, path: &RelPath, reading: Reading) -> io::Result<RemoteSource<'_>> {
        self.root_listing.lock().take();
        let remote = self.remote(path)?;
        let entry = match self.stat_remote(&remote)? {
            Some(entry) if entry.kind == Kind::File => entry,
            Some(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a regular file",
                ));
            }
            None => return Err(io::Error::new(io::ErrorKind::NotFound, "not there")),
        };
        self.not_lost()?;
        let reader = self.rcd.read(&self.fs, &remote)?;
        Ok(RemoteSource {
            replica: self,
            shown: String::from_utf8_lossy(path).into_owned(),
            remote,
            body: Watched::new(reader, entry.size),
            entry,
            reading,
        })
    }

    /// The entries in `remote`.
    fn list(&self, remote: &str) -> Listing {
        self.not_lost()?;
        list_folder(&self.rcd, &self.fs, remote)
    }

    /// Lists each of `folders` (paths in the pair), [`LISTINGS_IN_FLIGHT`] at once; answers
    /// in their order.
    fn list_all(&self, folders: &[&str]) -> Vec<Listing> {
        let next = AtomicUsize::new(0);
        let answers: Mutex<Vec<Option<Listing>>> =
            Mutex::new(folders.iter().map(|_| None).collect());
        std::thread::scope(|scope| {
            for _ in 0..LISTINGS_IN_FLIGHT.min(folders.len()) {
                scope.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(folder) = folders.get(k) else {
                            return;
                        };
                        let listed = self.list(&self.join(folder));
                        answers.lock()[k] = Some(listed);
                    }
                });
            }
        });
        answers
            .into_inner()
            .into_iter()
            .map(|answer| answer.expect("every folder is listed"))
            .collect()
    }

    /// What is at `remote` now: a file, a folder or nothing.
    fn stat_remote(&self, remote: &str) -> io::Result<Option<Entry>> {
        // rclone's stat of a path that holds no file lists the whole parent folder to look
        // for a folder of that name, so a first sync would list each folder once per file it
        // puts there. A file is looked up alone instead, and only when there is none is the
        // path itself listed, which tells a folder from nothing.
        let found = self.call(
            "operations/stat",
            json!({
                "fs": self.fs, "remote": remote,
                "opt": { "noMimeType": true, "filesOnly": true },
            }),
        )?;
        let item = &found["item"];
        if !item.is_null() {
            return Ok(Some(file_entry(
                item["Size"].as_i64().unwrap_or(0).max(0) as u64,
                parse_mtime(item["ModTime"].as_str().unwrap_or("")),
            )));
        }
        match self.list(remote) {
            Ok(_) => Ok(Some(Entry::dir())),
            Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Moves within the remote, never checking (or deleting) what is at `to`: callers made
    /// sure nothing is there.
    fn move_file(&self, from: &str, to: &str) -> io::Result<()> {
        self.call(
            "operations/movefile",
            json!({
                "srcFs": self.fs, "srcRemote": from, "dstFs": self.fs, "dstRemote": to,
                "_config": { "NoCheckDest": true },
            }),
        )
        .map(drop)
    }

    fn delete_file(&self, remote: &str) -> io::Result<()> {
        self.call(
            "operations/deletefile",
            json!({ "fs": self.fs, "remote": remote }),
        )
        .map(drop)
    }

    fn temp_name(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!(
            "{}{}-{}-{n}",
            super::local::TEMP_PREFIX,
            std::process::id(),
            self.token
        )
    }

    /// The temp of `rel`'s upload, next to it.
    fn temp_beside(&self, rel: &RelPath) -> io::Result<String> {
        let (dir, _) = split(rel);
        let mut temp = dir.to_vec();
        if !temp.is_empty() {
            temp.push(b'/');
        }
        temp.extend_from_slice(self.temp_name().as_bytes());
        self.remote(&temp)
    }

    /// A temp name this computer left in a run that is gone (or rclone's `.partial` of one).
    fn is_dead_leftover(&self, name: &str) -> bool {
        let own = &self.token[..8];
        let name = strip_partial(name);
        let Some(pid) = temp_pid(name.as_bytes()) else {
            return false;
        };
        let token = name.split('-').nth(3).unwrap_or("");
        // (This process's own: a run of it that ended, in the window or the background
        // instance, which live for days.)
        token.starts_with(own)
            && match pid == std::process::id() {
                true => !LIVE_TOKENS.lock().iter().any(|live| live == token),
                false => !is_alive(pid),
            }
    }

    fn info(&self) -> io::Result<Info> {
        if let Some(info) = self.info.get() {
            return Ok(*info);
        }
        let info = read_info(&self.rcd, &self.fs)?;
        let _ = self.info.set(info);
        Ok(info)
    }

    /// The root's identity marker, if the root has one, from the center's folder's listing
    /// (`listed`, or one made now). `tidy`: removes the intake folders a dead run of this
    /// computer left in the center's folder.
    fn marker(&self, tidy: bool, listed: Option<Listing>) -> io::Result<Option<RootId>> {
        let center = self.join(std::str::from_utf8(CENTER_DIR).expect("ASCII"));
        let listed = match listed.unwrap_or_else(|| self.list(&center)) {
            Ok(listed) => listed,
            Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        for left in &listed {
            if tidy && left.is_dir && self.is_dead_leftover(&left.name) {
                self.purge(&format!("{center}/{}", left.name));
            }
        }
        *self.holds_versions.lock() =
            Some(listed.iter().any(|l| l.is_dir && l.name == VERSIONS_DIR));
        Ok(listed
            .into_iter()
            .filter(|l| !l.is_dir && l.name.starts_with(ROOT_MARKER))
            .map(|l| l.name)
            .min()
            .map(|name| RootId(format!("{} {name}", self.location))))
    }

    /// Uploads a local file of the staging folder to `remote`: a large one as a job whose
    /// bytes are reported and which Skip and Stop end, a small one in one call. Written in
    /// place (`Inplace`): `remote` is a temp name of the center's own (or an empty marker),
    /// and rclone ≥ 1.63's own `.partial` upload on SFTP, FTP, SMB and local disks would only
    /// add a rename (an SFTP first sync of 2,000 files on loopback: 2.61 s with it, 2.30–2.41
    /// s without; each rename is a round trip to a distant server). Moves that fall back to
    /// a copy keep rclone's partial names. 1.60 ignores the option (it writes in place).
    fn upload(&self, local_name: &str, size: u64, remote: &str, shown: &str) -> io::Result<()> {
        self.root_listing.lock().take();
        let input = json!({
            "srcFs": self.staging.display().to_string(), "srcRemote": local_name,
            "dstFs": self.fs, "dstRemote": remote,
            "_config": { "NoCheckDest": true, "Inplace": true },
        });
        if size >= WATCHED_TRANSFER {
            return self.transfer("operations/copyfile", input, shown);
        }
        self.not_lost()?;
        again(true, || self.rcd.call("operations/copyfile", input.clone()))
            .map(drop)
            .map_err(Into::into)
    }

    /// Renames a file named like the center's folder at the top out of the way (as the
    /// local replica does), so versions can be kept; a preview only finds the name it gets.
    fn move_aside_center_name(&self, root: &[Listed]) -> io::Result<()> {
        let center = self.join(std::str::from_utf8(CENTER_DIR).expect("ASCII"));
        if !root
            .iter()
            .any(|l| !l.is_dir && l.name.as_bytes() == CENTER_DIR)
        {
            return Ok(());
        }
        for n in 1..100 {
            let name = match n {
                1 => ".synccenter (file)".to_string(),
                n => format!(".synccenter (file {n})"),
            };
            if self.stat_remote(&self.join(&name))?.is_none() {
                if !self.previewing {
                    self.move_file(&center, &self.join(&name))?;
                }
                *self.moved_aside.lock() = Some((
                    CENTER_DIR.into(),
                    Unsynced::MovedAside(name.as_bytes().into()),
                ));
                return Ok(());
            }
        }
        Err(io::Error::other("no free name to move .synccenter aside"))
    }

    /// The remote path of `place` in the versions folder.
    fn versions_path(&self, place: &str) -> String {
        self.join(&format!(".synccenter/versions/{place}"))
    }

    /// Moves the file at `remote` (`rel` in the root) into the versions under `stamp`.
    fn move_to_versions(&self, remote: &str, rel: &str, stamp: &str) -> io::Result<()> {
        self.kept_versions.store(true, Ordering::Relaxed);
        let mut last = None;
        // A file kept earlier can sit where a folder of this path is needed: then the next
        // stamp folder is tried (the move fails: a WebDAV server answers 403 Forbidden, read
        // as a refused logon; SFTP "not a directory").
        for attempt in 0..5 {
            let folder = match attempt {
                0 => stamp.to_string(),
                n => format!("{stamp}-{n}"),
            };
            for n in 0..VERSION_NAMES {
                let place = version_name(&folder, rel, n);
                if !self.versions_in_flight.lock().take(&place) {
                    continue;
                }
                // Free on the remote when looked at (rclone's move overwrites), and taken
                // by no other transfer of this run until it is moved there.
                let path = self.versions_path(&place);
                let moved = match self.stat_remote(&path) {
                    Ok(None) => Some(self.move_file(remote, &path)),
                    Ok(Some(_)) => None,
                    Err(e) => Some(Err(e)),
                };
                self.versions_in_flight.lock().release(&place);
                match moved {
                    None => continue,
                    Some(Ok(())) => return Ok(()),
                    Some(Err(e))
                        if matches!(
                            e.kind(),
                            io::ErrorKind::Other | io::ErrorKind::PermissionDenied
                        ) =>
                    {
                        last = Some(e);
                        break;
                    }
                    Some(Err(e)) => return Err(e),
                }
            }
        }
        Err(last.unwrap_or_else(|| io::Error::other("cannot keep a version")))
    }

    /// Moves the files `names` from the folder `from` into the folder `to`, leaving out
    /// those `to` holds (looked at again when the last look is older than
    /// [`RECHECK_AFTER`]).
    fn move_one_by_one(&self, from: &str, to: &str, names: &[&str]) -> io::Result<()> {
        let under = |folder: &str, name: &str| match folder.is_empty() {
            true => name.to_string(),
            false => format!("{folder}/{name}"),
        };
        let mut there: Option<(HashSet<String>, Instant)> = None;
        for name in names {
            if there
                .as_ref()
                .is_none_or(|(_, when)| when.elapsed() >= RECHECK_AFTER)
            {
                let listed = self.list(to)?.into_iter().map(|l| l.name).collect();
                there = Some((listed, Instant::now()));
            }
            if there
                .as_ref()
                .is_some_and(|(names, _)| names.contains(*name))
            {
                continue;
            }
            self.move_file(&under(from, name), &under(to, name))?;
        }
        Ok(())
    }

    /// Removes a folder of the center's and all in it (what is left of an intake).
    fn purge(&self, remote: &str) {
        let _ = self.call(
            "operations/purge",
            json!({ "fs": self.fs, "remote": remote }),
        );
    }

    /// Writes `paths` one per line (as `--files-from-raw` reads them) into a file of the
    /// staging folder, and returns its path.
    fn path_list(&self, paths: &[&str]) -> io::Result<String> {
        std::fs::create_dir_all(&self.staging)?;
        let list = self.staging.join(format!("{}.list", self.temp_name()));
        let mut text = paths.join("\n");
        text.push('\n');
        std::fs::write(&list, text)?;
        list.into_os_string()
            .into_string()
            .map_err(|_| io::Error::other("the staging folder's path is not UTF-8"))
    }

    /// [`Replica::take_in`]: the files are copied in one job into a folder of their own in
    /// the center's folder (`.synccenter/<temp name>`: nothing shows under its name half
    /// written, whichever rclone and server), then, once the run cleared them (what it did
    /// not leaves the intake first), moved into place: each folder at the top of the intake
    /// in one server-side move, the files outside them in one more job;
    /// neither replaces anything (rclone's `IgnoreExisting`, which looks right before each
    /// move). Listings of the places then tell what landed.
    fn take_in_all(
        &self,
        from: &str,
        intake: &Intake,
    ) -> io::Result<Vec<io::Result<Option<Entry>>>> {
        self.root_listing.lock().take();
        let arrivals = &intake.arrivals;
        fn text(path: &RelPath) -> &str {
            std::str::from_utf8(path).expect("checked by takes_in")
        }
        let parent = |path: &str| path.rsplit_once('/').map_or("", |(p, _)| p).to_string();
        // Each new folder's topmost new folder (arrivals come in path order: parents first).
        let mut top_of: HashMap<String, String> = HashMap::new();
        for (path, entry) in arrivals {
            if entry.kind == Kind::Dir {
                let path = text(path).to_string();
                let top = top_of.get(&parent(&path)).cloned().unwrap_or(path.clone());
                top_of.insert(path, top);
            }
        }
        let files: Vec<&str> = arrivals
            .iter()
            .filter(|(_, e)| e.kind == Kind::File)
            .map(|(p, _)| text(p))
            .collect();
        // Why files did not land, when a step failed.
        let mut failure: Option<String> = None;
        let center = std::str::from_utf8(CENTER_DIR).expect("ASCII");
        let shown = crate::core::words::plural(files.len() as u64, "new file", "new files");
        let in_fs = |path: &str| format!("{}{path}", self.fs);
        let intake_dir = self.join(&format!("{center}/{}", self.temp_name()));
        let intake_dir = intake_dir.as_str();
        if !files.is_empty() {
            let list = self.path_list(&files)?;
            let stopped = AtomicBool::new(false);
            let watch = |bytes: Bytes| {
                let go_on = self.watcher.transferring(&shown, bytes);
                stopped.fetch_or(!go_on, Ordering::Relaxed);
                go_on
            };
            let group = format!(
                "{}-{}",
                self.group,
                self.counter.fetch_add(1, Ordering::Relaxed)
            );
            // A failed file fails the job, which is run again as rclone's own copy does
            // (`--retries`): what arrived whole is not sent again.
            let input = json!({
                "srcFs": from, "dstFs": in_fs(intake_dir),
                // Into the intake folder, a temp name of the center's own (see `upload`).
                "_config": { "Inplace": true },
                "_filter": { "FilesFromRaw": [list] },
            });
            let copied = again(true, || {
                let probe = || self.answers().map(drop);
                self.rcd
                    .call_job("sync/copy", input.clone(), &group, &watch, &probe)
            });
            self.rcd.forget_group(&group);
            let _ = std::fs::remove_file(&list);
            if stopped.load(Ordering::Relaxed) {
                self.watcher.ended(&shown, 0, 0);
                self.purge(intake_dir);
                return Ok(arrivals
                    .iter()
                    .map(|_| Err(io::Error::new(io::ErrorKind::Interrupted, "stopped")))
                    .collect());
            }
            match copied {
                // Nothing more can be done there now (the intake folder is tidied away by a
                // later run, as a dead leftover).
                Err(e) if e.is_lost() => {
                    self.watcher.ended(&shown, 0, 0);
                    let e = io::Error::from(e);
                    return Ok(arrivals
                        .iter()
                        .map(|_| Err(io::Error::new(e.kind(), e.to_string())))
                        .collect());
                }
                Err(e) => failure = Some(e.to_string()),
                Ok(_) => {}
            }
        }
        let cleared = (intake.cleared)();
        let is_cleared = |k: usize| cleared.get(k) == Some(&true);
        // The files not cleared, and their bytes, are no part of what lands now.
        let landing_files: Vec<u64> = (arrivals.iter().enumerate())
            .filter(|&(k, (_, entry))| is_cleared(k) && entry.kind == Kind::File)
            .map(|(_, (_, entry))| entry.size)
            .collect();
        self.watcher.ended(
            &shown,
            landing_files.iter().sum(),
            landing_files.len() as u64,
        );
        if !(0..arrivals.len()).any(is_cleared) {
            self.purge(intake_dir);
            return Ok(arrivals.iter().map(|_| Ok(None)).collect());
        }
        // What was not cleared leaves the intake (a folder with all in it) unplaced. Should
        // that fail, no folder moves whole: each cleared file is moved by name instead.
        let mut left_behind = false;
        let mut purged: Vec<&str> = Vec::new();
        for (k, (path, entry)) in arrivals.iter().enumerate() {
            let path = text(path);
            if is_cleared(k)
                || files.is_empty()
                || purged
                    .iter()
                    .any(|p| is_inside(path.as_bytes(), p.as_bytes()))
            {
                continue;
            }
            let (method, remote) = match entry.kind {
                Kind::Dir => (
                    "operations/purge",
                    format!("{intake_dir}/{}", to_rclone(path)),
                ),
                _ => (
                    "operations/deletefile",
                    format!("{intake_dir}/{}", to_rclone(path)),
                ),
            };
            match self.call(method, json!({ "fs": self.fs, "remote": remote })) {
                // (Not copied: an empty folder, or a file the copy job failed.)
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(_) => left_behind = true,
            }
            if entry.kind == Kind::Dir {
                purged.push(path);
            }
        }
        let mut tops: Vec<&str> = Vec::new();
        let mut loose: Vec<&str> = Vec::new();
        for (k, (path, entry)) in arrivals.iter().enumerate() {
            if entry.kind != Kind::File || !is_cleared(k) {
                continue;
            }
            let file = text(path);
            match top_of.get(&parent(file)) {
                Some(top) if !left_behind && tops.last() != Some(&top.as_str()) => tops.push(top),
                Some(_) if !left_behind => {}
                _ => loose.push(file),
            }
        }
        if !files.is_empty() {
            let ignore_existing = json!({ "IgnoreExisting": true });
            for top in &tops {
                let moved = self.call(
                    "sync/move",
                    json!({
                        "srcFs": in_fs(&format!("{intake_dir}/{}", to_rclone(top))),
                        "dstFs": in_fs(&self.join(top)),
                        "deleteEmptySrcDirs": true,
                        "_config": ignore_existing,
                    }),
                );
                if let Err(e) = moved {
                    failure.get_or_insert(e.to_string());
                }
            }
            // The files outside them, a folder's in one job.
            let mut by_folder: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for file in &loose {
                let (folder, name) = file.rsplit_once('/').unwrap_or(("", file));
                by_folder.entry(folder).or_default().push(name);
            }
            for (folder, names) in &by_folder {
                let (from, to) = match folder.is_empty() {
                    true => (intake_dir.to_string(), self.root.clone()),
                    false => (format!("{intake_dir}/{folder}"), self.join(folder)),
                };
                let list = self.path_list(names)?;
                let moved = self.call(
                    "sync/move",
                    json!({
                        "srcFs": in_fs(&from), "dstFs": in_fs(&to),
                        "_filter": { "FilesFromRaw": [list] },
                        "_config": ignore_existing,
                    }),
                );
                let _ = std::fs::remove_file(&list);
                let moved = match moved {
                    // The top folder holds the intake: rclone before 1.64 refuses to move
                    // into a folder holding the source, filter or not.
                    Err(e) if e.to_string().contains("overlapping") => {
                        self.move_one_by_one(&from, &to, names)
                    }
                    moved => moved.map(drop),
                };
                if let Err(e) = moved {
                    failure.get_or_insert(e.to_string());
                }
            }
            self.purge(intake_dir);
        }
        // What is in the places now: each folder that was to receive something listed on
        // its own, several at once (not a top folder whole: rcd builds a recursive listing
        // in memory at once, which took it from 41 to 59 MiB for 10,000 files). Some
        // servers show a size of 0 for a moment after a write: a file of another size is
        // looked at once more.
        let mut found: HashMap<String, Listed> = HashMap::new();
        let folders: BTreeSet<String> = arrivals
            .iter()
            .enumerate()
            .filter(|&(k, _)| is_cleared(k))
            .map(|(_, (path, _))| parent(text(path)))
            .collect();
        let places: Vec<&str> = folders.iter().map(String::as_str).collect();
        for attempt in 0..2 {
            found.clear();
            for (folder, listed) in places.iter().zip(self.list_all(&places)) {
                match listed {
                    Ok(listed) => found.extend(listed.into_iter().map(|l| {
                        let path = match folder.is_empty() {
                            true => l.name.clone(),
                            false => format!("{folder}/{}", l.name),
                        };
                        (path, l)
                    })),
                    // (A new folder that received no file: it is made below.)
                    Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound => {}
                    Err(e) => {
                        failure.get_or_insert(e.to_string());
                    }
                }
            }
            let short = arrivals.iter().enumerate().any(|(k, (path, entry))| {
                is_cleared(k)
                    && entry.kind == Kind::File
                    && found
                        .get(text(path))
                        .is_some_and(|l| !l.is_dir && l.size != entry.size)
            });
            if !short || attempt == 1 {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let precision = self.info()?.precision_ns;
        let same_time = |a: Mtime, b: Mtime| {
            let ns = |m: Mtime| i128::from(m.secs) * 1_000_000_000 + i128::from(m.nanos);
            precision >= Keeps::NO_MTIMES || (ns(a) - ns(b)).unsigned_abs() <= u128::from(precision)
        };
        Ok(arrivals
            .iter()
            .enumerate()
            .map(|(k, (path, entry))| {
                let path = text(path);
                match (entry.kind, found.get(path)) {
                    _ if !is_cleared(k) => Ok(None),
                    (Kind::Dir, Some(listed)) if listed.is_dir => Ok(Some(Entry::dir())),
                    (Kind::Dir, _) => {
                        // (An empty folder: copies carry files only.)
                        let made = self.call(
                            "operations/mkdir",
                            json!({ "fs": self.fs, "remote": self.join(path) }),
                        );
                        made.map(|_| Some(Entry::dir()))
                    }
                    (_, Some(l))
                        if !l.is_dir && l.size == entry.size && same_time(l.mtime, entry.mtime) =>
                    {
                        Ok(Some(file_entry(l.size, l.mtime)))
                    }
                    (_, Some(_)) => Ok(None),
                    // Not seen as the server went away: left for the next run (which finds
                    // it if it landed), not a failure of its own.
                    (_, None) => Err(match self.lost.get() {
                        Some(lost) => lost.clone().into(),
                        None => io::Error::other(
                            failure
                                .clone()
                                .unwrap_or_else(|| "it did not arrive on the remote".into()),
                        ),
                    }),
                }
            })
            .collect())
    }

    fn scan_folder(
        &self,
        dir: &str,
        filter: &Filter,
        found: &Mutex<HashMap<String, Vec<Listed>>>,
    ) -> io::Result<Vec<String>> {
        let kept_root = match dir.is_empty() {
            true => self.root_listing.lock().take(),
            false => None,
        };
        let listed = match kept_root {
            Some(listed) => Ok(listed),
            None => self.list(&self.join(dir)),
        }
        .map_err(|e| {
            let shown = if dir.is_empty() {
                self.location.clone()
            } else {
                format!("{} in {}", dir, self.location)
            };
            io::Error::new(io::Error::from(e.clone()).kind(), format!("{shown}: {e}"))
        })?;
        let mut kept = Vec::with_capacity(listed.len());
        let mut folders = Vec::new();
        for mut item in listed {
            let mut rel = if dir.is_empty() {
                item.name.clone()
            } else {
                format!("{dir}/{}", item.name)
            };
            if dir.is_empty() && item.name.as_bytes() == CENTER_DIR {
                // A preview lists the user's file under the name the sync gives it.
                match &*self.moved_aside.lock() {
                    Some((_, Unsynced::MovedAside(to))) if self.previewing && !item.is_dir => {
                        rel = String::from_utf8_lossy(to).into_owned();
                        item.name = rel.clone();
                    }
                    _ => continue,
                }
            }
            if temp_pid(strip_partial(&item.name).as_bytes()).is_some() {
                if !item.is_dir && !self.previewing && self.is_dead_leftover(&item.name) {
                    let _ = self.delete_file(&self.join(&rel));
                }
                continue;
            }
            if filter.skips(rel.as_bytes(), item.is_dir) {
                continue;
            }
            if item.is_dir {
                folders.push(rel);
            }
            kept.push(item);
        }
        found.lock().insert(dir.to_string(), kept);
        Ok(folders)
    }
}

/// Names a version of a file may take in a stamp folder: `rel`, then `rel.1`, `rel.2`…
const VERSION_NAMES: usize = 1000;

/// The `n`th name for a version of `rel` in the stamp folder `folder`.
fn version_name(folder: &str, rel: &str, n: usize) -> String {
    match n {
        0 => format!("{folder}/{rel}"),
        n => format!("{folder}/{rel}.{n}"),
    }
}

/// The places (`stamp/path` in the versions folder) that transfers of this run are looking
/// at and moving versions into, so that versions are kept side by side yet no two take one
/// place, nor a file where the other needs a folder (the remote shows each once it is moved).
#[derive(Default)]
struct PlacesInFlight {
    files: HashSet<String>,
    /// The folders above the places, and how many places each is above.
    folders: HashMap<String, usize>,
}

impl PlacesInFlight {
    /// Takes `place` if no place in flight is it, below it or above it.
    fn take(&mut self, place: &str) -> bool {
        let in_the_way = self.files.contains(place)
            || self.folders.contains_key(place)
            || folders_above(place).any(|folder| self.files.contains(folder));
        if in_the_way {
            return false;
        }
        for folder in folders_above(place) {
            *self.folders.entry(folder.to_string()).or_default() += 1;
        }
        self.files.insert(place.to_string());
        true
    }

    fn release(&mut self, place: &str) {
        if !self.files.remove(place) {
            return;
        }
        for folder in folders_above(place) {
            if let Some(count) = self.folders.get_mut(folder) {
                *count -= 1;
                if *count == 0 {
                    self.folders.remove(folder);
                }
            }
        }
    }
}

/// The folders above `path`, nearest first (`a/b/c`: `a/b`, `a`).
fn folders_above(path: &str) -> impl Iterator<Item = &str> {
    path.rmatch_indices('/').map(move |(i, _)| &path[..i])
}

/// `root` without a trailing `/`, except `/` itself (SFTP from the server's root; an empty
/// root is the user's home there).
fn trimmed_root(root: &str) -> &str {
    match root.trim_end_matches('/') {
        "" if root.starts_with('/') => "/",
        trimmed => trimmed,
    }
}

/// `rel` (a path in the pair) in the remote folder `root` (as [`trimmed_root`] leaves it),
/// in rclone's terms.
fn join_to(root: &str, rel: &str) -> String {
    let rel = to_rclone(rel);
    match (root.is_empty(), rel.is_empty()) {
        (true, _) => rel,
        (false, true) => root.to_string(),
        (false, false) => format!("{}/{rel}", root.strip_suffix('/').unwrap_or(root)),
    }
}

/// Makes a call, and makes it again (up to [`RETRIES`] times, pausing a little longer each
/// time) when it failed without doing anything: a WebDAV server answers `423 Locked` while
/// another of the transfers in flight makes the same folder, and an upload (`uploading`)
/// whose size read back short (a server can show 0 bytes right after a write) is removed by
/// rclone. rclone's own copy retries these the same way.
fn again<T>(
    uploading: bool,
    mut call: impl FnMut() -> Result<T, RcloneError>,
) -> Result<T, RcloneError> {
    let mut pause = Duration::from_millis(20);
    for _ in 0..RETRIES {
        match call() {
            Err(RcloneError::Call(f)) if is_transient(&f.message, uploading) => {
                std::thread::sleep(pause);
                pause *= 2;
            }
            done => return done,
        }
    }
    call()
}

/// The entries in `remote` on `fs`.
fn list_folder(rcd: &Rcd, fs: &str, remote: &str) -> Listing {
    list_folder_with(rcd, fs, remote, &json!({}))
}

/// The entries in `remote` on `fs`, listed with rclone's settings `config` changed.
fn list_folder_with(rcd: &Rcd, fs: &str, remote: &str, config: &Value) -> Listing {
    let mut input = json!({
        "fs": fs, "remote": remote,
        "opt": { "noMimeType": true },
    });
    if config
        .as_object()
        .is_some_and(|changed| !changed.is_empty())
    {
        input["_config"] = config.clone();
    }
    let listed: ListReply = again(false, || rcd.call_as("operations/list", input.clone()))?;
    Ok(listed
        .list
        .into_iter()
        .map(|item| Listed {
            name: from_rclone(&item.name),
            is_dir: item.is_dir,
            size: item.size.max(0) as u64,
            mtime: parse_mtime(&item.mod_time),
        })
        .collect())
}

/// What the storage of `fs` is like.
fn read_info(rcd: &Rcd, fs: &str) -> Result<Info, RcloneError> {
    let fsinfo = again(false, || rcd.call("operations/fsinfo", json!({ "fs": fs })))?;
    Ok(Info {
        precision_ns: fsinfo["Precision"]
            .as_u64()
            .unwrap_or(Keeps::NO_MTIMES)
            .clamp(1, Keeps::NO_MTIMES),
        case_insensitive: fsinfo["Features"]["CaseInsensitive"].as_bool() == Some(true),
    })
}

/// The first 8 hex digits of this computer's hashed machine id.
fn host_id() -> String {
    let id = std::fs::read("/etc/machine-id")
        .or_else(|_| std::fs::read("/var/lib/dbus/machine-id"))
        .unwrap_or_default();
    blake3::hash(&id).to_hex()[..8].to_string()
}

/// A temp name without rclone's `.<8 hex>.partial` suffix.
fn strip_partial(name: &str) -> &str {
    name.strip_suffix(".partial")
        .and_then(|rest| rest.rsplit_once('.'))
        .filter(|(_, hex)| hex.len() == 8 && hex.bytes().all(|c| c.is_ascii_hexdigit()))
        .map_or(name, |(base, _)| base)
}

fn parse_mtime(text: &str) -> Mtime {
    chrono::DateTime::parse_from_rfc3339(text).map_or(Mtime::default(), |t| {
        Mtime::new(t.timestamp(), t.timestamp_subsec_nanos())
    })
}

fn file_entry(size: u64, mtime: Mtime) -> Entry {
    Entry {
        kind: Kind::File,
        exec: false,
        size,
        mtime,
        hash: None,
        target: None,
    }
}

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("a remote cannot hold {what}"),
    )
}

impl Replica for RemoteReplica {
    fn location(&self) -> String {
        self.location.clone()
    }

    fn open_root(&self) -> io::Result<RootId> {
        // What a preview opens when the sync would make the root or its marker: no marked
        // root is this one.
        let unmarked = || RootId(format!("{} (no marker yet)", self.location));
        let look = (self.first_look.lock().take()).filter(|l| l.taken.elapsed() < FIRST_LOOK_LASTS);
        let (root_listing, center_listing) = match look {
            Some(look) => {
                if let Some(Ok(info)) = look.info {
                    let _ = self.info.set(info);
                }
                (look.root, look.center)
            }
            None => (self.list(&self.root), None),
        };
        let listed = match root_listing {
            Ok(listed) => listed,
            Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound && self.create_root => {
                if self.previewing {
                    self.root_absent.store(true, Ordering::Relaxed);
                    return Ok(unmarked());
                }
                self.call(
                    "operations/mkdir",
                    json!({ "fs": self.fs, "remote": self.root }),
                )?;
                Vec::new()
            }
            Err(e) => return Err(e.into()),
        };
        self.move_aside_center_name(&listed)?;
        let has_center_dir = listed
            .iter()
            .any(|l| l.is_dir && l.name.as_bytes() == CENTER_DIR);
        // Kept for the scan; dropped again by any call that changes the remote.
        *self.root_listing.lock() = Some(listed);
        // (A preview that found a file in the place of the center's folder finds no marker.)
        let file_in_the_way = self.previewing && self.moved_aside.lock().is_some();
        if !has_center_dir {
            *self.holds_versions.lock() = Some(false);
        } else if !file_in_the_way
            && let Some(id) = self.marker(!self.previewing, center_listing)?
        {
            return Ok(id);
        }
        if self.previewing {
            return Ok(unmarked());
        }
        let name = format!("{ROOT_MARKER}{}", random_hex(16));
        std::fs::create_dir_all(&self.staging)?;
        File::create(self.staging.join(&name))?;
        let uploaded = self.upload(&name, 0, &self.join(&format!(".synccenter/{name}")), &name);
        let _ = std::fs::remove_file(self.staging.join(&name));
        uploaded?;
        self.marker(false, None)?
            .ok_or_else(|| io::Error::other("the root's marker did not land"))
    }

    fn current_root(&self) -> io::Result<RootId> {
        self.marker(false, Some(self.answers()))?
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "the root's marker is gone"))
    }

    fn keeps(&self) -> io::Result<Keeps> {
        let info = self.info()?;
        Ok(Keeps {
            exec_bit: false,
            symlinks: false,
            case_sensitive: !info.case_insensitive,
            // rclone encodes what a backend cannot hold in names.
            forbidden: b"",
            mtime_step_ns: info.precision_ns,
            utf8_names: true,
        })
    }

    fn scan(&self, filter: &Filter, folders: &AtomicU64, stop: &AtomicBool) -> io::Result<Scan> {
        if self.root_absent.load(Ordering::Relaxed) {
            return Ok(Scan::default());
        }
        let found: Mutex<HashMap<String, Vec<Listed>>> = Mutex::new(HashMap::new());
        // Folders to list, and how many are being listed. The last found is listed first: a
        // deep chain of folders is followed as it is found rather than left for the end, when
        // few listings would be in flight (5–10 ms less of a 10,000-file no-change re-sync).
        let queue: Mutex<(Vec<String>, usize)> = Mutex::new((vec![String::new()], 0));
        let changed = Condvar::new();
        let failure: Mutex<Option<io::Error>> = Mutex::new(None);
        std::thread::scope(|scope| {
            for _ in 0..LISTINGS_IN_FLIGHT {
                scope.spawn(|| {
                    loop {
                        let dir = {
                            let mut queue = queue.lock();
                            loop {
                                if failure.lock().is_some() {
                                    return;
                                }
                                if let Some(dir) = queue.0.pop() {
                                    queue.1 += 1;
                                    break dir;
                                }
                                if queue.1 == 0 {
                                    return;
                                }
                                changed.wait(&mut queue);
                            }
                        };
                        let listed = if stop.load(Ordering::Relaxed) {
                            Err(io::Error::new(io::ErrorKind::Interrupted, "stopped"))
                        } else {
                            self.scan_folder(&dir, filter, &found)
                        };
                        folders.fetch_add(1, Ordering::Relaxed);
                        let mut queue = queue.lock();
                        queue.1 -= 1;
                        match listed {
                            Ok(more) => queue.0.extend(more),
                            Err(e) => {
                                failure.lock().get_or_insert(e);
                            }
                        }
                        changed.notify_all();
                    }
                });
            }
        });
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let mut found = found.into_inner();
        let mut scan = Scan::default();
        if let Some(aside) = self.moved_aside.lock().take() {
            scan.unsynced.push(aside);
        }
        // Folders before their contents, names in byte order: the order of `cmp_paths`.
        fn emit(dir: &str, found: &mut HashMap<String, Vec<Listed>>, scan: &mut Scan) {
            let Some(mut children) = found.remove(dir) else {
                return;
            };
            children.sort_unstable_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
            for child in children {
                let rel = if dir.is_empty() {
                    child.name
                } else {
                    format!("{dir}/{}", child.name)
                };
                if child.is_dir {
                    scan.tree.push(rel.as_bytes(), Entry::dir());
                    emit(&rel, found, scan);
                } else {
                    scan.tree
                        .push(rel.as_bytes(), file_entry(child.size, child.mtime));
                }
            }
        }
        emit("", &mut found, &mut scan);
        scan.tree.shrink_to_fit();
        Ok(scan)
    }

    fn stat(&self, path: &RelPath) -> io::Result<Option<Entry>> {
        self.root_listing.lock().take();
        let remote = self.remote(path)?;
        self.stat_remote(&remote)
    }

    fn hash(&self, path: &RelPath) -> io::Result<Hash> {
        let mut source = self.read_file(path, Reading::ToCheck)?;
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(&mut source)?;
        Ok(*hasher.finalize().as_bytes())
    }

    fn open(&self, path: &RelPath) -> io::Result<Box<dyn SourceFile + '_>> {
        Ok(Box::new(self.read_file(path, Reading::ToCopy)?))
    }

    fn stage(&self, path: &RelPath) -> io::Result<Box<dyn StagedFile + '_>> {
        let remote = self.remote(path)?;
        std::fs::create_dir_all(&self.staging)?;
        let local_name = self.temp_name();
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(self.staging.join(&local_name))?;
        self.staged.lock().insert(path.to_vec());
        Ok(Box::new(RemoteStaged {
            replica: self,
            rel: path.to_vec(),
            remote,
            local_name,
            file,
            hole_at_end: false,
            seen: RefCell::new(None),
        }))
    }

    fn make_dir(&self, path: &RelPath) -> io::Result<()> {
        let remote = self.remote(path)?;
        self.call(
            "operations/mkdir",
            json!({ "fs": self.fs, "remote": remote }),
        )
        .map(drop)
    }

    fn make_symlink(&self, _path: &RelPath, _target: &[u8], _mtime: Mtime) -> io::Result<()> {
        Err(unsupported("symbolic links"))
    }

    /// The version is kept when the file staged for this path lands (the old file is
    /// moved into the versions right before the new one is moved into place), so the time
    /// without a file at the path is one server-side move, not an upload.
    fn keep_version(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        if self.staged.lock().contains(path) {
            self.pending_versions
                .lock()
                .insert(path.to_vec(), stamp.to_string());
            return Ok(());
        }
        self.retire(path, stamp)
    }

    fn retire(&self, path: &RelPath, stamp: &str) -> io::Result<()> {
        let remote = self.remote(path)?;
        let rel = std::str::from_utf8(path).expect("checked by remote()");
        self.move_to_versions(&remote, rel, stamp)
    }

    fn remove_folder(
        &self,
        path: &RelPath,
        filter: &Filter,
        stamp: &str,
    ) -> io::Result<FolderRemoval> {
        let remote = self.remote(path)?;
        let rel = std::str::from_utf8(path).expect("checked by remote()");
        let listed = match self.list(&remote) {
            Ok(listed) => listed,
            Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound => {
                return Ok(FolderRemoval::Removed);
            }
            Err(e) => return Err(e.into()),
        };
        let mut never_synced = Vec::new();
        for item in listed {
            let inner = format!("{rel}/{}", item.name);
            if temp_pid(strip_partial(&item.name).as_bytes()).is_some() && !item.is_dir {
                if self.is_dead_leftover(&item.name) || item.name.contains(&self.token) {
                    let _ = self.delete_file(&self.join(&inner));
                    continue;
                }
                return Ok(FolderRemoval::HoldsNew);
            }
            if filter.skips(inner.as_bytes(), item.is_dir) && !item.is_dir {
                never_synced.push(inner);
            } else {
                return Ok(FolderRemoval::HoldsNew);
            }
        }
        for inner in never_synced {
            self.move_to_versions(&self.join(&inner), &inner, stamp)?;
        }
        match self.call(
            "operations/rmdir",
            json!({ "fs": self.fs, "remote": remote }),
        ) {
            Ok(_) => Ok(FolderRemoval::Removed),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(FolderRemoval::Removed),
            Err(e) if e.to_string().contains("not empty") => Ok(FolderRemoval::HoldsNew),
            Err(e) => Err(e),
        }
    }

    fn rename(&self, from: &RelPath, to: &RelPath) -> io::Result<()> {
        self.root_listing.lock().take();
        let (from, to) = (self.remote(from)?, self.remote(to)?);
        if self.stat_remote(&to)?.is_some() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "the new name is taken",
            ));
        }
        match self.stat_remote(&from)? {
            None => Err(io::Error::new(io::ErrorKind::NotFound, "not there")),
            Some(entry) if entry.kind == Kind::Dir => self
                .call(
                    "sync/move",
                    json!({
                        "srcFs": format!("{}{from}", self.fs),
                        "dstFs": format!("{}{to}", self.fs),
                        "deleteEmptySrcDirs": true,
                    }),
                )
                .map(drop),
            Some(_) => self.move_file(&from, &to),
        }
    }

    fn flush(&self) -> io::Result<()> {
        // Every call returns once the remote has the change.
        Ok(())
    }

    fn intake_changes(&self) -> usize {
        INTAKE_CHANGES
    }

    fn takes_in(&self, path: &RelPath) -> bool {
        // The paths go to rclone in a list, one per line and as they are: a name with a line
        // break, or one rclone would write otherwise (see `rclone_names`), goes on its own.
        !self.previewing
            && std::str::from_utf8(path)
                .is_ok_and(|p| !p.contains(['\n', '\r']) && to_rclone(p) == p)
    }

    fn take_in(&self, intake: &Intake) -> Option<Vec<io::Result<Option<Entry>>>> {
        let from = intake.from.to_str()?;
        Some(self.take_in_all(from, intake).unwrap_or_else(|e| {
            intake
                .arrivals
                .iter()
                .map(|_| Err(io::Error::new(e.kind(), e.to_string())))
                .collect()
        }))
    }

    fn transfers_at_once(&self) -> usize {
        TRANSFERS_AT_ONCE
    }

    fn prune_versions(&self, retention: &Retention, now_secs: i64) -> io::Result<Pruned> {
        let versions = self.join(&format!(".synccenter/{VERSIONS_DIR}"));
        let kept = self.kept_versions.swap(false, Ordering::Relaxed);
        // None there when the run began, and none kept since.
        if *self.holds_versions.lock() == Some(false) && !kept {
            return Ok(Pruned::default());
        }
        let listed = match self.list(&versions) {
            Ok(listed) => listed,
            Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound => {
                return Ok(Pruned::default());
            }
            Err(e) => return Err(e.into()),
        };
        let sizes_needed = kept && retention.max_share_percent < 100;
        // The remote's size, where it tells (quota); else only the age counts.
        let capacity = if sizes_needed && self.rcd.has("operations/about") {
            self.call("operations/about", json!({ "fs": self.fs }))
                .ok()
                .and_then(|about| about["total"].as_u64())
        } else {
            None
        };
        let mut stamps: Vec<(i64, String, u64)> = Vec::new();
        for item in listed.into_iter().filter(|l| l.is_dir) {
            let made = stamp_time(item.name.as_bytes()).unwrap_or(item.mtime.secs);
            let place = format!("{versions}/{}", item.name);
            let size = match capacity {
                Some(_) => self.call(
                    "operations/size",
                    json!({ "fs": format!("{}{place}", self.fs) }),
                )?["bytes"]
                    .as_u64()
                    .unwrap_or(0),
                None => 0,
            };
            stamps.push((made, place, size));
        }
        stamps.sort();
        let cap = capacity.map_or(u64::MAX, |c| {
            c / 100 * u64::from(retention.max_share_percent)
        });
        let oldest_kept = now_secs - i64::from(retention.max_age_days) * 86_400;
        let mut total: u64 = stamps.iter().map(|s| s.2).sum();
        let mut pruned = Pruned::default();
        for (made, place, size) in stamps {
            if made >= oldest_kept && total <= cap {
                break;
            }
            self.call(
                "operations/purge",
                json!({ "fs": self.fs, "remote": place }),
            )?;
            total -= size;
            pruned.stamps += 1;
            pruned.bytes += size;
        }
        Ok(pruned)
    }
}

/// Why a remote file is read: its bytes are the sync's when it is copied.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reading {
    ToCopy,
    ToCheck,
}

/// A remote file being read.
struct RemoteSource<'r> {
    replica: &'r RemoteReplica,
    shown: String,
    remote: String,
    body: Watched<Box<dyn Read + Send>>,
    entry: Entry,
    reading: Reading,
}

impl Read for RemoteSource<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let (watcher, shown) = (&self.replica.watcher, &self.shown);
        match self.reading {
            Reading::ToCopy => self.body.read(buf, |b| watcher.transferring(shown, b)),
            Reading::ToCheck => self.body.read(buf, |b| watcher.checking(shown, b)),
        }
    }
}

impl Drop for RemoteSource<'_> {
    fn drop(&mut self) {
        if self.reading == Reading::ToCopy {
            self.replica.watcher.ended(&self.shown, u64::MAX, u64::MAX);
        }
    }
}

/// A body being read whose bytes are reported every [`REPORT_EVERY`].
struct Watched<R> {
    inner: R,
    done: u64,
    total: u64,
    last_report: Instant,
}

impl<R: Read> Watched<R> {
    fn new(inner: R, total: u64) -> Watched<R> {
        Watched {
            inner,
            done: 0,
            total,
            last_report: Instant::now(),
        }
    }

    /// Reads on unless `go_on`, told the bytes so far, says stop. It is asked before a read,
    /// so a stop drops no bytes already read; and the stop is no `Interrupted`, which every
    /// reader retries (a retried read went on past the bytes dropped: a hash of the rest
    /// looked like a change on the remote).
    fn read(&mut self, buf: &mut [u8], go_on: impl FnOnce(Bytes) -> bool) -> io::Result<usize> {
        if self.last_report.elapsed() >= REPORT_EVERY {
            self.last_report = Instant::now();
            let bytes = Bytes {
                done: self.done,
                total: self.total,
                files: 0,
            };
            if !go_on(bytes) {
                return Err(io::Error::other("stopped"));
            }
        }
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        Ok(n)
    }
}

impl SourceFile for RemoteSource<'_> {
    fn entry(&self) -> &Entry {
        &self.entry
    }

    fn at_path_now(&self) -> io::Result<Option<Entry>> {
        self.replica.stat_remote(&self.remote)
    }
}

/// A file on its way up: written to a local temp file, uploaded to a temp name beside its
/// place, then moved into place.
struct RemoteStaged<'r> {
    replica: &'r RemoteReplica,
    rel: Vec<u8>,
    remote: String,
    local_name: String,
    file: File,
    hole_at_end: bool,
    /// What `at_path_now` saw last, and when: the commit lands only while that is still
    /// there.
    seen: RefCell<Option<(Option<Entry>, Instant)>>,
}

impl Write for RemoteStaged<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hole_at_end = false;
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl RemoteStaged<'_> {
    /// Whether the target is still what `at_path_now` saw (right before the upload): looked
    /// at again when the upload took longer than `RECHECK_AFTER`, so the last check is never
    /// more than about a second and one call before the move. A file replaced in that window
    /// is still moved into the versions first; a stat per small file would cost a fifth of
    /// a first sync's calls.
    fn target_unchanged(&self) -> io::Result<bool> {
        let Some((seen, when)) = &*self.seen.borrow() else {
            return Ok(false);
        };
        if when.elapsed() < RECHECK_AFTER {
            return Ok(true);
        }
        let now = self.replica.stat_remote(&self.remote)?;
        Ok(match (seen, now) {
            (None, None) => true,
            (Some(seen), Some(now)) => now.looks_like(seen.view()),
            _ => false,
        })
    }

    fn land(&mut self, temp: &str) -> io::Result<Entry> {
        let pending = self.replica.pending_versions.lock().remove(&self.rel);
        if !self.target_unchanged()? {
            return Err(io::Error::other(
                "it changed on the remote during the upload; it was left for the next run",
            ));
        }
        if let Some(stamp) = pending
            && matches!(&*self.seen.borrow(), Some((Some(_), _)))
        {
            let rel = std::str::from_utf8(&self.rel).expect("checked at stage");
            self.replica.move_to_versions(&self.remote, rel, &stamp)?;
        }
        self.replica.move_file(temp, &self.remote)?;
        // Some servers show a size of 0 for a moment after a write.
        let size = self.file.metadata()?.len();
        let mut tries = 0;
        loop {
            match self.replica.stat_remote(&self.remote)? {
                Some(entry) if entry.kind == Kind::File && entry.size == size => return Ok(entry),
                Some(_) if tries < 20 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                _ => {
                    return Err(io::Error::other(
                        "the upload did not land whole (the remote shows another size)",
                    ));
                }
            }
        }
    }
}

impl StagedFile for RemoteStaged<'_> {
    fn at_path_now(&self) -> io::Result<Option<Entry>> {
        let now = self.replica.stat_remote(&self.remote)?;
        *self.seen.borrow_mut() = Some((now.clone(), Instant::now()));
        Ok(now)
    }

    fn skip_zeros(&mut self, len: u64) -> io::Result<()> {
        self.file.seek(SeekFrom::Current(len as i64))?;
        self.hole_at_end = true;
        Ok(())
    }

    fn commit(mut self: Box<Self>, mtime: Mtime, _exec: bool) -> io::Result<Entry> {
        if self.hole_at_end {
            let end = self.file.stream_position()?;
            self.file.set_len(end)?;
        }
        // Not synced to disk: rclone reads it back through the page cache, and a crash
        // loses only a temp file the next run does not look for.
        // rclone carries the mtime over where the remote keeps one.
        filetime::set_file_handle_times(
            &self.file,
            None,
            Some(filetime::FileTime::from_unix_time(mtime.secs, mtime.nanos)),
        )?;
        let temp = self.replica.temp_beside(&self.rel)?;
        let shown = String::from_utf8_lossy(&self.rel).into_owned();
        let size = self.file.metadata()?.len();
        let landed = self
            .replica
            .upload(&self.local_name, size, &temp, &shown)
            .and_then(|()| self.land(&temp));
        if landed.is_err() {
            let _ = self.replica.delete_file(&temp);
        }
        landed
    }
}

impl Drop for RemoteStaged<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(self.replica.staging.join(&self.local_name));
        self.replica.staged.lock().remove(&self.rel);
        self.replica.pending_versions.lock().remove(&self.rel);
    }
}

/// Whether an rc failure left nothing done and may be tried again (see
/// [`again`]).
fn is_transient(message: &str, uploading: bool) -> bool {
    let message = message.to_ascii_lowercase();
    message.contains("423 locked")
        || (uploading && message.contains("corrupted on transfer: sizes differ"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_servers_and_short_read_backs_are_tried_again() {
        let cases = [
            ("copy mkParentDir failed: Locked: 423 Locked", false, true),
            ("Update mkParentDir failed: Locked: 423 Locked", true, true),
            (
                "corrupted on transfer: sizes differ src(Local file system at /s) 6504 vs dst(webdav root '') 0",
                true,
                true,
            ),
            (
                "corrupted on transfer: sizes differ src 6504 vs dst 0",
                false,
                false,
            ),
            (
                "couldn't list files: Unauthorized: 401 Unauthorized",
                false,
                false,
            ),
            ("object not found", true, false),
        ];
        for (message, uploading, transient) in cases {
            assert_eq!(is_transient(message, uploading), transient, "{message}");
        }
    }

    #[test]
    fn a_version_place_in_flight_keeps_others_off_it_and_off_its_folders() {
        let mut places = PlacesInFlight::default();
        assert!(places.take("s/a/b/c"));
        // The place itself, a folder above it, a place below it: in the way.
        for place in ["s/a/b/c", "s/a/b", "s/a", "s/a/b/c/d", "s/a/b/c/d/e"] {
            assert!(!places.take(place), "{place}");
        }
        // Beside it, a numbered name, another stamp folder: taken side by side.
        for place in ["s/a/b/d", "s/a/b/c.1", "s/a/bb", "s/b", "s-1/a/b/c"] {
            assert!(places.take(place), "{place}");
        }
        // A folder stays in the way until the last place below it is released.
        places.release("s/a/b/c");
        assert!(!places.take("s/a/b"), "s/a/b/d and s/a/b/c.1 are below it");
        places.release("s/a/b/d");
        places.release("s/a/b/c.1");
        assert!(!places.take("s/a"), "s/a/bb is below it");
        places.release("s/a/bb");
        assert!(places.take("s/a"));
        // Below a file in flight: every name is in the way.
        assert!(!places.take("s/a/x"));
        places.release("s/a");
        assert!(places.take("s/a/x"));
        // Releasing what is not in flight changes nothing.
        places.release("s/zzz");
        assert!(!places.take("s/a/x"));
        assert_eq!(folders_above("a/b/c").collect::<Vec<_>>(), ["a/b", "a"]);
        assert_eq!(folders_above("a").count(), 0);
    }

    #[test]
    fn paths_join_below_a_folder_the_home_or_the_servers_root() {
        let cases = [
            ("Documents/Sync/", "a/b", "Documents/Sync/a/b"),
            ("", "a", "a"),
            ("/srv/x", "a", "/srv/x/a"),
            ("/", "a", "/a"),
            ("//", "a", "/a"),
            ("/srv/x/", "", "/srv/x"),
            ("/", "", "/"),
        ];
        for (root, rel, joined) in cases {
            assert_eq!(join_to(trimmed_root(root), rel), joined, "{root} + {rel}");
        }
    }

    #[test]
    fn a_stop_while_a_remote_file_is_read_drops_no_bytes_and_ends_the_reading() {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        for stop_at_check in 1..5 {
            let mut body = Watched::new(io::Cursor::new(data.clone()), data.len() as u64);
            let mut checks = 0;
            let mut read = Vec::new();
            let mut buf = [0u8; 4096];
            // As the copy loop reads: `Interrupted` is tried again.
            let ended = loop {
                // Every read is due for a report.
                body.last_report = Instant::now() - REPORT_EVERY;
                let go_on = |_| {
                    checks += 1;
                    checks < stop_at_check
                };
                match body.read(&mut buf, go_on) {
                    Ok(0) => break Ok(()),
                    Ok(n) => read.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => break Err(e),
                }
            };
            assert!(ended.is_err(), "the stop ended the reading");
            assert_eq!(read, data[..read.len()], "nothing was dropped");
            assert_eq!(read.len(), 4096 * (stop_at_check - 1));
        }
    }

    #[test]
    fn version_names_number_after_the_first() {
        assert_eq!(
            version_name("2026-12-02 101500", "d/f.txt", 0),
            "2026-12-02 101500/d/f.txt"
        );
        assert_eq!(
            version_name("2026-12-02 101500-1", "f", 2),
            "2026-12-02 101500-1/f.2"
        );
    }

    #[test]
    fn rclone_partial_suffixes_of_temp_names_are_seen_through() {
        let temp = ".synccenter-tmp-12-0123456789abcdef-3";
        assert_eq!(strip_partial(&format!("{temp}.1a2b3c4d.partial")), temp);
        assert_eq!(strip_partial(temp), temp);
        assert_eq!(strip_partial("notes.partial"), "notes.partial");
        assert_eq!(strip_partial("a.xyz12345.partial"), "a.xyz12345.partial");
    }

    #[test]
    fn remote_mtimes_are_read_with_their_nanoseconds() {
        assert_eq!(
            parse_mtime("2020-01-02T03:04:05Z"),
            Mtime::new(1_577_934_245, 0)
        );
        assert_eq!(
            parse_mtime("2026-11-30T23:10:58.123456789Z"),
            Mtime::new(1_796_080_258, 123_456_789)
        );
        assert_eq!(parse_mtime(""), Mtime::default());
    }
}
