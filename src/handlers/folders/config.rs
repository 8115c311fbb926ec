//! The folder pairs the user set up, kept in `folders.toml` in the center's config folder.

use super::FolderError;
use super::location::Location;
use crate::core::store::{Home, write_atomically};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Which way changes flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Changes on either side go to the other; different changes to one file are conflicts.
    TwoWay,
    /// Left → right; the right becomes an exact copy (its own changes kept as versions).
    Mirror,
    /// Left → right, never deleting anything on the right.
    Contribute,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::TwoWay, Mode::Mirror, Mode::Contribute];

    pub fn word(self) -> &'static str {
        match self {
            Mode::TwoWay => "two-way",
            Mode::Mirror => "mirror",
            Mode::Contribute => "contribute",
        }
    }

    /// Which way changes go, between the left and the right folder (glyphs the window's
    /// fonts have).
    pub fn arrow(self) -> &'static str {
        match self {
            Mode::TwoWay => "↔",
            Mode::Mirror | Mode::Contribute => "➡",
        }
    }
}

/// A pair in one line: its folders, the home folder as `~`, a remote as its account and
/// folder, and the direction ("~/Documents ↔ /media/usb/Documents", "~/Photos ➡
/// /backup/Photos (mirror)", "~/Docs ↔ ann@cloud.example.org:Documents").
pub fn describe(pair: &PairConfig) -> String {
    describe_with_home(pair, home_dir().as_deref())
}

fn describe_with_home(pair: &PairConfig, home: Option<&Path>) -> String {
    let show = |path: &Path| match home.and_then(|home| path.strip_prefix(home).ok()) {
        Some(rest) if rest.as_os_str().is_empty() => "~".to_string(),
        Some(rest) => format!("~/{}", rest.display()),
        None => path.display().to_string(),
    };
    let right = match pair.right_location() {
        Ok(Location::Server(server)) => format!("{}:{}", server.account(), server.folder),
        Ok(Location::Rclone { remote, folder }) => format!("{remote}:{folder}"),
        Ok(Location::Local) | Err(_) => show(&pair.right),
    };
    let line = format!("{} {} {right}", show(&pair.left), pair.mode.arrow());
    match pair.mode {
        Mode::TwoWay => line,
        mode => format!("{line} ({})", mode.word()),
    }
}

/// A folder as typed, with `~` (alone or before `/`) meaning the home folder.
pub fn expand_home(text: &str) -> PathBuf {
    expand_home_with(text, home_dir().as_deref())
}

fn expand_home_with(text: &str, home: Option<&Path>) -> PathBuf {
    match (text.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_path_buf(),
        (Some(rest), Some(home)) if rest.starts_with('/') => {
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(text),
    }
}

fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
}

impl FromStr for Mode {
    type Err = FolderError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|mode| mode.word() == s)
            .ok_or_else(|| FolderError::UnknownMode(s.to_string()))
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// Versions are kept this many days by default…
pub const DEFAULT_VERSIONS_DAYS: u32 = 30;
/// …and take at most this share of the disk they are on (percent), whichever comes first.
pub const DEFAULT_VERSIONS_DISK_PERCENT: u8 = 10;

fn default_versions_days() -> u32 {
    DEFAULT_VERSIONS_DAYS
}

fn default_versions_disk_percent() -> u8 {
    DEFAULT_VERSIONS_DISK_PERCENT
}

/// One folder pair. Its name is the item id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairConfig {
    pub name: String,
    pub left: PathBuf,
    /// An absolute folder, or a remote (see [`Location`]): `gdrive:Documents`,
    /// `nextcloud://ann@cloud.example.org/Documents`, `webdav[s]://…`, `sftp://…`.
    pub right: PathBuf,
    pub mode: Mode,
    /// Gitignore patterns, matched on paths relative to the roots.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// Versions older than this many days are removed at the end of a run.
    #[serde(default = "default_versions_days")]
    pub versions_days: u32,
    /// Oldest versions are removed while they take more than this share of their disk.
    #[serde(default = "default_versions_disk_percent")]
    pub versions_disk_percent: u8,
}

impl PairConfig {
    /// A pair with the default versions policy and no excludes.
    pub fn new(name: &str, left: PathBuf, right: PathBuf, mode: Mode) -> PairConfig {
        PairConfig {
            name: name.to_string(),
            left,
            right,
            mode,
            excludes: Vec::new(),
            versions_days: DEFAULT_VERSIONS_DAYS,
            versions_disk_percent: DEFAULT_VERSIONS_DISK_PERCENT,
        }
    }
}

