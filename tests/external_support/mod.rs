//! What the external-handler tests share: a center with an engine over real handler
//! programs, manifests written on the fly, and a look at this process's children.
#![allow(dead_code)] // each test file uses its own part of this module

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synccenter::core::board::ItemSnapshot;
use synccenter::core::dialog::{DialogRequest, FormReply};
use synccenter::core::engine::{Engine, EngineConfig, SessionHandle, SessionRequest};
use synccenter::core::events::Event;
use synccenter::core::handler::{HandlerProvider, Registry};
use synccenter::core::model::{ItemKey, RunReason};
use synccenter::core::store::{Home, SessionRecord, Store};
use synccenter::handlers::external::host::ExternalProvider;
use synccenter::handlers::external::manifest::Manifest;

/// The Rust SDK example, which `cargo test` builds next to the test binaries (and which is
/// built here when only some test targets were asked for).
pub fn rust_handler() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().expect("the test binary's path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let path = target.join("examples").join("rust_handler");
    BUILT.call_once(|| {
        if !path.exists() {
            let status = std::process::Command::new(env!("CARGO"))
                .args(["build", "--example", "rust_handler"])
                .current_dir(env!("CARGO_MANIFEST_DIR"))
                .status()
                .expect("run cargo");
            assert!(status.success(), "cannot build the rust_handler example");
        }
    });
    path
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/external_fixtures")
        .join(name)
}

pub fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(path)
}

/// Writes `<dir>/handlers/<stem>.toml` and makes its provider.
pub fn provider(dir: &Path, stem: &str, toml: &str) -> Arc<dyn HandlerProvider> {
    let folder = dir.join("handlers");
    std::fs::create_dir_all(&folder).unwrap();
    let path = folder.join(format!("{stem}.toml"));
    std::fs::write(&path, toml).unwrap();
    ExternalProvider::new(Manifest::load(&path).unwrap())
}

/// A manifest for the Rust SDK example with these arguments.
pub fn rust_manifest(name: &str, args: &[&str], extra: &str) -> String {
    format!(
        "name = {name:?}\nprogram = {:?}\nargs = {args:?}\n{extra}",
        rust_handler().to_string_lossy()
    )
}

/// A center over these handlers. Dialogs are answered by `answer` on a thread of its own.
pub struct Center {
    pub engine: Engine,
    pub dir: tempfile::TempDir,
}

pub fn center(
    dir: tempfile::TempDir,
    providers: Vec<Arc<dyn HandlerProvider>>,
    answer: impl Fn(&DialogRequest) -> FormReply + Send + 'static,
) -> Center {
    center_with_stop(dir, providers, answer, Duration::from_secs(2))
}

/// A center whose own stop timeout (for handlers without a manifest's) is `stop_timeout`.
pub fn center_with_stop(
    dir: tempfile::TempDir,
    providers: Vec<Arc<dyn HandlerProvider>>,
    answer: impl Fn(&DialogRequest) -> FormReply + Send + 'static,
    stop_timeout: Duration,
) -> Center {
    let mut registry = Registry::new();
    for provider in providers {
        registry.add(provider);
    }
    let (store, _) = Store::open(Home::under(&dir.path().join("home")));
    let config = EngineConfig {
        stop_timeout,
        ..Default::default()
    };
    let (engine, events) = Engine::new(registry, store, config);
    std::thread::spawn(move || {
        for event in events {
            if let Event::Dialog(request) = event {
                let reply = answer(&request);
                request.answer(reply);
            }
        }
    });
    Center { engine, dir }
}

pub fn never_answer(_: &DialogRequest) -> FormReply {
    FormReply::Canceled
}

impl Center {
    pub fn start(&self, items: &[(&str, &str)]) -> SessionHandle {
        self.engine
            .start(SessionRequest {
                reason: RunReason::Manual,
                may_bother_user: true,
                items: items.iter().map(|(h, i)| ItemKey::new(*h, *i)).collect(),
            })
            .expect("the session starts")
    }

    pub fn sync(&self, items: &[(&str, &str)]) -> SessionRecord {
        self.start(items)
            .wait(Duration::from_secs(60))
            .expect("the session ends")
    }

    pub fn snapshot(&self, handler: &str, item: &str) -> Option<ItemSnapshot> {
        self.engine.board().snapshot(&ItemKey::new(handler, item))
    }

