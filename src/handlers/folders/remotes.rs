//! The remote pairs of one session: the one `rclone rcd` they share, the passwords of the
//! servers Sync Center reaches itself (keyring, or the logon form in prepare), and the check
//! that each remote answers before anything is planned.
//!
//! Logons follow SyncMgr's rules: the form is shown only under EnableModeless
//! (`Callback::request_ui` + `UiPermit::show`), "Remember my password" puts it in the
//! keyring, a wrong password asks again with the error under the field, and a run that may
//! not bother the user fails the item with "needs your logon" while the others go on. A
//! locked keyring means "ask", never "logged out".

use super::config::{self, PairConfig};
use super::live_figures::LiveFigures;
use super::location::{Location, Server, ServerKind};
use super::passwords::{self, Stored};
use super::rclone::{self, Bytes, EnvRemote, FailureKind, RcFailure, Rcd, RcdOptions, RcloneError};
use super::remote::{FirstLook, RemoteReplica, Watcher};
use super::{FolderError, archive};
use crate::core::callback::{Callback, Progress};
use crate::core::dialog::{Button, ButtonRole, Field, Form};
use crate::core::model::ItemId;
use crate::core::store::Home;
use crate::core::words::size;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The remotes of the user's rclone configuration, or why they cannot be listed.
pub fn configured_remotes(home: &Home) -> Result<Vec<String>, String> {
    let setting = config::rclone_program(home).map_err(|e| e.to_string())?;
    let program = rclone::find_program(setting.as_deref(), &config::config_file(home))
        .map_err(|e| e.to_string())?;
    rclone::list_remotes(&program).map_err(|e| e.to_string())
}

