//! Where the right side of a pair is: a local folder, a remote from the user's rclone
//! configuration (`gdrive:Documents`), or a server Sync Center reaches itself through rclone
//! (`nextcloud://ann@cloud.example.org/Documents`, `webdav[s]://…`, `sftp://…`). Pure: parsing
//! and naming, no I/O.

use std::path::Path;

/// The kinds of server Sync Center sets up in rclone itself (never in rclone's config file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerKind {
    Nextcloud,
    WebDav,
    WebDavs,
    Sftp,
}

impl ServerKind {
    pub const ALL: [ServerKind; 4] = [
        ServerKind::Nextcloud,
        ServerKind::WebDav,
        ServerKind::WebDavs,
        ServerKind::Sftp,
    ];

    pub fn scheme(self) -> &'static str {
        match self {
            ServerKind::Nextcloud => "nextcloud",
            ServerKind::WebDav => "webdav",
            ServerKind::WebDavs => "webdavs",
            ServerKind::Sftp => "sftp",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            ServerKind::WebDav => 80,
            ServerKind::Nextcloud | ServerKind::WebDavs => 443,
            ServerKind::Sftp => 22,
        }
    }
}

/// A server account and folder, as typed: `nextcloud://ann@cloud.example.org/Documents`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server {
    pub kind: ServerKind,
    pub user: String,
    pub host: String,
    pub port: Option<u16>,
    /// The folder on the server, without a leading `/` (for SFTP: `/abs` is from the
    /// server's root, anything else from the user's home).
    pub folder: String,
}

impl Server {
    /// `host:port`, as `establish_connection` takes it.
    pub fn address(&self) -> String {
        let port = self.port.unwrap_or(self.kind.default_port());
        if self.host.contains(':') {
            format!("[{}]:{port}", self.host)
        } else {
            format!("{}:{port}", self.host)
        }
    }

    /// The keyring entry of the account's password: one per scheme, user, host and port, so
    /// pairs on the same account share it.
    pub fn keyring_account(&self) -> String {
        format!("{}://{}@{}", self.kind.scheme(), self.user, self.address())
    }

    /// `ann@cloud.example.org`, for lists and messages.
    pub fn account(&self) -> String {
        match self.port {
            Some(port) => format!("{}@{}:{port}", self.user, self.host_in_url()),
            None => format!("{}@{}", self.user, self.host_in_url()),
        }
    }

    fn host_in_url(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }

    /// How rclone reaches it: the remote's type and options (`RCLONE_CONFIG_<NAME>_<KEY>`),
    /// without the password, which the caller adds obscured. `home` holds `.ssh/known_hosts`.
    pub fn rclone_options(&self, home: &Path) -> Vec<(&'static str, String)> {
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let host = self.host_in_url();
        match self.kind {
            ServerKind::WebDav | ServerKind::WebDavs => {
                let scheme = if self.kind == ServerKind::WebDav {
                    "http"
                } else {
                    "https"
                };
                vec![
                    ("TYPE", "webdav".into()),
                    ("URL", format!("{scheme}://{host}{port}/")),
                    ("VENDOR", "other".into()),
                    ("USER", self.user.clone()),
                ]
            }
            ServerKind::Nextcloud => vec![
                ("TYPE", "webdav".into()),
                (
                    "URL",
                    format!(
                        "https://{host}{port}/remote.php/dav/files/{}/",
                        percent_encoding::utf8_percent_encode(
                            &self.user,
                            percent_encoding::NON_ALPHANUMERIC
                        )
                    ),
                ),
                ("VENDOR", "nextcloud".into()),
                ("USER", self.user.clone()),
            ],
            ServerKind::Sftp => vec![
                ("TYPE", "sftp".into()),
                ("HOST", self.host.clone()),
                (
                    "PORT",
                    self.port.unwrap_or(self.kind.default_port()).to_string(),
                ),
                ("USER", self.user.clone()),
                // Only hosts the user's SSH already trusts: never connect unchecked.
                (
                    "KNOWN_HOSTS_FILE",
                    home.join(".ssh/known_hosts").display().to_string(),
                ),
            ],
        }
    }

    /// How `~/.ssh/known_hosts` names the server: `nas`, or `[nas]:2222` on another port
    /// than 22.
    pub fn known_hosts_name(&self) -> String {
        match self.port {
            None | Some(22) => self.host.clone(),
            Some(port) => format!("[{}]:{port}", self.host),
        }
    }