impl PairConfig {
    /// Where the right side is.
    pub fn right_location(&self) -> Result<Location, FolderError> {
        let text = self
            .right
            .to_str()
            .ok_or_else(|| FolderError::NotAbsolute {
                side: "right",
                path: self.right.clone(),
            })?;
        Ok(Location::parse(text)?)
    }

    /// The pair's folders on this computer: the left, and the right unless it is remote.
    pub fn local_folders(&self) -> Vec<PathBuf> {
        let mut folders = vec![self.left.clone()];
        if !matches!(self.right_location(), Ok(location) if location.is_remote()) {
            folders.push(self.right.clone());
        }
        folders
    }

    /// Its local folders that do not exist (a link counts as there, even one that points
    /// nowhere: it is not for Sync Center to replace).
    pub fn missing_folders(&self) -> Vec<PathBuf> {
        self.local_folders()
            .into_iter()
            .filter(|path| !path.exists() && !path.is_symlink())
            .collect()
    }
}

#[derive(Default, Deserialize)]
struct PairsFile {
    /// The rclone program remote pairs use (default: `rclone` on PATH).
    #[serde(default)]
    rclone: Option<PathBuf>,
    #[serde(default)]
    pair: Vec<toml::Spanned<PairConfig>>,
}

#[derive(Serialize)]
struct PairsOut<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    rclone: Option<&'a Path>,
    pair: &'a [PairConfig],
}

/// The file the pairs live in.
pub fn config_file(home: &Home) -> PathBuf {
    home.config_dir.join("folders.toml")
}

/// Loads the pairs; a missing file means none, a damaged one is an error (never overwritten).
pub fn load(home: &Home) -> Result<Vec<PairConfig>, FolderError> {
    Ok(load_file(home)?.1)
}

/// The rclone program set at the top of `folders.toml` (`rclone = "/path/to/rclone"`).
pub fn rclone_program(home: &Home) -> Result<Option<PathBuf>, FolderError> {
    Ok(load_file(home)?.0)
}

fn load_file(home: &Home) -> Result<(Option<PathBuf>, Vec<PairConfig>), FolderError> {
    let path = config_file(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, Vec::new())),
        Err(source) => return Err(FolderError::ReadConfig { path, source }),
    };
    let file: PairsFile = toml::from_str(&text).map_err(|e| FolderError::DamagedConfig {
        path: path.clone(),
        reason: match e.span() {
            Some(span) => format!("line {}: {}", line_of(&text, span.start), e.message()),
            None => e.message().to_string(),
        },
    })?;
    // Checked as `folder add` checks a new pair: a hand edit cannot nest roots or put an
    // archive outside the data folder.
    let mut pairs: Vec<PairConfig> = Vec::with_capacity(file.pair.len());
    for spanned in file.pair {
        let start = spanned.span().start;
        let pair = spanned.into_inner();
        validate(&pair, &pairs).map_err(|e| FolderError::DamagedConfig {
            path: path.clone(),
            reason: format!("line {}: {e}", line_of(&text, start)),
        })?;
        pairs.push(pair);
    }
    Ok((file.rclone, pairs))
}

/// The line (from 1) that byte `at` of `text` is on.
fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|&&c| c == b'\n')
        .count()
        + 1
}

/// Adds a pair after checking it against the others.
pub fn add(home: &Home, pair: PairConfig) -> Result<(), FolderError> {
    let (rclone, mut pairs) = load_file(home)?;
    validate_typed(&pair, &pairs)?;
    refuse_same_folders(&pair, &pairs, None)?;
    pairs.push(pair);
    save(home, rclone.as_deref(), pairs)
}

/// Puts `pair` in the place of the pair named `name` (an edit: the list keeps its order,
/// and the file is written once, so a failed check changes nothing).
pub fn replace(home: &Home, name: &str, pair: PairConfig) -> Result<(), FolderError> {
    let (rclone, mut pairs) = load_file(home)?;
    let at = pairs
        .iter()
        .position(|p| p.name == name)
        .ok_or_else(|| FolderError::UnknownPair(name.to_string()))?;
    let was = pairs.remove(at);
    validate_typed(&pair, &pairs)?;
    refuse_same_folders(&pair, &pairs, Some(&was))?;
    pairs.insert(at, pair);
    save(home, rclone.as_deref(), pairs)
}

