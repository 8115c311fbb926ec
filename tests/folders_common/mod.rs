//! Shared helpers for the folder pairs tests: a center in a temp folder with one pair, and
//! small file helpers. Runs that may not show dialogs, the conflict list and resolutions go
//! through the real `synccenter` binary (`sync --no-prompt`, `conflicts --json`, `conflicts
//! resolve`); runs that answer dialogs and properties go through the core engine in-process.
#![allow(dead_code)]

use crossbeam_channel::Receiver;
use parking_lot::Mutex;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use synccenter::core::activity::Activity;
use synccenter::core::conflicts::{ConflictRecord, ConflictReport, Resolution};
use synccenter::core::dialog::{Form, FormReply};
use synccenter::core::engine::{Engine, EngineConfig, SessionRequest};
use synccenter::core::events::Event;
use synccenter::core::handler::Registry;
use synccenter::core::model::{HandlerId, ItemKey, PropertiesTarget, RunReason};
use synccenter::core::status::ItemStatus;
use synccenter::core::store::{Home, Store};
use synccenter::handlers::folders::sync::{DeletionAnswer, MassDelete, Observer, RootChange};
use synccenter::handlers::folders::{self, config::Mode, config::PairConfig};

pub const PAIR: &str = "p";

type Responder = Box<dyn FnMut(&Form) -> FormReply + Send>;

/// A center with one folder pair `p` between `left` and `right`.
pub struct Center {
    pub dir: tempfile::TempDir,
    pub home: Home,
    pub left: PathBuf,
    pub right: PathBuf,
    pub engine: Engine,
    responder: Arc<Mutex<Option<Responder>>>,
    pub forms: Arc<Mutex<Vec<Form>>>,
    properties_closed: Receiver<()>,
}

/// How one sync of the pair ended.
#[derive(Debug)]
pub struct Ran {
    pub status: ItemStatus,
    pub text: String,
    pub log: Vec<String>,
}

impl Center {
    pub fn new(mode: Mode) -> Center {
        Self::with_excludes(mode, &[])
    }

    pub fn with_excludes(mode: Mode, excludes: &[&str]) -> Center {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(&dir.path().join("home"));
        home.create_dirs().unwrap();
        let (left, right) = (dir.path().join("left"), dir.path().join("right"));
        std::fs::create_dir_all(&left).unwrap();
        std::fs::create_dir_all(&right).unwrap();
        folders::config::add(
            &home,
            PairConfig {
                excludes: excludes.iter().map(|s| s.to_string()).collect(),
                ..PairConfig::new(PAIR, left.clone(), right.clone(), mode)
            },
        )
        .unwrap();
        let (engine, events) = Engine::new(
            Registry::new().with(folders::provider(&home)),
            Store::open(home.clone()).0,
            EngineConfig::default(),
        );
        let responder: Arc<Mutex<Option<Responder>>> = Arc::new(Mutex::new(None));
        let forms = Arc::new(Mutex::new(Vec::new()));
        let (closed_tx, properties_closed) = crossbeam_channel::unbounded();
        {
            let (responder, forms) = (responder.clone(), forms.clone());
            std::thread::spawn(move || {
                for event in events {
                    match event {
                        Event::Dialog(request) => {
                            forms.lock().push(request.form.clone());
                            let reply = match responder.lock().as_mut() {
                                Some(answer) => answer(&request.form),
                                None => FormReply::Canceled,
                            };
                            request.answer(reply);
                        }
                        Event::PropertiesClosed { .. } => {
                            let _ = closed_tx.send(());
                        }
                        _ => {}
                    }
                }
            });
        }
        Center {
            dir,
            home,
            left,
            right,
            engine,
            responder,
            forms,
            properties_closed,
        }
    }

    /// Answers every dialog from now on with `answer`.
    pub fn answer_dialogs(&self, answer: impl FnMut(&Form) -> FormReply + Send + 'static) {
        *self.responder.lock() = Some(Box::new(answer));
    }

    fn run(&self, may_bother_user: bool) -> Ran {
        let key = ItemKey::new(folders::HANDLER_ID, PAIR);
        let handle = self
            .engine
            .start(SessionRequest {
                reason: RunReason::Manual,
                may_bother_user,
                items: vec![key.clone()],
            })
            .unwrap();
        let record = handle.wait(Duration::from_secs(120)).expect("sync ended");
        let item = record.items.iter().find(|i| i.key == key).unwrap();
        Ran {
            status: item.status,
            text: item.text.clone(),
            log: record.log.iter().map(|l| l.text.clone()).collect(),
        }
    }

