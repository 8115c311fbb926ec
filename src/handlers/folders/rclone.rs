//! rclone as the transport of remote folder pairs: the program (found on PATH or at the path
//! in `folders.toml`), one `rclone rcd` per session bound to 127.0.0.1 on a free port, and its
//! remote-control calls over HTTP.
//!
//! The rc user and password are random, made per start and passed in rcd's environment,
//! never on its command line (`/proc/PID/cmdline` is readable by every local user). Remotes
//! Sync Center sets up itself are defined in the same environment (`RCLONE_CONFIG_<NAME>_*`,
//! the password obscured), so nothing of them is ever written to a file. rcd runs in its own
//! process group, dies with the center, and is killed and reaped when the session ends.
//!
//! Calls block the calling worker thread (never the UI thread). Transfers run as `_async`
//! jobs in a stats group per item, polled for their bytes and stopped with `job/stop`.

use crate::process::{kill_and_reap, kill_and_reap_later, spawn_named, spawn_tied};
use parking_lot::Mutex;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long rcd may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Lines of rcd's stderr kept for messages.
const STDERR_LINES: usize = 20;
/// How long a job may move no byte before the server is asked whether it is still there
/// (see [`Rcd::call_job`]). A server that is there but slow (assembling a large upload) just
/// answers.
const STALLED: Duration = Duration::from_secs(5);
/// Retries and timeouts set in rcd's environment (unless the user set them): a dead server
/// fails within seconds instead of rclone's minutes of retries (transfers retry more, below).
const NETWORK_DEFAULTS: [(&str, &str); 3] = [
    (LOW_LEVEL_RETRIES, "2"),
    ("RCLONE_CONTIMEOUT", "15s"),
    ("RCLONE_TIMEOUT", "60s"),
];
const LOW_LEVEL_RETRIES: &str = "RCLONE_LOW_LEVEL_RETRIES";
/// Low-level retries of a transfer job (unless the user set theirs). A transfer runs once the
/// server has answered, and a WebDAV server answers `423 Locked` while another upload in
/// flight makes the same folder: with 2, a first sync of 10,000 files to `rclone serve
/// webdav` failed 2 runs in 3 and the job was run again whole (listing both sides once more,
/// about a second); with 4 or 10 none failed. Not rclone's 10: a file's copy retries, and
/// each try's calls retry again behind a pacer that backs off toward 2 s, so 5 already rides
/// out a folder locked for seconds, while a server that dies mid-run fails each transfer in
/// 5 × 5 tries instead of 10 × 10.
const TRANSFER_LOW_LEVEL_RETRIES: u64 = 5;
/// Go's garbage collector in rcd (unless the user set these). A no-change re-sync of 10,000
/// files on loopback WebDAV is bound by CPU (server, rcd and center keep both cores busy), and
/// rcd's collector is much of rcd's: collecting at five times the live heap instead of twice
/// took it from 366 to 353 ms (mean of 25 runs
/// each, in turn on one server; three times: 358 ms). The soft limit bounds what that costs
/// in memory: a first sync of those files took rcd's heap and stacks to about 60 MiB with no
/// limit below 64 MiB (45–53 MiB at twice); at 56 MiB the re-sync was as fast (355 ms), and a
/// long run collects more often rather than grow past it. (A lower limit with the collector
/// off otherwise was as fast at 32 MiB but collected all the time at 24 MiB: too close to
/// what rcd needs to be safe.)
const GO_DEFAULTS: [(&str, &str); 2] = [("GOGC", "400"), ("GOMEMLIMIT", "56MiB")];

/// Whether an environment variable sets rclone's logging (`--log-file`, `--log-level`,
/// `-v`, `-q`, JSON or syslog output) or its remote control (`--rc-*`, but for the
/// credentials the center sets itself).
fn is_users_setting_for_rcd(key: &str) -> bool {
    key.starts_with("RCLONE_LOG_")
        || (key.starts_with("RCLONE_RC_") && !matches!(key, "RCLONE_RC_USER" | "RCLONE_RC_PASS"))
        || matches!(
            key,
            "RCLONE_VERBOSE"
                | "RCLONE_QUIET"
                | "RCLONE_USE_JSON_LOG"
                | "RCLONE_SYSLOG"
                | "RCLONE_SYSLOG_FACILITY"
        )
}