/// Removes the pair with this name.
pub fn remove(home: &Home, name: &str) -> Result<(), FolderError> {
    let (rclone, mut pairs) = load_file(home)?;
    let before = pairs.len();
    pairs.retain(|p| p.name != name);
    if pairs.len() == before {
        return Err(FolderError::UnknownPair(name.to_string()));
    }
    save(home, rclone.as_deref(), pairs)
}

/// Finds one pair by name.
pub fn find(home: &Home, name: &str) -> Result<PairConfig, FolderError> {
    load(home)?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| FolderError::UnknownPair(name.to_string()))
}

fn save(home: &Home, rclone: Option<&Path>, pairs: Vec<PairConfig>) -> Result<(), FolderError> {
    let path = config_file(home);
    let out = PairsOut {
        rclone,
        pair: &pairs,
    };
    let text = toml::to_string(&out).map_err(|e| FolderError::WriteConfig {
        path: path.clone(),
        source: std::io::Error::other(e),
    })?;
    std::fs::create_dir_all(&home.config_dir)
        .and_then(|()| write_atomically(&path, text.as_bytes()))
        .map_err(|source| FolderError::WriteConfig { path, source })
}

/// Checks a pair the user gave just now: as a stored one, and its right side as typed
/// ([`Location::parse_typed`]).
fn validate_typed(pair: &PairConfig, others: &[PairConfig]) -> Result<(), FolderError> {
    if let Some(text) = pair.right.to_str() {
        Location::parse_typed(text)?;
    }
    validate(pair, others)
}

/// Refuses a new pair, or an edit (`was`: the pair before), that joins the same two folders
/// as another pair. An edit of a pair that already did (a file written by hand, which still
/// loads) is not refused for it.
fn refuse_same_folders(
    pair: &PairConfig,
    others: &[PairConfig],
    was: Option<&PairConfig>,
) -> Result<(), FolderError> {
    let made_now = |other: &&PairConfig| {
        same_folders(pair, other) && !was.is_some_and(|was| same_folders(was, other))
    };
    match others.iter().find(made_now) {
        Some(other) => Err(FolderError::SameFolders {
            other: other.name.clone(),
            left: pair.left.clone(),
            right: pair.right.clone(),
        }),
        None => Ok(()),
    }
}

/// Whether two pairs join the same two folders, either way round.
fn same_folders(a: &PairConfig, b: &PairConfig) -> bool {
    let sides = |p: &PairConfig| {
        let right = match p.right_location() {
            // (`nas:photos/` is `nas:photos`; `nas:/` is not `nas:`.)
            Ok(location) if location.is_remote() => {
                let text = p.right.to_string_lossy();
                let trimmed = text.trim_end_matches('/');
                PathBuf::from(match trimmed.ends_with(':') {
                    true => &text,
                    false => trimmed,
                })
            }
            _ => normalize(&p.right),
        };
        (normalize(&p.left), right)
    };
    let (a, b) = (sides(a), sides(b));
    a == b || (a.0 == b.1 && a.1 == b.0)
}

fn validate(pair: &PairConfig, others: &[PairConfig]) -> Result<(), FolderError> {
    let name = pair.name.trim();
    if name.is_empty() {
        return Err(FolderError::EmptyName);
    }
    if pair.name.contains('/') || pair.name.contains('\0') || pair.name.contains("..") {
        return Err(FolderError::SlashInName(pair.name.clone()));
    }
    if others.iter().any(|p| p.name == pair.name) {
        return Err(FolderError::DuplicateName(pair.name.clone()));
    }
    if !pair.left.is_absolute() {
        return Err(FolderError::NotAbsolute {
            side: "left",
            path: pair.left.clone(),
        });
    }
    pair.right_location()?;
    if pair.versions_disk_percent > 100 {
        return Err(FolderError::BadShare(pair.versions_disk_percent));
    }
    check_roots(pair)?;
    super::filter::Filter::new(Path::new("/"), &pair.excludes)?;
    Ok(())
}