    /// The folder as rclone takes it below the remote's root.
    pub fn rclone_root(&self) -> String {
        self.folder.clone()
    }
}

/// The right side of a pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Local,
    /// A remote in the user's rclone configuration, and the folder on it.
    Rclone {
        remote: String,
        folder: String,
    },
    Server(Server),
}

/// Why a right side is not understood.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    #[error(
        "\"{0}\" is neither an absolute folder nor a remote (REMOTE:path from rclone's configuration, nextcloud://, webdav://, webdavs:// or sftp://)"
    )]
    Unknown(String),
    #[error("\"{text}\" is not a valid address: {reason}")]
    BadAddress { text: String, reason: String },
    #[error(
        "the address {0} had a password in it; leave it out: Sync Center asks for it and keeps it in the keyring"
    )]
    PasswordInAddress(String),
    #[error(
        "\"{0}\" is a web address: write a WebDAV server as webdav://USER@HOST/FOLDER (webdavs:// for https), a Nextcloud folder as nextcloud://USER@HOST/FOLDER"
    )]
    WebAddress(String),
    #[error(
        "\"{typed}\" looks like USER:PASSWORD@HOST:FOLDER; write it without the password as {sftp}: Sync Center asks for the password and keeps it in the keyring"
    )]
    PasswordInScpAddress { typed: String, sftp: String },
}

impl Location {
    /// Reads a right side as `folder add` and `folders.toml` give it.
    pub fn parse(text: &str) -> Result<Location, LocationError> {
        if text.starts_with('/') {
            return Ok(Location::Local);
        }
        if let Some((scheme, _)) = text.split_once("://") {
            let Some(kind) = ServerKind::ALL.into_iter().find(|k| k.scheme() == scheme) else {
                return Err(match scheme.to_ascii_lowercase().as_str() {
                    "http" | "https" => LocationError::WebAddress(without_password(text)),
                    _ => LocationError::Unknown(without_password(text)),
                });
            };
            return parse_server(kind, text).map(Location::Server);
        }
        match text.split_once(':') {
            // The folder as rclone reads it: on SFTP, `nas:/srv` is from the server's root
            // and `nas:srv` from the user's home.
            Some((name, folder)) if is_remote_name(name) => Ok(Location::Rclone {
                remote: name.to_string(),
                folder: folder.to_string(),
            }),
            _ => Err(LocationError::Unknown(text.into())),
        }
    }

    /// Reads a right side the user just typed (`folder add`, the pair form) as [`parse`]
    /// does, and also refuses an scp-style `USER:PASSWORD@HOST:FOLDER`, which reads as the
    /// rclone remote USER and would keep the password in `folders.toml`. Stored pairs are
    /// read with [`parse`]: one stored before this check stays usable.
    pub fn parse_typed(text: &str) -> Result<Location, LocationError> {
        if !text.contains("://")
            && let Some((user, folder)) = text.split_once(':')
            && is_remote_name(user)
            && let Some((host, folder)) = password_at_host(folder)
        {
            return Err(LocationError::PasswordInScpAddress {
                typed: format!("{user}@{host}:{folder}"),
                sftp: scp_as_sftp(&format!("{user}@{host}"), folder),
            });
        }
        Location::parse(text)
    }

    pub fn is_remote(&self) -> bool {
        !matches!(self, Location::Local)
    }

    /// The server or remote, for the items list: `ann@cloud.example.org`, `gdrive:`.
    pub fn server(&self) -> Option<String> {
        match self {
            Location::Local => None,
            Location::Rclone { remote, .. } => Some(format!("{remote}:")),
            Location::Server(server) => Some(server.account()),
        }
    }
}

/// rclone's rule for remote names: letters, digits, `_`, `-`, `.`, `+`, `@` and spaces,
/// not starting with `-` or a space, not ending with a space.
pub fn is_remote_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(['-', ' '])
        && !name.ends_with(' ')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || "_-.+@ ".contains(c))
}

/// The host and folder when the folder of a `NAME:FOLDER` right side starts like
/// `PASSWORD@HOST:`, the rest of an scp-style `USER:PASSWORD@HOST:FOLDER` (a folder whose
/// first name holds an `@` and a later `:` is far rarer than this mistake). The last `@` of
/// the first name ends the password, which may hold `@` itself.
fn password_at_host(folder: &str) -> Option<(&str, &str)> {
    let name_end = folder.find('/').unwrap_or(folder.len());
    let at = folder[..name_end].rfind('@')?;
    let colon = at + 1 + folder[at + 1..name_end].find(':')?;
    Some((&folder[at + 1..colon], &folder[colon + 1..]))
}