/// What went wrong with rclone, in words for the user.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RcloneError {
    #[error(
        "rclone is not installed ({looked}). Install it (Debian and Ubuntu: sudo apt install rclone; or see https://rclone.org/install/), or set its path with rclone = \"/path/to/rclone\" at the top of {settings}. Local folder pairs are not affected."
    )]
    Missing { looked: String, settings: String },
    #[error("rclone ({program}) could not be started: {reason}")]
    Start { program: String, reason: String },
    #[error("{0}")]
    Call(RcFailure),
}

/// What kind of failure an rc call had, read from rclone's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Wrong or missing password, expired login.
    Logon,
    /// The server cannot be reached.
    Unreachable,
    /// SSH host key unknown or changed.
    HostKey,
    /// The file or folder is not there.
    NotFound,
    /// The transfer was stopped on purpose.
    Stopped,
    Other,
}

/// A failed rc call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RcFailure {
    pub status: u16,
    /// rclone's message.
    pub message: String,
}

impl RcloneError {
    /// Whether the server is gone for this run: it cannot be reached, or no longer takes
    /// the logon.
    pub fn is_lost(&self) -> bool {
        matches!(self, RcloneError::Call(f) if matches!(f.kind(), FailureKind::Unreachable | FailureKind::Logon))
    }
}

impl RcFailure {
    pub fn kind(&self) -> FailureKind {
        classify(self.status, &self.message)
    }
}

/// Reads rclone's error words (the same in 1.60 and 1.75).
pub fn classify(status: u16, message: &str) -> FailureKind {
    let text = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| text.contains(w));
    if has(&["context canceled"]) {
        FailureKind::Stopped
    } else if has(&["knownhosts:", "host key", "known_hosts"]) {
        FailureKind::HostKey
    } else if has(&[
        // (Not a bare "401": a port such as 127.0.0.1:40125 holds it.)
        "unauthorized",
        "unable to authenticate",
        "403 forbidden",
        "ssh agent requested",
        "couldn't decrypt password",
    ]) {
        FailureKind::Logon
    } else if has(&[
        "connection refused",
        "no such host",
        // (Not a bare "timeout": a file or folder may be named so.)
        "i/o timeout",
        "handshake timeout",
        "timeout awaiting",
        "timeout exceeded",
        "deadline exceeded",
        "network is unreachable",
        "no route to host",
        "connection reset",
        "unexpected eof",
    ]) {
        FailureKind::Unreachable
    } else if status == 404 || has(&["not found", "doesn't exist", "does not exist"]) {
        FailureKind::NotFound
    } else {
        FailureKind::Other
    }
}

impl std::fmt::Display for RcFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let detail = self.message.trim();
        match self.kind() {
            FailureKind::Logon => write!(
                f,
                "the server did not accept the logon (user name or password), or the login expired ({detail})"
            ),
            FailureKind::Unreachable => write!(f, "cannot reach the server ({detail})"),
            FailureKind::HostKey if detail.contains("key mismatch") => write!(
                f,
                "the server's SSH host key has changed since you trusted it ({detail}): someone may be intercepting the connection, or the server was reinstalled. Nothing was sent to it. If you know it was reinstalled, remove the old key with `ssh-keygen -R NAME` (`ssh-keygen -R \"[NAME]:PORT\"` for a port other than 22) and connect once with ssh to trust the new one"
            ),
            FailureKind::HostKey => write!(
                f,
                "the server's SSH host key is not trusted ({detail}). Connect once with ssh to check and trust it (it is then in ~/.ssh/known_hosts)"
            ),
            FailureKind::Stopped => write!(f, "stopped"),
            _ => f.write_str(detail),
        }
    }
}

impl From<RcloneError> for io::Error {
    fn from(e: RcloneError) -> io::Error {
        let kind = match &e {
            RcloneError::Missing { .. } => io::ErrorKind::NotFound,
            RcloneError::Start { .. } => io::ErrorKind::Other,
            RcloneError::Call(failure) => match failure.kind() {
                FailureKind::Logon | FailureKind::HostKey => io::ErrorKind::PermissionDenied,
                FailureKind::Unreachable => io::ErrorKind::NotConnected,
                FailureKind::NotFound => io::ErrorKind::NotFound,
                FailureKind::Stopped => io::ErrorKind::Interrupted,
                FailureKind::Other => io::ErrorKind::Other,
            },
        };
        io::Error::new(kind, e.to_string())
    }
}