/// The two roots are different folders and neither holds the other, links and `..`
/// worked out (checked again before each sync: a link made later can nest them).
pub fn check_roots(pair: &PairConfig) -> Result<(), FolderError> {
    if pair.right_location()?.is_remote() {
        // Another storage: the folders cannot hold each other.
        return Ok(());
    }
    let left = normalize(&pair.left);
    let right = normalize(&pair.right);
    if left == right {
        return Err(FolderError::SameFolder(pair.left.clone()));
    }
    if right.starts_with(&left) {
        return Err(FolderError::Nested {
            inner: pair.right.clone(),
            outer: pair.left.clone(),
        });
    }
    if left.starts_with(&right) {
        return Err(FolderError::Nested {
            inner: pair.left.clone(),
            outer: pair.right.clone(),
        });
    }
    Ok(())
}

/// The real path when the folder exists (so links and `..` cannot hide nesting), else the
/// path with `.` and `..` worked out by hand.
fn normalize(path: &Path) -> PathBuf {
    if let Ok(real) = path.canonicalize() {
        return real;
    }
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(name: &str, left: &str, right: &str) -> PairConfig {
        PairConfig::new(name, left.into(), right.into(), Mode::TwoWay)
    }

    /// A home whose pairs file holds `text`, as written by hand.
    fn home_with_file(text: &str) -> (tempfile::TempDir, Home) {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        std::fs::create_dir_all(&home.config_dir).unwrap();
        std::fs::write(config_file(&home), text).unwrap();
        (dir, home)
    }

    #[test]
    fn pairs_are_added_listed_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        assert!(load(&home).unwrap().is_empty());
        add(&home, pair("docs", "/a/docs", "/b/docs")).unwrap();
        let mut photos = pair("photos", "/a/p", "/b/p");
        photos.mode = Mode::Mirror;
        photos.excludes = vec!["*.tmp".into()];
        add(&home, photos.clone()).unwrap();
        let loaded = load(&home).unwrap();
        assert_eq!(loaded.len(), 2);
        assert_eq!(loaded[1], photos);
        remove(&home, "docs").unwrap();
        assert_eq!(load(&home).unwrap(), vec![photos]);
        assert!(matches!(
            remove(&home, "docs"),
            Err(FolderError::UnknownPair(_))
        ));
    }

    #[test]
    fn two_pairs_of_the_same_folders_written_by_hand_still_load_and_can_be_edited() {
        let two = "[[pair]]\nname = \"a\"\nleft = \"/l/x\"\nright = \"/r/x\"\nmode = \"two-way\"\n";
        let (_dir, home) = home_with_file(&format!("{two}{}", two.replace("\"a\"", "\"b\"")));
        assert_eq!(load(&home).unwrap().len(), 2);
        let mut b = pair("b", "/l/x", "/r/x");
        b.mode = Mode::Mirror;
        replace(&home, "b", b.clone()).unwrap();
        assert_eq!(load(&home).unwrap()[1], b);
        // A third pair made into one more of them is refused.
        add(&home, pair("c", "/l/c", "/r/c")).unwrap();
        let error = replace(&home, "c", pair("c", "/r/x", "/l/x")).unwrap_err();
        assert!(matches!(error, FolderError::SameFolders { .. }), "{error}");
    }

    #[test]
    fn an_edit_keeps_the_pairs_place_and_a_refused_one_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        for (name, left) in [("a", "/l/a"), ("b", "/l/b"), ("c", "/l/c")] {
            add(&home, pair(name, left, &format!("/r/{name}"))).unwrap();
        }
        let mut b = pair("b", "/l/b2", "/r/b");
        b.mode = Mode::Mirror;
        replace(&home, "b", b.clone()).unwrap();
        let names = |home: &Home| -> Vec<String> {
            load(home).unwrap().into_iter().map(|p| p.name).collect()
        };
        assert_eq!(names(&home), ["a", "b", "c"]);
        assert_eq!(load(&home).unwrap()[1], b);
        // Renamed to another pair's name: refused, the file as it was.
        let before = load(&home).unwrap();
        assert!(matches!(
            replace(&home, "b", pair("c", "/l/x", "/r/x")),
            Err(FolderError::DuplicateName(_))
        ));
        assert_eq!(load(&home).unwrap(), before);
        assert!(matches!(
            replace(&home, "zz", pair("zz", "/l/z", "/r/z")),
            Err(FolderError::UnknownPair(_))
        ));
    }

    #[test]
    fn a_stored_scp_style_pair_still_loads_but_is_not_added_again() {
        let (_dir, home) = home_with_file(
            "[[pair]]\nname = \"old\"\nleft = \"/l/old\"\nright = \"bob:secret@nas:/srv\"\nmode = \"two-way\"\n",
        );
        assert_eq!(load(&home).unwrap().len(), 1);
        let error = add(&home, pair("new", "/l/new", "bob:secret@nas:/x")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("looks like USER:PASSWORD@HOST:FOLDER")
        );
        assert_eq!(load(&home).unwrap().len(), 1);
    }

    #[test]
    fn bad_pairs_are_refused_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        add(&home, pair("docs", "/a/docs", "/b/docs")).unwrap();
        add(&home, pair("photos", "/a/photos", "nas:photos")).unwrap();
        // The same folder beside other folders is fine (one folder kept in two places).
        add(&home, pair("photos2", "/a/photos", "nas:photos-copy")).unwrap();
        let cases = [
            (pair(" ", "/a", "/b"), "must not be empty"),
            (pair("a/b", "/a", "/b"), "must not contain '/'"),
            (pair("../x", "/a", "/b"), "must not contain '/'"),
            (pair("..", "/a", "/b"), "must not contain '/'"),
            (pair("docs", "/x", "/y"), "already exists"),
            (pair("n", "rel", "/b"), "absolute"),
            (
                pair("n", "/a", "rel"),
                "neither an absolute folder nor a remote",
            ),
            (pair("n", "/a", "webdav://h/x"), "needs a user name"),
            (pair("n", "/a/x", "/a/x/"), "same folder"),
            (pair("n", "/a", "/a/x"), "inside"),
            (pair("n", "/a/x/../y/z", "/a/y"), "inside"),
            (pair("n", "/a/docs/", "/b/docs"), "\"docs\" already syncs"),
            (pair("n", "/b/docs", "/a/./docs"), "\"docs\" already syncs"),
            (
                pair("n", "/a/photos", "nas:photos"),
                "\"photos\" already syncs",
            ),
        ];
        for (bad, why) in cases {
            let error = add(&home, bad.clone()).unwrap_err().to_string();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it_and_is_kept() {
        let (_dir, home) = home_with_file("[[pair]]\nname = 3\n");
        let error = load(&home).unwrap_err().to_string();
        assert!(error.contains("folders.toml"), "{error}");
        assert!(add(&home, pair("x", "/a", "/b")).is_err());
        assert_eq!(
            std::fs::read_to_string(config_file(&home)).unwrap(),
            "[[pair]]\nname = 3\n"
        );
    }

    #[test]
    fn hand_edited_pairs_are_checked_on_load_naming_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        std::fs::create_dir_all(&home.config_dir).unwrap();
        let cases = [
            (
                "[[pair]]\nname = \"ok\"\nleft = \"/a\"\nright = \"/b\"\nmode = \"two-way\"\n\n[[pair]]\nname = \"nested\"\nleft = \"/l\"\nright = \"/l/sub\"\nmode = \"mirror\"\n",
                "line 7: /l/sub is inside /l",
            ),
            (
                "[[pair]]\nname = \"../../../escaped\"\nleft = \"/a\"\nright = \"/b\"\nmode = \"two-way\"\n",
                "line 1: the pair name \"../../../escaped\" must not contain",
            ),
            (
                "[[pair]]\nname = \"x\"\nleft = \"/a\"\nright = \"/b\"\nmode = \"two-way\"\nversions_disk_percent = 300\n",
                "line 6",
            ),
            (
                "[[pair]]\nname = \"x\"\nleft = \"/a\"\nright = \"/b\"\nmode = \"two-way\"\nversions_disk_percent = 101\n",
                "line 1: versions may take at most 100% of the disk, not 101%",
            ),
        ];
        for (text, why) in cases {
            std::fs::write(config_file(&home), text).unwrap();
            let error = load(&home).unwrap_err().to_string();
            assert!(error.contains("folders.toml"), "{error}");
            assert!(error.contains(why), "{error}");
            assert_eq!(std::fs::read_to_string(config_file(&home)).unwrap(), text);
        }
    }

    #[test]
    fn versions_policy_defaults_and_round_trips() {
        let (_dir, home) = home_with_file(
            "[[pair]]\nname = \"x\"\nleft = \"/a\"\nright = \"/b\"\nmode = \"two-way\"\n",
        );
        let loaded = load(&home).unwrap();
        assert_eq!(loaded[0].versions_days, DEFAULT_VERSIONS_DAYS);
        assert_eq!(
            loaded[0].versions_disk_percent,
            DEFAULT_VERSIONS_DISK_PERCENT
        );
        let mut custom = pair("y", "/c", "/d");
        custom.versions_days = 7;
        custom.versions_disk_percent = 3;
        add(&home, custom.clone()).unwrap();
        assert_eq!(load(&home).unwrap()[1], custom);
    }

    #[test]
    fn modes_read_and_print_as_words() {
        for mode in Mode::ALL {
            assert_eq!(mode.to_string().parse::<Mode>().unwrap(), mode);
        }
        assert!("sideways".parse::<Mode>().is_err());
    }

    #[test]
    fn a_tilde_is_the_home_folder_only_alone_or_before_a_slash() {
        let home = Some(Path::new("/home/ann"));
        let table = [
            ("~", "/home/ann"),
            ("~/", "/home/ann/"),
            ("~/Documents", "/home/ann/Documents"),
            ("~//Documents", "/home/ann/Documents"),
            ("~bob/Documents", "~bob/Documents"),
            ("/srv/~/x", "/srv/~/x"),
            ("Documents", "Documents"),
        ];
        for (typed, expected) in table {
            assert_eq!(
                expand_home_with(typed, home),
                PathBuf::from(expected),
                "{typed}"
            );
        }
        assert_eq!(expand_home_with("~/x", None), PathBuf::from("~/x"));
    }

    #[test]
    fn a_pair_is_described_with_its_direction_and_home_as_tilde() {
        let home = Some(Path::new("/home/ann"));
        let pair = |left: &str, right: &str, mode| PairConfig {
            name: "p".into(),
            left: left.into(),
            right: right.into(),
            mode,
            excludes: Vec::new(),
            versions_days: DEFAULT_VERSIONS_DAYS,
            versions_disk_percent: DEFAULT_VERSIONS_DISK_PERCENT,
        };
        let table = [
            (
                pair("/home/ann/Docs", "/media/usb/Docs", Mode::TwoWay),
                "~/Docs ↔ /media/usb/Docs",
            ),
            (
                pair("/home/ann", "/backup/ann", Mode::Mirror),
                "~ ➡ /backup/ann (mirror)",
            ),
            (
                pair("/home/annie/x", "/home/ann/y", Mode::Contribute),
                "/home/annie/x ➡ ~/y (contribute)",
            ),
            (
                pair(
                    "/home/ann/Docs",
                    "nextcloud://ann@cloud.example.org/Documents",
                    Mode::TwoWay,
                ),
                "~/Docs ↔ ann@cloud.example.org:Documents",
            ),
            (
                pair(
                    "/home/ann/Web",
                    "webdavs://ann@dav.example.org:8443/files/Sync",
                    Mode::Mirror,
                ),
                "~/Web ➡ ann@dav.example.org:8443:files/Sync (mirror)",
            ),
            (
                pair(
                    "/home/ann/Data",
                    "sftp://ann@nas.local/srv/data",
                    Mode::TwoWay,
                ),
                "~/Data ↔ ann@nas.local:/srv/data",
            ),
            (
                pair(
                    "/home/ann/Notes",
                    "sftp://ann@nas.local/~/Notes",
                    Mode::TwoWay,
                ),
                "~/Notes ↔ ann@nas.local:Notes",
            ),
            (
                pair("/home/ann/Drive", "gdrive:Backup/ann", Mode::Contribute),
                "~/Drive ➡ gdrive:Backup/ann (contribute)",
            ),
        ];
        for (pair, expected) in table {
            assert_eq!(describe_with_home(&pair, home), expected);
        }
        let folders = |right: &str| pair("/home/ann/Docs", right, Mode::TwoWay).local_folders();
        assert_eq!(
            folders("/media/usb/Docs"),
            [
                PathBuf::from("/home/ann/Docs"),
                PathBuf::from("/media/usb/Docs")
            ]
        );
        for remote in ["nextcloud://ann@cloud.example.org/Documents", "gdrive:Docs"] {
            assert_eq!(
                folders(remote),
                [PathBuf::from("/home/ann/Docs")],
                "{remote}"
            );
        }
    }
}