/// Refuses a right side on a remote rclone's configuration does not have (a typo, or
/// another configuration file than the one rclone reads now). Without rclone nothing can
/// be checked: the pair's sync then says how to install it.
pub fn check_remote_is_configured(home: &Home, location: &Location) -> Result<(), FolderError> {
    let Location::Rclone { remote, folder } = location else {
        return Ok(());
    };
    let Ok(known) = configured_remotes(home) else {
        return Ok(());
    };
    if known.contains(remote) {
        return Ok(());
    }
    Err(FolderError::UnknownRemote {
        remote: remote.clone(),
        folder: folder.clone(),
        known: match known.len() {
            0 => "it has none".into(),
            _ => format!(
                "it has {}",
                known
                    .iter()
                    .map(|r| format!("{r}:"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    })
}

/// Where SSH keeps the host keys the user trusts, under the home folder.
const KNOWN_HOSTS: &str = ".ssh/known_hosts";

/// The user's home folder (where `.ssh` is).
fn user_home() -> PathBuf {
    directories::BaseDirs::new()
        .map(|d| d.home_dir().to_path_buf())
        .unwrap_or_default()
}

/// Whether `known_hosts` holds a key for the server (`ssh-keygen -F`, which reads hashed
/// names too); `None` when that cannot be told (no `ssh-keygen`): rclone's own check then
/// speaks, after the logon.
fn host_key_known(server: &Server, known_hosts: &Path) -> Option<bool> {
    if !known_hosts.exists() {
        return Some(false);
    }
    let found = std::process::Command::new("ssh-keygen")
        .arg("-F")
        .arg(server.known_hosts_name())
        .arg("-f")
        .arg(known_hosts)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .ok()?;
    match found.code() {
        Some(0) => Some(true),
        Some(1) => Some(false),
        _ => None,
    }
}

/// Why a remote pair cannot run now, in the words the item shows.
#[derive(Debug)]
pub struct NotReady {
    pub why: String,
    /// The user canceled the logon: the item is canceled, not failed.
    pub canceled: bool,
}

impl NotReady {
    fn new(why: String) -> NotReady {
        NotReady {
            why,
            canceled: false,
        }
    }
}

impl From<FolderError> for NotReady {
    fn from(e: FolderError) -> Self {
        NotReady::new(e.to_string())
    }
}

impl From<RcloneError> for NotReady {
    fn from(e: RcloneError) -> Self {
        NotReady::new(e.to_string())
    }
}

/// A password and where it came from.
struct Logon {
    password: String,
    /// Typed into the form with "Remember my password": stored once it is accepted.
    remember: bool,
    from_keyring: bool,
}

/// The remote side of the session's pairs.
pub struct Remotes {
    home: Home,
    rcd: Option<Arc<Rcd>>,
    /// Servers Sync Center defines in rcd's environment, by keyring account.
    servers: HashMap<String, EnvRemote>,
    /// Accepted passwords of this session, by keyring account (the form without "Remember").
    passwords: HashMap<String, String>,
    user_config: bool,
    /// What prepare saw of each pair's remote folder, by pair name, for its replica until
    /// a sync starts.
    looks: HashMap<String, FirstLook>,
}

impl Remotes {
    pub fn new(home: &Home) -> Remotes {
        Remotes {
            home: home.clone(),
            rcd: None,
            servers: HashMap::new(),
            passwords: HashMap::new(),
            user_config: false,
            looks: HashMap::new(),
        }
    }

    fn program(&self) -> Result<PathBuf, NotReady> {
        let setting = config::rclone_program(&self.home)?;
        Ok(rclone::find_program(
            setting.as_deref(),
            &config::config_file(&self.home),
        )?)
    }

    /// Starts rcd with the remotes known so far, or again when they changed.
    fn rcd(&mut self) -> Result<Arc<Rcd>, NotReady> {
        let mut remotes: Vec<EnvRemote> = self.servers.values().cloned().collect();
        remotes.sort_by(|a, b| a.name.cmp(&b.name));
        let options = RcdOptions {
            program: self.program()?,
            remotes,
            user_config: self.user_config,
        };
        if let Some(rcd) = &self.rcd
            && *rcd.options() == options
        {
            return Ok(rcd.clone());
        }
        // The old one ends first (its environment holds an outdated password).
        self.rcd = None;
        let rcd = Arc::new(Rcd::start(options)?);
        self.rcd = Some(rcd.clone());
        Ok(rcd)
    }

    /// The remote's name in rcd and the folder on it.
    fn fs_and_root(&self, location: &Location, server: Option<&Server>) -> (String, String) {
        match (location, server) {
            (Location::Rclone { remote, folder }, _) => (format!("{remote}:"), folder.clone()),
            (_, Some(server)) => (
                format!("{}:", self.remote_name(&server.keyring_account())),
                server.rclone_root(),
            ),
            _ => unreachable!("a local folder has no remote"),
        }
    }

    fn remote_name(&self, account: &str) -> String {
        self.servers
            .get(account)
            .map(|r| r.name.clone())
            .unwrap_or_else(|| format!("synccenter{}", self.servers.len() + 1))
    }

    /// Gets a remote pair ready in prepare: rclone found, the server reachable, a password
    /// that works (from the keyring or the logon form), the folder there (or a first sync,
    /// which makes it).
    pub fn prepare(
        &mut self,
        pair: &PairConfig,
        item: &ItemId,
        callback: &Callback,
    ) -> Result<(), NotReady> {
        let location = pair.right_location()?;
        self.program()?;
        let first_sync = !archive::archive_file(&self.home.data_dir, &pair.name).exists();
        self.prepare_location(pair, &location, item, callback, first_sync)?;
        // A mistyped folder is made too: said where the run's results show it.
        let missing = |look: &FirstLook| matches!(look.root_listed(), Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound);
        if self.looks.get(&pair.name).is_some_and(missing) {
            callback.log(
                crate::core::callback::LogLine::info(format!(
                    "The right folder {} does not exist yet: this first sync makes it.",
                    pair.right.display()
                ))
                .item(item),
            );
        }
        Ok(())
    }

    fn prepare_location(
        &mut self,
        pair: &PairConfig,
        location: &Location,
        item: &ItemId,
        callback: &Callback,
        first_sync: bool,
    ) -> Result<(), NotReady> {
        match location {
            Location::Local => Ok(()),
            Location::Rclone { .. } => {
                self.user_config = true;
                let rcd = self.rcd()?;
                let (fs, root) = self.fs_and_root(location, None);
                let look = check_folder(&rcd, &fs, &root, pair, first_sync)
                    .map_err(|e| NotReady::new(plain(pair, &e, None)))?;
                self.looks.insert(pair.name.clone(), look);
                Ok(())
            }
            Location::Server(server) => {
                self.prepare_server(pair, server, item, callback, first_sync)
            }
        }
    }

    fn prepare_server(
        &mut self,
        pair: &PairConfig,
        server: &Server,
        item: &ItemId,
        callback: &Callback,
        first_sync: bool,
    ) -> Result<(), NotReady> {
        if let Err(e) = callback.establish_connection(Some(&server.address())) {
            return Err(NotReady::new(format!(
                "{} could not be synchronized: {e}. Nothing was changed.",
                pair.right.display()
            )));
        }
        // Said before a password is asked for, which the server would never get.
        if server.kind == ServerKind::Sftp
            && host_key_known(server, &user_home().join(KNOWN_HOSTS)) == Some(false)
        {
            return Err(NotReady::new(format!(
                "{} could not be synchronized: the SSH host key of {} is not in ~/{KNOWN_HOSTS} yet. Connect once with `ssh -p {} {}@{}` to check its fingerprint and trust it, then sync again. Nothing was changed.",
                pair.right.display(),
                server.known_hosts_name(),
                server.port.unwrap_or(22),
                server.user,
                server.host
            )));
        }
        let account = server.keyring_account();
        let mut permit = None;
        // What the keyring said, for the forms of later tries (no "Remember" without one).
        let mut keyring = Stored::Missing;
        let kept_without_keyring = passwords::accepted_without_keyring(&account);
        if kept_without_keyring.is_some() {
            keyring = Stored::NoKeyring(String::new());
        }
        let earlier = (self.passwords.get(&account).cloned()).or(kept_without_keyring);
        let mut logon = match earlier {
            Some(password) => Logon {
                password,
                remember: false,
                from_keyring: false,
            },
            None => match passwords::look_up(&account) {
                Stored::Found(password) => Logon {
                    password,
                    remember: false,
                    from_keyring: true,
                },
                stored => {
                    keyring = stored.clone();
                    let Ok(granted) = callback.request_ui(Some(item)) else {
                        return Err(NotReady::new(needs_logon(pair, server, &stored)));
                    };
                    let unlocked = match stored {
                        // The desktop may ask to unlock the keyring now.
                        Stored::Locked => match passwords::look_up_unlocking(&account) {
                            Stored::Found(password) => Some(password),
                            _ => None,
                        },
                        _ => None,
                    };
                    let logon = match unlocked {
                        Some(password) => Logon {
                            password,
                            remember: false,
                            from_keyring: true,
                        },
                        None => ask(&granted, pair, server, &stored, None)?,
                    };
                    permit = Some(granted);
                    logon
                }
            },
        };
        let look = loop {
            match self.try_logon(pair, server, &logon.password, first_sync) {
                Ok(look) => break look,
                Err(failure) if failure.kind() == FailureKind::Logon => {
                    // Never tried again by a later run (a server's brute-force guard counts).
                    self.passwords.remove(&account);
                    passwords::refused_without_keyring(&account);
                    let said = "That password was not accepted. Check it and try again.";
                    if permit.is_none() {
                        match callback.request_ui(Some(item)) {
                            Ok(granted) => permit = Some(granted),
                            Err(_) => {
                                return Err(NotReady::new(format!(
                                    "{} needs your logon: {} did not accept the {} password. Sync it in the window, or with `synccenter sync` in a terminal, to enter it.",
                                    pair.name,
                                    server.account(),
                                    if logon.from_keyring { "saved" } else { "given" }
                                )));
                            }
                        }
                    }
                    let granted = permit.as_ref().expect("a permit");
                    logon = ask(granted, pair, server, &keyring, Some(said))?;
                }
                Err(failure) => return Err(NotReady::new(plain(pair, &failure, Some(server)))),
            }
        };
        self.looks.insert(pair.name.clone(), look);
        if logon.remember
            && let Err(e) = passwords::store(&account, &logon.password)
        {
            callback.log(
                crate::core::callback::LogLine::warning(format!(
                    "The password for {} could not be saved in the keyring ({e}): you will be asked for it again next time.",
                    server.account()
                ))
                .item(item),
            );
        }
        if matches!(keyring, Stored::NoKeyring(_)) {
            passwords::accepted_without_keyring_now(&account, &logon.password);
        }
        self.passwords.insert(account, logon.password);
        Ok(())
    }

    /// Defines the server with this password in rcd (restarting it) and looks at the folder.
    fn try_logon(
        &mut self,
        pair: &PairConfig,
        server: &Server,
        password: &str,
        first_sync: bool,
    ) -> Result<FirstLook, RcFailure> {
        let as_failure = |e: NotReady| RcFailure {
            status: 500,
            message: e.why,
        };
        let obscured = rclone::obscure(password);
        let account = server.keyring_account();
        let name = self.remote_name(&account);
        let mut options = server.rclone_options(&user_home());
        options.push(("PASS", obscured));
        self.servers.insert(account, EnvRemote { name, options });
        let rcd = self.rcd().map_err(as_failure)?;
        let location = Location::Server(server.clone());
        let (fs, root) = self.fs_and_root(&location, Some(server));
        check_folder(&rcd, &fs, &root, pair, first_sync)
    }

    /// The replica of a prepared pair's remote side, its transfers counted in `live`.
    /// `create_root` on a first sync; for a preview (`previewing`), one that writes nothing.
    pub fn replica(
        &mut self,
        pair: &PairConfig,
        item: &ItemId,
        callback: &Callback,
        live: Arc<LiveFigures>,
        previewing: bool,
    ) -> Result<RemoteReplica, NotReady> {
        let location = pair.right_location()?;
        let server = match &location {
            Location::Server(server) => Some(server.clone()),
            _ => None,
        };
        let rcd = self.rcd()?;
        let (fs, root) = self.fs_and_root(&location, server.as_ref());
        let staging =
            archive::archive_file(&self.home.data_dir, &pair.name).with_extension("staging");
        // Leftovers of a run that was killed (a preview may run beside a sync: it leaves them).
        if !previewing {
            let _ = std::fs::remove_dir_all(&staging);
        }
        let first_sync = !archive::archive_file(&self.home.data_dir, &pair.name).exists();
        let look = self.looks.remove(&pair.name);
        // Another pair's sync may change what the others saw (pairs may share a remote
        // folder): their syncs look again.
        if !previewing {
            self.looks.clear();
        }
        let watcher = Box::new(ItemWatcher {
            callback: callback.clone(),
            item: item.clone(),
            live,
        });
        let replica = RemoteReplica::new(
            rcd,
            fs,
            root,
            pair.right.display().to_string(),
            staging,
            first_sync,
            watcher,
        );
        let replica = match look {
            Some(look) => replica.with_first_look(look),
            None => replica,
        };
        Ok(if previewing {
            replica.for_preview()
        } else {
            replica
        })
    }

    /// Tests a right side typed into the pair form: reachable, the password accepted, the
    /// folder there (or not yet). Answers in words for the form.
    pub fn test(
        &mut self,
        pair: &PairConfig,
        password: Option<&str>,
        callback: &Callback,
    ) -> Result<String, TestFailed> {
        let location = pair.right_location().map_err(|e| e.to_string())?;
        self.program().map_err(|e| e.why)?;
        let (rcd, fs, root) = match &location {
            Location::Local => return Err(TestFailed::Other("This is a local folder.".into())),
            Location::Rclone { .. } => {
                self.user_config = true;
                let rcd = self.rcd().map_err(|e| e.why)?;
                let (fs, root) = self.fs_and_root(&location, None);
                (rcd, fs, root)
            }
            Location::Server(server) => {
                callback
                    .establish_connection(Some(&server.address()))
                    .map_err(|e| e.to_string())?;
                let password = match password.filter(|p| !p.is_empty()) {
                    Some(password) => password.to_string(),
                    None => match passwords::look_up(&server.keyring_account()) {
                        Stored::Found(password) => password,
                        _ => {
                            return Err(TestFailed::Password(
                                "Enter the password to test the connection.".into(),
                            ));
                        }
                    },
                };
                self.try_logon(pair, server, &password, true)
                    .map_err(|f| match f.kind() {
                        FailureKind::Logon => TestFailed::Password(format!(
                            "{} did not accept this password.",
                            server.account()
                        )),
                        _ => TestFailed::Other(plain(pair, &f, Some(server))),
                    })?;
                let rcd = self.rcd().map_err(|e| e.why)?;
                let (fs, root) = self.fs_and_root(&location, Some(server));
                (rcd, fs, root)
            }
        };
        match rcd.call(
            "operations/list",
            json!({ "fs": fs, "remote": root, "opt": { "noMimeType": true } }),
        ) {
            Ok(listed) => Ok(format!(
                "Connected. The folder holds {} entries.",
                listed["list"].as_array().map_or(0, Vec::len)
            )),
            Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound => {
                Ok("Connected. The folder does not exist yet: the first sync makes it.".into())
            }
            Err(RcloneError::Call(f)) => Err(TestFailed::Other(plain(pair, &f, None))),
            Err(e) => Err(TestFailed::Other(e.to_string())),
        }
    }
}

/// What a connection test found wrong, for the pair form.
#[derive(Debug, PartialEq, Eq)]
pub enum TestFailed {
    /// Said under the password field: the server refused it, or none was given.
    Password(String),
    Other(String),
}

impl From<String> for TestFailed {
    fn from(said: String) -> Self {
        TestFailed::Other(said)
    }
}

/// Looks at the remote folder (the replica's [`FirstLook`]): it must be there, unless this is
/// the first sync (which makes it).
fn check_folder(
    rcd: &Rcd,
    fs: &str,
    root: &str,
    pair: &PairConfig,
    first_sync: bool,
) -> Result<FirstLook, RcFailure> {
    let look = FirstLook::take(rcd, fs, root);
    match look.root_listed() {
        Ok(()) => Ok(look),
        Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound && first_sync => Ok(look),
        Err(RcloneError::Call(f)) if f.kind() == FailureKind::NotFound => Err(RcFailure {
            status: 404,
            message: format!(
                "The right folder {} is missing on the remote (deleted, renamed, or a wrong address?). Nothing was changed.",
                pair.right.display()
            ),
        }),
        Err(RcloneError::Call(f)) => Err(f.clone()),
        Err(e) => Err(RcFailure {
            status: 500,
            message: e.to_string(),
        }),
    }
}

/// Shows the logon form and reads what was typed.
fn ask(
    permit: &crate::core::callback::UiPermit<'_>,
    pair: &PairConfig,
    server: &Server,
    keyring: &Stored,
    error: Option<&str>,
) -> Result<Logon, NotReady> {
    let reply = permit.show(logon_form(pair, server, keyring, error));
    let Some(values) = reply.pressed("ok") else {
        return Err(NotReady {
            why: format!(
                "You canceled the logon to {}; {} was not synchronized.",
                server.account(),
                pair.name
            ),
            canceled: true,
        });
    };
    Ok(Logon {
        password: values
            .get("password")
            .and_then(|v| v.as_text())
            .unwrap_or("")
            .to_string(),
        remember: values.get("remember").and_then(|v| v.as_bool()) == Some(true),
        from_keyring: false,
    })
}

/// The logon form: user (shown), password, "Remember my password" (not offered without a
/// keyring to keep it in); the error of the last try under the password field. `keyring` is
/// what the keyring said when the run began (tries again keep saying it).
fn logon_form(pair: &PairConfig, server: &Server, keyring: &Stored, error: Option<&str>) -> Form {
    let why = match keyring {
        Stored::Locked => " (your keyring is locked)",
        Stored::NoKeyring(_) => {
            " (no keyring is available: the password is not saved, and is asked again once Sync Center closes)"
        }
        _ => "",
    };
    let mut form = Form::new(format!("Log on to {}", server.host))
        .message(format!(
            "The folder pair {} syncs with {}. Enter the password of {} on {}{why}.",
            pair.name,
            pair.right.display(),
            server.user,
            server.host
        ))
        .field(Field::read_only("user", "User name", &server.user));
    let mut password = Field::password("password", "Password").required();
    if let Some(error) = error {
        password = password.error(error);
    }
    form = form.field(password);
    if !matches!(keyring, Stored::NoKeyring(_)) {
        form = form.field(Field::checkbox("remember", "Remember my password", true));
    }
    form.buttons(vec![
        Button::new("ok", "Log on", ButtonRole::Accept),
        Button::new("cancel", "Cancel", ButtonRole::Reject),
    ])
}

/// "needs your logon", with why it cannot be asked now.
fn needs_logon(pair: &PairConfig, server: &Server, stored: &Stored) -> String {
    let why = match stored {
        Stored::Locked => "the keyring is locked".to_string(),
        Stored::NoKeyring(_) => {
            "no desktop keyring (GNOME Keyring, KWallet) answers in this session".to_string()
        }
        _ => format!("no password for {} is saved", server.account()),
    };
    format!(
        "{} needs your logon: {why}. Sync it in the window, or with `synccenter sync` in a terminal, to enter the password. Nothing was changed.",
        pair.name
    )
}

/// The name of the pair's remote in rclone's configuration (the right side as written,
/// should it be none).
fn rclone_remote_of(pair: &PairConfig) -> String {
    match pair.right_location() {
        Ok(Location::Rclone { remote, .. }) => remote,
        _ => pair.right.display().to_string(),
    }
}

/// A failure as the item shows it.
fn plain(pair: &PairConfig, failure: &RcFailure, server: Option<&Server>) -> String {
    match failure.kind() {
        FailureKind::Logon => match server {
            Some(server) => format!(
                "{} needs your logon: {} did not accept the password.",
                pair.name,
                server.account()
            ),
            None => {
                let remote = rclone_remote_of(pair);
                format!(
                    "{} needs your logon: {failure}. {remote} is a remote of rclone's configuration: in a terminal, run `rclone config reconnect {remote}:` if it logs on in a browser (Google Drive, OneDrive, Dropbox…), or `rclone config` to change its password.",
                    pair.name
                )
            }
        },
        FailureKind::NotFound
            if failure.status == 404 && failure.message.starts_with("The right") =>
        {
            failure.message.clone()
        }
        // (rclone's words for a remote its configuration does not have.)
        _ if failure
            .message
            .contains("didn't find section in config file") =>
        {
            let remote = rclone_remote_of(pair);
            format!(
                "{} could not be synchronized: rclone's configuration has no remote named \"{remote}\" (renamed or removed in `rclone config`, or RCLONE_CONFIG names another file than when the pair was added). Set it up again with `rclone config`, or change the pair's remote in its Properties. Nothing was changed.",
                pair.name
            )
        }
        _ => format!(
            "{} could not be synchronized: {failure}. Nothing was changed.",
            pair.right.display()
        ),
    }
}

/// Tells the item how its remote replica's transfers go: their bytes in its figures, what
/// moves in words.
struct ItemWatcher {
    callback: Callback,
    item: ItemId,
    live: Arc<LiveFigures>,
}

impl ItemWatcher {
    fn text(what: &str, bytes: Bytes) -> String {
        if bytes.total > 0 {
            format!("{what}: {} of {}", size(bytes.done), size(bytes.total))
        } else {
            format!("{what}: {}", size(bytes.done))
        }
    }
}

impl Watcher for ItemWatcher {
    fn transferring(&self, what: &str, bytes: Bytes) -> bool {
        // A job tried again counts on in its stats group: never past the file's size.
        let done = match bytes.total {
            0 => bytes.done,
            total => bytes.done.min(total),
        };
        self.live.moving(what, done, bytes.files);
        let text = Self::text(what, bytes);
        let reply = self.live.report(
            // What moves now; not the last applied change's verb and direction.
            |figures| {
                figures.current = Some(what.to_string());
                figures.change = None;
                figures.direction = None;
            },
            |figures| {
                let progress = Progress {
                    figures: Some(figures),
                    ..Progress::text(&text)
                };
                self.callback.progress(&self.item, progress)
            },
        );
        !reply.should_stop()
    }

    fn ended(&self, what: &str, landing: u64, landing_files: u64) {
        self.live.ended(what, landing, landing_files);
    }

    fn checking(&self, what: &str, bytes: Bytes) -> bool {
        let text = Self::text(what, bytes);
        !self
            .callback
            .progress(&self.item, Progress::text(&text))
            .should_stop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::folders::config::Mode;

    #[test]
    fn the_logon_form_offers_remember_only_with_a_keyring_and_keeps_saying_why() {
        let pair = PairConfig::new(
            "docs",
            "/home/ann/Docs".into(),
            "webdav://ann@nas/Docs".into(),
            Mode::TwoWay,
        );
        let Ok(Location::Server(server)) = pair.right_location() else {
            panic!("a server");
        };
        let offers_remember = |form: &Form| form.fields.iter().any(|f| f.id == "remember");
        let message = |form: &Form| form.message.clone().unwrap_or_default();
        let no_keyring = Stored::NoKeyring("zbus error: no bus".into());
        for error in [None, Some("That password was not accepted.")] {
            let form = logon_form(&pair, &server, &no_keyring, error);
            assert!(!offers_remember(&form), "{form:?}");
            assert!(
                message(&form).contains("no keyring is available"),
                "{form:?}"
            );
            assert!(!message(&form).contains("zbus"), "{form:?}");
            let form = logon_form(&pair, &server, &Stored::Locked, error);
            assert!(offers_remember(&form), "{form:?}");
            assert!(
                message(&form).contains("your keyring is locked"),
                "{form:?}"
            );
            let form = logon_form(&pair, &server, &Stored::Missing, error);
            assert!(offers_remember(&form), "{form:?}");
        }
        let said = needs_logon(&pair, &server, &no_keyring);
        assert!(said.contains("no desktop keyring"), "{said}");
        assert!(!said.contains("zbus"), "{said}");
    }

    #[test]
    fn a_refused_logon_on_a_configured_remote_says_how_to_renew_it() {
        let pair = PairConfig::new(
            "docs",
            "/home/ann/Docs".into(),
            "gdrive:Sync/Docs".into(),
            Mode::TwoWay,
        );
        let refused = RcFailure {
            status: 401,
            message: "401 Unauthorized".into(),
        };
        let text = plain(&pair, &refused, None);
        assert!(text.starts_with("docs needs your logon"), "{text}");
        assert!(text.contains("`rclone config reconnect gdrive:`"), "{text}");
        assert!(
            text.contains("`rclone config` to change its password"),
            "{text}"
        );
    }
}