/// The rclone program to run: the one set in the settings, else `rclone` on PATH.
pub fn find_program(setting: Option<&Path>, settings_file: &Path) -> Result<PathBuf, RcloneError> {
    let missing = |looked: String| RcloneError::Missing {
        looked,
        settings: settings_file.display().to_string(),
    };
    if let Some(path) = setting {
        return if is_executable(path) {
            Ok(path.to_path_buf())
        } else {
            Err(missing(format!("{} is not a program", path.display())))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("rclone"))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| missing("it is not on PATH".into()))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// rclone's key for obscuring, published in its source: obscuring only keeps a password
/// from being read at a glance.
const OBSCURE_KEY: [u8; 32] = [
    0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b,
    0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a, 0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38,
];

/// Obscures a password the way rclone's config and environment take it, as `rclone obscure`
/// does (in process: starting rclone for it took 40 ms of every logon): AES-256 in counter
/// mode under rclone's key from a random IV, the IV and the result in URL-safe base64 without
/// padding.
pub fn obscure(password: &str) -> String {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    let mut iv = [0u8; 16];
    // SAFETY: the buffer is valid for its length.
    let got = unsafe { libc::getrandom(iv.as_mut_ptr().cast(), iv.len(), 0) };
    assert_eq!(got, iv.len() as isize, "the kernel gives random bytes");
    let cipher = aes::Aes256::new(&OBSCURE_KEY.into());
    let mut obscured = iv.to_vec();
    // Go's counter mode: the IV counts up as one big-endian number.
    let mut counter = u128::from_be_bytes(iv);
    for chunk in password.as_bytes().chunks(16) {
        let mut keystream = aes::Block::from(counter.to_be_bytes());
        cipher.encrypt_block(&mut keystream);
        obscured.extend(
            chunk
                .iter()
                .zip(keystream.iter())
                .map(|(byte, key)| byte ^ key),
        );
        counter = counter.wrapping_add(1);
    }
    base64_url(&obscured)
}

/// Lists the remotes in the user's rclone configuration (`rclone listremotes`).
pub fn list_remotes(program: &Path) -> Result<Vec<String>, RcloneError> {
    let mut command = Command::new(program);
    command
        .args(["listremotes", "--ask-password=false"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start_error = |reason: String| RcloneError::Start {
        program: program.display().to_string(),
        reason,
    };
    let child = spawn_tied(command).map_err(|e| start_error(e.to_string()))?;
    let out = child
        .wait_with_output()
        .map_err(|e| start_error(e.to_string()))?;
    if !out.status.success() {
        return Err(start_error(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.trim().strip_suffix(':'))
        .map(String::from)
        .collect())
}

/// A remote defined in rcd's environment: its name and its options (`TYPE`, `URL`, `PASS`
/// obscured, …).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EnvRemote {
    pub name: String,
    pub options: Vec<(&'static str, String)>,
}

/// How to start rcd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RcdOptions {
    pub program: PathBuf,
    pub remotes: Vec<EnvRemote>,
    /// Whether rcd reads the user's rclone configuration (a pair uses one of its remotes);
    /// otherwise its configuration is in memory only.
    pub user_config: bool,
}

/// A running `rclone rcd`.
pub struct Rcd {
    options: RcdOptions,
    child: Mutex<Option<Child>>,
    base: String,
    authorization: String,
    agent: ureq::Agent,
    /// rc methods of this rclone (`rc/list`), asked for when first needed.
    methods: OnceLock<HashSet<String>>,
    stderr: Arc<Mutex<VecDeque<String>>>,
}

impl Drop for Rcd {
    fn drop(&mut self) {
        if let Some(child) = self.child.lock().take() {
            kill_and_reap_later(child);
        }
    }
}

/// A transfer's bytes so far, for progress.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bytes {
    pub done: u64,
    pub total: u64,
    /// Files a job of many has moved whole so far.
    pub files: u64,
}

impl Rcd {
    /// Starts rcd and waits until it answers.
    pub fn start(options: RcdOptions) -> Result<Rcd, RcloneError> {
        let program = options.program.display().to_string();
        let start_error = |reason: String| RcloneError::Start {
            program: program.clone(),
            reason,
        };
        let (user, pass) = (random_hex(16), random_hex(32));
        let mut command = Command::new(&options.program);
        command.args([
            "rcd",
            "--rc-addr",
            "127.0.0.1:0",
            // Files are read with GET /[remote:]/path (streamed, no temp copy).
            "--rc-serve",
            // Every call is a job rcd keeps until it expires: a 10,000-file first sync (about
            // 40,000 calls) took rcd from 66 to 234 MB with a day's expiry. Async jobs are
            // polled every 50 ms at most, so ten seconds is plenty.
            "--rc-job-expire-duration",
            "10s",
            "--rc-job-expire-interval",
            "2s",
            "--ask-password=false",
        ]);
        if !options.user_config {
            command.args(["--config", "/dev/null"]);
        }
        command
            .env("RCLONE_RC_USER", &user)
            .env("RCLONE_RC_PASS", &pass)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in NETWORK_DEFAULTS.into_iter().chain(GO_DEFAULTS) {
            if std::env::var_os(key).is_none() {
                command.env(key, value);
            }
        }
        // rcd is the center's own: the user's rclone logging and remote control settings are
        // not for it. A log file or a quiet level took away the stderr line that says where
        // rcd listens (it did not start), debug output spelled out the credentials it was
        // given, and `RCLONE_RC_NO_AUTH` would open it to every local program.
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(is_users_setting_for_rcd) {
                command.env_remove(key);
            }
        }
        for remote in &options.remotes {
            let prefix = format!("RCLONE_CONFIG_{}_", remote.name.to_ascii_uppercase());
            for (key, value) in &remote.options {
                command.env(format!("{prefix}{key}"), value);
            }
        }
        let mut child = spawn_tied(command).map_err(|e| start_error(e.to_string()))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let (found_tx, found) = crossbeam_channel::bounded::<String>(1);
        let lines = Arc::new(Mutex::new(VecDeque::new()));
        let kept = lines.clone();
        let secrets = [user.clone(), pass.clone()];
        spawn_named("rclone-stderr".into(), move || {
            let mut found_tx = Some(found_tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(mut line) = line else { break };
                // What rcd says may reach the user's eyes and the history; its credentials
                // never do.
                for secret in &secrets {
                    line = line.replace(secret.as_str(), "(hidden)");
                }
                if let Some(rest) = line.split("Serving remote control on ").nth(1)
                    && let Some(tx) = found_tx.take()
                {
                    let _ = tx.send(rest.trim().trim_end_matches('/').to_string());
                }
                let mut kept = kept.lock();
                if kept.len() == STDERR_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        let base = match found.recv_timeout(START_TIMEOUT) {
            Ok(base) => base,
            Err(_) => {
                kill_and_reap(&mut child);
                let said = lines.lock().iter().cloned().collect::<Vec<_>>().join(" / ");
                return Err(start_error(if said.is_empty() {
                    "it did not start listening".into()
                } else {
                    said
                }));
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections_per_host(16)
            .build()
            .into();
        let rcd = Rcd {
            options,
            child: Mutex::new(Some(child)),
            base,
            authorization: format!("Basic {}", base64(format!("{user}:{pass}").as_bytes())),
            agent,
            methods: OnceLock::new(),
            stderr: lines,
        };
        // Checks the credentials (not `core/version`, which runs `lsb_release` and a dozen
        // more processes for its OS figures: 40 ms of every run's start).
        rcd.call("rc/noopauth", json!({}))?;
        Ok(rcd)
    }

    /// The options it was started with.
    pub fn options(&self) -> &RcdOptions {
        &self.options
    }

    /// Whether this rclone has an rc method (feature detection; false when rcd cannot say).
    pub fn has(&self, method: &str) -> bool {
        self.methods
            .get_or_init(|| {
                let listed = self.call("rc/list", json!({})).unwrap_or(Value::Null);
                listed["commands"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["Path"].as_str().map(String::from))
                    .collect()
            })
            .contains(method)
    }

    /// The last lines rcd wrote to stderr.
    pub fn last_words(&self) -> String {
        self.stderr
            .lock()
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// One call, waited for.
    pub fn call(&self, method: &str, input: Value) -> Result<Value, RcloneError> {
        self.call_as(method, input)
    }

    /// One call, its answer read as a `T` straight from the reply (a listing's entries
    /// without a JSON tree in between).
    pub fn call_as<T: DeserializeOwned>(
        &self,
        method: &str,
        input: Value,
    ) -> Result<T, RcloneError> {
        let body = serde_json::to_vec(&input).expect("JSON of JSON");
        let response = self
            .agent
            .post(format!("{}/{method}", self.base))
            .header("Authorization", &self.authorization)
            .header("Content-Type", "application/json")
            .send(&body[..])
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        // Read whole, then parsed: serde_json reads a slice several times faster than a
        // reader, and a listing's reply is tens of kilobytes.
        let mut reply = Vec::new();
        response
            .into_body()
            .into_reader()
            .read_to_end(&mut reply)
            .map_err(|e| self.transport_error(ureq::Error::Io(e)))?;
        if status == 200 {
            return serde_json::from_slice(&reply).map_err(|e| {
                RcloneError::Call(RcFailure {
                    status,
                    message: format!("rclone {method} gave an answer that cannot be read: {e}"),
                })
            });
        }
        let value: Value = serde_json::from_slice(&reply).unwrap_or(Value::Null);
        let message = value["error"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("HTTP {status} from rclone {method}"));
        Err(RcloneError::Call(RcFailure { status, message }))
    }

    fn transport_error(&self, e: ureq::Error) -> RcloneError {
        let ended = self
            .child
            .lock()
            .as_mut()
            .is_none_or(|c| c.try_wait().ok().flatten().is_some());
        RcloneError::Start {
            program: self.options.program.display().to_string(),
            reason: if ended {
                format!("it ended unexpectedly ({})", self.last_words())
            } else {
                format!("its remote control did not answer: {e}")
            },
        }
    }

    /// A transfer run as a job in `group`, polled until it ends. `watch` is told the group's
    /// bytes about every quarter second and returns false to stop the job. When no byte has
    /// moved for [`STALLED`], `probe` asks the server something small: if it cannot be
    /// reached (or no longer takes the logon), the job is stopped and that is the answer.
    /// rclone itself would try each file again and again behind a pacer that waits up to 2 s
    /// between calls: 40 files to a server that went away still ran after ten minutes.
    pub fn call_job(
        &self,
        method: &str,
        mut input: Value,
        group: &str,
        watch: &dyn Fn(Bytes) -> bool,
        probe: &dyn Fn() -> Result<(), RcloneError>,
    ) -> Result<Value, RcloneError> {
        input["_async"] = json!(true);
        input["_group"] = json!(group);
        if std::env::var_os(LOW_LEVEL_RETRIES).is_none() {
            input["_config"]["LowLevelRetries"] = json!(TRANSFER_LOW_LEVEL_RETRIES);
        }
        let started = self.call(method, input)?;
        let Some(id) = started["jobid"].as_u64() else {
            return Err(RcloneError::Call(RcFailure {
                status: 500,
                message: format!("rclone {method} gave no job id"),
            }));
        };
        let mut pause = Duration::from_millis(1);
        let mut last_report = Instant::now();
        let mut stopped = false;
        // When a byte last moved (or the server last answered a probe), and how many.
        let (mut moved, mut done) = (Instant::now(), 0);
        loop {
            let status = self.call("job/status", json!({ "jobid": id }))?;
            if status["finished"].as_bool() == Some(true) {
                if status["success"].as_bool() == Some(true) {
                    return Ok(status["output"].clone());
                }
                let message = status["error"].as_str().unwrap_or("failed").to_string();
                let message = if stopped {
                    "context canceled (stopped)".into()
                } else {
                    message
                };
                return Err(RcloneError::Call(RcFailure {
                    status: 500,
                    message,
                }));
            }
            if !stopped && last_report.elapsed() >= Duration::from_millis(250) {
                last_report = Instant::now();
                let stats = self.call("core/stats", json!({ "group": group }))?;
                let bytes = Bytes {
                    done: stats["bytes"].as_u64().unwrap_or(0),
                    total: stats["totalBytes"].as_u64().unwrap_or(0),
                    // rclone counts a transfer here once it ended well.
                    files: stats["transfers"].as_u64().unwrap_or(0),
                };
                if !watch(bytes) {
                    stopped = true;
                    let _ = self.call("job/stop", json!({ "jobid": id }));
                }
                if bytes.done != done {
                    (moved, done) = (Instant::now(), bytes.done);
                } else if moved.elapsed() >= STALLED {
                    match probe() {
                        Err(e) if e.is_lost() => {
                            let _ = self.call("job/stop", json!({ "jobid": id }));
                            return Err(e);
                        }
                        _ => moved = Instant::now(),
                    }
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    /// Forgets a stats group (groups pile up in rcd otherwise).
    pub fn forget_group(&self, group: &str) {
        let _ = self.call("core/stats-delete", json!({ "group": group }));
    }

    /// Streams a file: GET /[fs]/path through `--rc-serve`.
    pub fn read(&self, fs: &str, path: &str) -> Result<Box<dyn Read + Send>, RcloneError> {
        use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
        const PART: &AsciiSet = &CONTROLS
            .add(b' ')
            .add(b'"')
            .add(b'#')
            .add(b'%')
            .add(b'<')
            .add(b'>')
            .add(b'?')
            .add(b'[')
            .add(b']')
            .add(b'\\')
            .add(b'^')
            .add(b'`')
            .add(b'{')
            .add(b'|')
            .add(b'}')
            .add(b'+')
            .add(b'&')
            .add(b';')
            .add(b'=');
        // An absolute path (SFTP from the server's root) goes with the fs: `[fs]//x` is
        // answered with a redirect by rclone 1.60, which drops the credentials.
        let (fs, path) = match path.strip_prefix('/') {
            Some(below_root) => (format!("{fs}/"), below_root),
            None => (fs.to_string(), path),
        };
        let encoded: Vec<String> = path
            .split('/')
            .map(|part| utf8_percent_encode(part, PART).to_string())
            .collect();
        let url = format!(
            "{}/%5B{}%5D/{}",
            self.base,
            utf8_percent_encode(&fs, PART),
            encoded.join("/")
        );
        let response = self
            .agent
            .get(url)
            .header("Authorization", &self.authorization)
            .call()
            .map_err(|e| self.transport_error(e))?;
        let status = response.status().as_u16();
        let reader = response.into_body().into_reader();
        if status == 200 {
            return Ok(Box::new(reader));
        }
        let value: Value = serde_json::from_reader(reader).unwrap_or(Value::Null);
        Err(RcloneError::Call(RcFailure {
            status,
            message: value["error"]
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| format!("HTTP {status} reading {path}")),
        }))
    }
}

/// Random bytes as hex (`getrandom`), for rc credentials and temp names.
pub fn random_hex(bytes: usize) -> String {
    let mut random = vec![0u8; bytes];
    // SAFETY: the buffer is valid for its length.
    let got = unsafe { libc::getrandom(random.as_mut_ptr().cast(), random.len(), 0) };
    assert_eq!(got, random.len() as isize, "the kernel gives random bytes");
    random.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64, padded (HTTP basic authentication).
fn base64(bytes: &[u8]) -> String {
    encode_base64(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        true,
    )
}

/// URL-safe base64 without padding (rclone's obscured values).
fn base64_url(bytes: &[u8]) -> String {
    encode_base64(
        bytes,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
        false,
    )
}

fn encode_base64(bytes: &[u8], table: &[u8; 64], pad: bool) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(table[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_logging_and_remote_control_settings_are_kept_from_rcd() {
        for (key, kept_from_rcd) in [
            ("RCLONE_LOG_FILE", true),
            ("RCLONE_LOG_LEVEL", true),
            ("RCLONE_LOG_FILE_MAX_SIZE", true),
            ("RCLONE_VERBOSE", true),
            ("RCLONE_QUIET", true),
            ("RCLONE_USE_JSON_LOG", true),
            ("RCLONE_SYSLOG", true),
            ("RCLONE_RC_NO_AUTH", true),
            ("RCLONE_RC_WEB_GUI", true),
            ("RCLONE_RC_USER", false),
            ("RCLONE_RC_PASS", false),
            ("RCLONE_CONFIG", false),
            ("RCLONE_CONFIG_NAS_PASS", false),
            ("RCLONE_TIMEOUT", false),
            ("HOME", false),
        ] {
            assert_eq!(is_users_setting_for_rcd(key), kept_from_rcd, "{key}");
        }
    }

    #[test]
    fn basic_auth_is_base64() {
        assert_eq!(base64(b"u:p"), "dTpw");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }

    #[test]
    fn url_base64_has_no_padding_and_no_plus_or_slash() {
        assert_eq!(base64_url(b"a"), "YQ");
        assert_eq!(base64_url(b"ab"), "YWI");
        assert_eq!(base64_url(&[0xfb, 0xff]), "-_8");
        assert_eq!(base64(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn an_obscured_password_is_its_iv_then_one_byte_per_byte() {
        for password in ["", "p", "a password longer than one AES block"] {
            let obscured = obscure(password);
            // 16 bytes of IV, then as many as the password: 4 characters per 3 bytes.
            assert_eq!(obscured.len(), ((16 + password.len()) * 4).div_ceil(3));
            // (A short password may show up by chance: "p" in 22 random characters often does.)
            if password.len() >= 8 {
                assert!(!obscured.contains(password), "{obscured}");
            }
        }
        // A new IV each time.
        assert_ne!(obscure("p"), obscure("p"));
    }

    #[test]
    fn rclone_errors_are_read_as_what_they_mean() {
        let cases = [
            (
                500,
                "couldn't list files: Unauthorized: 401 Unauthorized",
                FailureKind::Logon,
            ),
            (
                500,
                "NewFs: couldn't connect SSH: ssh: handshake failed: ssh: unable to authenticate, attempted methods [none password], no supported methods remain",
                FailureKind::Logon,
            ),
            (
                500,
                "couldn't list files: Propfind \"http://127.0.0.1:18999/\": dial tcp 127.0.0.1:18999: connect: connection refused",
                FailureKind::Unreachable,
            ),
            (
                500,
                "dial tcp: lookup nonexistent.invalid on 10.255.255.53:53: no such host",
                FailureKind::Unreachable,
            ),
            // A port that holds "401", a folder named "timeout".
            (
                500,
                "error in ListJSON: couldn't list files: Propfind \"http://127.0.0.1:40125/data/\": dial tcp 127.0.0.1:40125: connect: connection refused",
                FailureKind::Unreachable,
            ),
            (
                500,
                "failed to open source object: timeout/401.txt: is a directory",
                FailureKind::Other,
            ),
            (
                500,
                "Get \"https://x/\": net/http: TLS handshake timeout",
                FailureKind::Unreachable,
            ),
            (
                500,
                "Propfind \"https://x/\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
                FailureKind::Unreachable,
            ),
            (
                500,
                "NewFs: couldn't connect SSH: ssh: handshake failed: knownhosts: key is unknown",
                FailureKind::HostKey,
            ),
            (
                500,
                "NewFs: couldn't parse known_hosts_file: open /home/ann/.ssh/known_hosts: no such file or directory",
                FailureKind::HostKey,
            ),
            (
                404,
                "error in ListJSON: directory not found",
                FailureKind::NotFound,
            ),
            (404, "object not found", FailureKind::NotFound),
            (
                500,
                "unchunked simple update failed: Put \"http://x/g/a.bin\": context canceled",
                FailureKind::Stopped,
            ),
            (500, "directory not empty", FailureKind::Other),
        ];
        for (status, text, kind) in cases {
            assert_eq!(classify(status, text), kind, "{text}");
        }
    }

    #[test]
    fn a_changed_host_key_is_told_apart_from_an_unknown_one() {
        let said = |message: &str| {
            RcFailure {
                status: 500,
                message: message.into(),
            }
            .to_string()
        };
        let changed =
            said("NewFs: couldn't connect SSH: ssh: handshake failed: knownhosts: key mismatch");
        assert!(
            changed.contains("has changed since you trusted it"),
            "{changed}"
        );
        assert!(changed.contains("ssh-keygen -R"), "{changed}");
        let unknown =
            said("NewFs: couldn't connect SSH: ssh: handshake failed: knownhosts: key is unknown");
        assert!(unknown.contains("is not trusted"), "{unknown}");
        assert!(!unknown.contains("changed"), "{unknown}");
    }
}