/// The `sftp://` address of an scp-style `USER@HOST:FOLDER` (a relative folder is in the
/// user's home there, as it is for scp and rsync).
pub fn scp_as_sftp(user_at_host: &str, folder: &str) -> String {
    match folder.strip_prefix('/') {
        Some(from_root) => format!("sftp://{user_at_host}/{from_root}"),
        None => format!("sftp://{user_at_host}/~/{folder}"),
    }
}

/// An address as messages show it: without a password typed into it (a message may end
/// up in a log).
fn without_password(text: &str) -> String {
    // Cut out of the text as typed (a parsed address would come back normalized).
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_string();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}@{host}{path}")
        }
        _ => text.to_string(),
    }
}

fn parse_server(kind: ServerKind, text: &str) -> Result<Server, LocationError> {
    let bad = |reason: &str| LocationError::BadAddress {
        text: without_password(text),
        reason: reason.into(),
    };
    // Checked on the text as typed: parsing resolves `a/../b` to `b` silently.
    let typed_path = text.split(['?', '#']).next().unwrap_or_default();
    if typed_path
        .split('/')
        .any(|part| percent_encoding::percent_decode_str(part).decode_utf8_lossy() == "..")
    {
        return Err(bad("the folder must not contain \"..\""));
    }
    let url = url::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    if url.password().is_some() {
        return Err(LocationError::PasswordInAddress(without_password(text)));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a ? or # part"));
    }
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| bad("it is not UTF-8 once decoded"))
    };
    let user = decode(url.username())?;
    if user.is_empty() {
        return Err(bad(&format!(
            "it needs a user name: {}://USER@HOST/FOLDER",
            kind.scheme()
        )));
    }
    let host = match url.host() {
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        Some(host) => host.to_string(),
        None => return Err(bad("it needs a server name")),
    };
    if host.is_empty() {
        return Err(bad("it needs a server name"));
    }
    let path = decode(url.path())?;
    let folder = match kind {
        // `sftp://ann@nas/~/Documents` is in the home folder, `sftp://ann@nas/srv/x` from /.
        ServerKind::Sftp => match path.strip_prefix("/~") {
            Some(in_home) => in_home.trim_start_matches('/').to_string(),
            None if path.trim_matches('/').is_empty() => String::new(),
            None => path.trim_end_matches('/').to_string(),
        },
        _ => path.trim_matches('/').to_string(),
    };
    Ok(Server {
        kind,
        user,
        host,
        port: url.port(),
        folder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(text: &str) -> Server {
        match Location::parse(text).unwrap() {
            Location::Server(s) => s,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn local_folders_rclone_remotes_and_servers_are_told_apart() {
        assert_eq!(Location::parse("/home/ann/x").unwrap(), Location::Local);
        assert_eq!(
            Location::parse("gdrive:Documents/Work").unwrap(),
            Location::Rclone {
                remote: "gdrive".into(),
                folder: "Documents/Work".into()
            }
        );
        assert_eq!(
            Location::parse("nas:/srv/photos").unwrap(),
            Location::Rclone {
                remote: "nas".into(),
                folder: "/srv/photos".into()
            }
        );
        assert_eq!(
            Location::parse("my nas:").unwrap(),
            Location::Rclone {
                remote: "my nas".into(),
                folder: String::new()
            }
        );
        // A stored pair typed that way before it was refused is still read (as the remote
        // `bob`): one such pair must not make the whole file unreadable.
        assert_eq!(
            Location::parse("bob:secret@nas:/srv").unwrap(),
            Location::Rclone {
                remote: "bob".into(),
                folder: "secret@nas:/srv".into()
            }
        );
        // An `@` and a `:` are names in a folder unless the first name holds both, the
        // `PASSWORD@HOST:` of an scp-style address.
        for (text, remote, folder) in [
            ("bob@nas:/srv", "bob@nas", "/srv"),
            ("gdrive:me@work/notes:old", "gdrive", "me@work/notes:old"),
            ("s3:bucket/a:b@c:d", "s3", "bucket/a:b@c:d"),
            ("box:a:b@c", "box", "a:b@c"),
        ] {
            assert_eq!(
                Location::parse_typed(text).unwrap(),
                Location::Rclone {
                    remote: remote.into(),
                    folder: folder.into()
                },
                "{text}"
            );
        }
        let nc = server("nextcloud://ann@cloud.example.org/Documents/Sync/");
        assert_eq!(nc.kind, ServerKind::Nextcloud);
        assert_eq!(
            (nc.user.as_str(), nc.host.as_str()),
            ("ann", "cloud.example.org")
        );
        assert_eq!(nc.folder, "Documents/Sync");
        assert_eq!(nc.address(), "cloud.example.org:443");
        assert_eq!(nc.account(), "ann@cloud.example.org");
        let dav = server("webdav://bob%40home@127.0.0.1:8080/dav/my%20files");
        assert_eq!(dav.user, "bob@home");
        assert_eq!(dav.folder, "dav/my files");
        assert_eq!(dav.address(), "127.0.0.1:8080");
        assert_eq!(dav.keyring_account(), "webdav://bob@home@127.0.0.1:8080");
        let six = server("sftp://carl@[::1]:2222/srv/data");
        assert_eq!(six.host, "::1");
        assert_eq!(six.address(), "[::1]:2222");
        assert_eq!(six.folder, "/srv/data");
        assert_eq!(server("sftp://carl@nas/~/Documents").folder, "Documents");
        assert_eq!(server("sftp://carl@nas/x").known_hosts_name(), "nas");
        assert_eq!(server("sftp://carl@nas:22/x").known_hosts_name(), "nas");
        assert_eq!(six.known_hosts_name(), "[::1]:2222");
        assert_eq!(server("sftp://carl@nas").folder, "");
        assert_eq!(
            Location::parse("webdavs://d@h/x").unwrap().server(),
            Some("d@h".into())
        );
    }

    #[test]
    fn bad_right_sides_say_what_is_wrong() {
        let cases = [
            ("relative/path", "neither an absolute folder nor a remote"),
            ("ftp://a@b/c", "neither an absolute folder nor a remote"),
            (
                "http://me@127.0.0.1:8099/b",
                "is a web address: write a WebDAV",
            ),
            (
                "HTTPS://me:secret@cloud/x",
                "HTTPS://me@cloud/x\" is a web address",
            ),
            ("ftp://me:secret@cloud/x", "ftp://me@cloud/x\" is neither"),
            ("-bad:x", "neither an absolute folder nor a remote"),
            ("webdav://host/x", "needs a user name"),
            (
                "nextcloud://ann:secret@h/x",
                "nextcloud://ann@h/x had a password in it",
            ),
            ("webdav://a@h/x?y=1", "must not have a ? or # part"),
            ("sftp://a@h/x/../y", "must not contain \"..\""),
            (
                "sftp://a:secret@h/x/../y",
                "\"sftp://a@h/x/../y\" is not a valid address",
            ),
            ("webdav://a:secret@h:99999/x", "is not a valid address"),
            ("webdav://a@h/%2e%2e/y", "must not contain \"..\""),
            (
                "bob:secret@nas:/srv",
                "\"bob@nas:/srv\" looks like USER:PASSWORD@HOST:FOLDER; write it without the password as sftp://bob@nas/srv:",
            ),
            ("bob:secret@nas:", "as sftp://bob@nas/~/:"),
            (
                "bob:secret@nas.local:srv/x",
                "as sftp://bob@nas.local/~/srv/x:",
            ),
            // A password with an `@` in it: the last `@` of the first name ends it.
            (
                "bob:sec@ret@nas:/srv",
                "\"bob@nas:/srv\" looks like USER:PASSWORD@HOST:FOLDER; write it without the password as sftp://bob@nas/srv:",
            ),
        ];
        for (text, why) in cases {
            let error = Location::parse_typed(text).unwrap_err().to_string();
            assert!(error.contains(why), "{text}: {error}");
            assert!(!error.contains("secret"), "{text}: {error}");
        }
    }

    #[test]
    fn rclone_options_never_hold_the_password_and_build_the_nextcloud_address() {
        let nc = server("nextcloud://ann b@cloud.example.org:8443/Docs");
        let options = nc.rclone_options(Path::new("/home/ann"));
        assert!(options.contains(&(
            "URL",
            "https://cloud.example.org:8443/remote.php/dav/files/ann%20b/".into()
        )));
        assert!(options.contains(&("VENDOR", "nextcloud".into())));
        assert!(options.iter().all(|(key, _)| *key != "PASS"));
        let sftp = server("sftp://carl@nas:2200/srv");
        let options = sftp.rclone_options(Path::new("/home/carl"));
        assert!(options.contains(&("PORT", "2200".into())));
        assert!(options.contains(&("KNOWN_HOSTS_FILE", "/home/carl/.ssh/known_hosts".into())));
    }
}