    /// The real binary over this center's home.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_synccenter"))
            .arg("--home")
            .arg(self.dir.path().join("home"))
            .args(args)
            .env_remove("SYNCCENTER_HOME")
            .env_remove("SYNCCENTER_DEMO")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("the synccenter binary runs")
    }

    fn cli_json(&self, args: &[&str]) -> serde_json::Value {
        let output = self.cli(args);
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON on stdout")
    }

    /// A run that may not show dialogs: `synccenter sync p --no-prompt`, its outcome read
    /// back from `synccenter results --json`, its exit code checked against that outcome.
    pub fn sync(&self) -> Ran {
        let output = self.cli(&["sync", PAIR, "--no-prompt"]);
        let code = output.status.code().expect("exited normally");
        let results = self.cli_json(&["results", "--json"]);
        let newest = &results[0];
        let item = newest["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["key"]["item"] == PAIR)
            .expect("the pair is in the newest run");
        let ran = Ran {
            status: serde_json::from_value(item["status"].clone()).unwrap(),
            text: item["text"].as_str().unwrap().to_string(),
            log: newest["log"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["text"].as_str().unwrap().to_string())
                .collect(),
        };
        let expected = match ran.status {
            ItemStatus::Failed => 2,
            ItemStatus::Succeeded if self.conflicts().is_empty() => 0,
            _ => 1,
        };
        assert_eq!(code, expected, "exit code of sync --no-prompt for {ran:?}");
        ran
    }

    /// A run from the window: dialogs are answered by [`Center::answer_dialogs`].
    pub fn sync_in_window(&self) -> Ran {
        self.run(true)
    }

    /// A sync that must succeed with no conflicts left.
    pub fn sync_ok(&self) -> Ran {
        let ran = self.sync();
        assert_eq!(ran.status, ItemStatus::Succeeded, "{ran:?}");
        assert!(self.conflicts().is_empty(), "{:?}", self.conflicts());
        ran
    }

    /// The unresolved conflicts, from `synccenter conflicts --json`.
    pub fn conflicts(&self) -> Vec<ConflictRecord> {
        let rows = self.cli_json(&["conflicts", "--json"]);
        rows.as_array()
            .unwrap()
            .iter()
            .map(|row| ConflictRecord {
                item: ItemKey::new(
                    row["handler"].as_str().unwrap(),
                    row["item"].as_str().unwrap(),
                ),
                item_name: row["item_name"].as_str().unwrap().to_string(),
                report: ConflictReport {
                    id: row["id"].as_str().unwrap().to_string(),
                    path: row["path"].as_str().unwrap().to_string(),
                    left: serde_json::from_value(row["left"].clone()).unwrap(),
                    right: serde_json::from_value(row["right"].clone()).unwrap(),
                },
                detected: std::time::SystemTime::now(),
                resolution: serde_json::from_value(row["resolution"].clone()).unwrap(),
            })
            .collect()
    }

    /// `synccenter conflicts resolve p PATH --keep left|right|both`.
    pub fn resolve(&self, path: &str, resolution: Resolution) {
        let keep = match resolution {
            Resolution::KeepLeft => "left",
            Resolution::KeepRight => "right",
            Resolution::KeepBoth => "both",
        };
        let output = self.cli(&["conflicts", "resolve", PAIR, path, "--keep", keep]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Opens a properties dialog and waits until it closes.
    pub fn properties(&self, target: PropertiesTarget) {
        self.engine
            .show_properties(&HandlerId::new(folders::HANDLER_ID), target);
        self.properties_closed
            .recv_timeout(Duration::from_secs(30))
            .expect("properties closed");
    }

    pub fn l(&self, rel: &str) -> PathBuf {
        self.left.join(rel)
    }

    pub fn r(&self, rel: &str) -> PathBuf {
        self.right.join(rel)
    }
}

/// Writes a file, creating its folders.
pub fn write(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sets a file's mtime to `secs` after the epoch.
pub fn set_mtime(path: &Path, secs: i64) {
    filetime::set_file_mtime(path, filetime::FileTime::from_unix_time(secs, 0)).unwrap();
}

pub fn mtime(path: &Path) -> i64 {
    filetime::FileTime::from_last_modification_time(&std::fs::symlink_metadata(path).unwrap())
        .unix_seconds()
}

/// Every entry under `root` except the center's own folder: relative path → description
/// ("dir", "file:<contents>", "link:<target>").
pub fn tree(root: &Path) -> std::collections::BTreeMap<Vec<u8>, String> {
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<Vec<u8>, String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if dir == root && entry.file_name().as_bytes() == b".synccenter" {
            continue;
        }
        let path = entry.path();
        let rel = path
            .strip_prefix(root)
            .unwrap()
            .as_os_str()
            .as_bytes()
            .to_vec();
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            out.insert(rel, format!("link:{}", target.display()));
        } else if kind.is_dir() {
            out.insert(rel, "dir".into());
            walk(root, &path, out);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.insert(rel, format!("file:{}", String::from_utf8_lossy(&bytes)));
        }
    }
}

/// Contents of every file kept as a version under `root/.synccenter/versions`.
pub fn versions(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let dir = root.join(".synccenter/versions");
    if dir.exists() {
        collect_files(&dir, &mut out);
    }
    out
}

fn collect_files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            collect_files(&entry.path(), out);
        } else if kind.is_file() {
            out.push(String::from_utf8_lossy(&std::fs::read(entry.path()).unwrap()).into_owned());
        }
    }
}

/// Asserts both sides hold the same entries.
pub fn assert_same(center: &Center) {
    let (left, right) = (tree(&center.left), tree(&center.right));
    assert_eq!(left, right, "left and right differ");
}

/// A small seeded generator (splitmix64): randomized tests replay exactly from their seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// An observer of an in-process sync that says yes to everything but a changed root.
pub struct Quiet;

impl Observer for Quiet {
    fn scanning(&mut self, _: u64) -> bool {
        true
    }
    fn batch_started(&mut self, _: u64, _: u64) -> bool {
        true
    }
    fn planned(&mut self, _: u64, _: u64, _: bool) {}
    fn applied(&mut self, _: u64, _: Option<Activity>) -> bool {
        true
    }
    fn conflict_found(&mut self) -> bool {
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