    /// Waits until an item's live state satisfies `test`.
    pub fn wait_for(&self, handler: &str, item: &str, test: impl Fn(&ItemSnapshot) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.snapshot(handler, item).is_some_and(|s| test(&s)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "{handler}/{item} never got there: {:?}",
            self.snapshot(handler, item)
        );
    }
}

/// The status and text of an item in a record.
pub fn outcome(record: &SessionRecord, handler: &str, item: &str) -> (String, String) {
    let result = record
        .items
        .iter()
        .find(|r| r.key == ItemKey::new(handler, item))
        .unwrap_or_else(|| panic!("{handler}/{item} is not in the record"));
    (format!("{:?}", result.status), result.text.clone())
}

pub fn log_text(record: &SessionRecord) -> String {
    record
        .log
        .iter()
        .map(|e| format!("[{}] {}", e.level, e.text))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A manifest for `paced.py` with these arguments and extra TOML.
pub fn paced_manifest(args: &[&str], extra: &str) -> String {
    format!(
        "name = \"Paced\"\nprogram = {:?}\nargs = {args:?}\n{extra}",
        fixture("paced.py").to_string_lossy()
    )
}

/// A manifest for `misbehave.py` (the fault-isolation handler) with these arguments and
/// extra TOML.
pub fn misbehave_manifest(name: &str, args: &[&str], extra: &str) -> String {
    format!(
        "name = {name:?}\nprogram = {:?}\nargs = {args:?}\n{extra}",
        fixture("misbehave.py").to_string_lossy()
    )
}

/// Threads of this process whose name starts with `prefix` (names are cut at 15 bytes).
pub fn threads_named(prefix: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .filter(|task| {
            std::fs::read_to_string(task.path().join("comm"))
                .is_ok_and(|name| name.starts_with(prefix))
        })
        .count()
}

/// This process's children as (pid, state letter), from /proc.
pub fn children() -> Vec<(u32, char)> {
    let me = std::process::id();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut fields = rest.split(' ');
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if ppid == me {
            found.push((pid, state));
        }
    }
    found
}

/// Waits briefly for every child of this process to be gone (handlers are reaped when
/// their session ends).
pub fn assert_no_children() {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = children();
        if left.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            panic!("children left behind (pid, state): {left:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn process_exists(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat
            .rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Tests of one binary run one at a time, so that the children they count are their own.
pub fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The real `synccenter` binary over `home`, with nothing from the environment choosing
/// another home or the demo handler.
pub fn synccenter(home: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_synccenter"));
    command
        .arg("--home")
        .arg(home)
        .env_remove("SYNCCENTER_DEMO")
        .env_remove("SYNCCENTER_HOME")
        .stdin(std::process::Stdio::null());
    command
}

/// The newest run as `synccenter results --json` reports it, if there is one.
pub fn last_run(home: &Path) -> Option<serde_json::Value> {
    let output = synccenter(home)
        .args(["results", "--json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let runs: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    runs.get(0).cloned()
}

/// The status and text of an item in a run of `results --json`.
pub fn status_of(run: &serde_json::Value, handler: &str, item: &str) -> (String, String) {
    let found = run["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["key"]["handler"] == handler && i["key"]["item"] == item)
        .unwrap_or_else(|| panic!("{handler}/{item} is not in the record: {run}"));
    (
        found["status"].as_str().unwrap().to_string(),
        found["text"].as_str().unwrap().to_string(),
    )
}

/// The variable that marks a center started by a test, and every process started under it
/// (handlers and their own children inherit it).
pub const MARK: &str = "SYNCCENTER_TEST_MARK";

/// Processes other than `except` whose environment carries `MARK=mark`.
pub fn marked_processes(mark: &str, except: Option<u32>) -> Vec<u32> {
    let wanted = format!("{MARK}={mark}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_string_lossy().parse::<u32>().ok())
        .filter(|&pid| Some(pid) != except && process_exists(pid))
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|var| var == wanted.as_bytes()))
        })
        .collect()
}

/// Waits for every process started under the mark (but `except`) to be gone.
pub fn assert_no_marked_processes(mark: &str, except: Option<u32>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = marked_processes(mark, except);
        if left.is_empty() {
            return;
        }
        let described: Vec<String> = left
            .iter()
            .map(|pid| {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                format!(
                    "{pid}: {}",
                    String::from_utf8_lossy(&cmdline).replace('\0', " ")
                )
            })
            .collect();
        assert!(
            Instant::now() < deadline,
            "processes left behind: {described:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
