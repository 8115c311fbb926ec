//! The folder pairs the user set up, kept in `folders.toml` in the center's config folder.

use super::FolderError;
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

/// One folder pair. Its name is the item id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairConfig {
    pub name: String,
    pub left: PathBuf,
    pub right: PathBuf,
    pub mode: Mode,
    /// Gitignore patterns, matched on paths relative to the roots.
    #[serde(default)]
    pub excludes: Vec<String>,
}

#[derive(Default, Serialize, Deserialize)]
struct PairsFile {
    #[serde(default)]
    pair: Vec<PairConfig>,
}

/// The file the pairs live in.
pub fn config_file(home: &Home) -> PathBuf {
    home.config_dir.join("folders.toml")
}

/// Loads the pairs; a missing file means none, a damaged one is an error (never overwritten).
pub fn load(home: &Home) -> Result<Vec<PairConfig>, FolderError> {
    let path = config_file(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(FolderError::ReadConfig { path, source }),
    };
    let file: PairsFile = toml::from_str(&text).map_err(|e| FolderError::DamagedConfig {
        path: path.clone(),
        reason: e.message().to_string(),
    })?;
    Ok(file.pair)
}

/// Adds a pair after checking it against the others.
pub fn add(home: &Home, pair: PairConfig) -> Result<(), FolderError> {
    let mut pairs = load(home)?;
    validate(&pair, &pairs)?;
    pairs.push(pair);
    save(home, pairs)
}

/// Removes the pair with this name.
pub fn remove(home: &Home, name: &str) -> Result<(), FolderError> {
    let mut pairs = load(home)?;
    let before = pairs.len();
    pairs.retain(|p| p.name != name);
    if pairs.len() == before {
        return Err(FolderError::UnknownPair(name.to_string()));
    }
    save(home, pairs)
}

/// Finds one pair by name.
pub fn find(home: &Home, name: &str) -> Result<PairConfig, FolderError> {
    load(home)?
        .into_iter()
        .find(|p| p.name == name)
        .ok_or_else(|| FolderError::UnknownPair(name.to_string()))
}

fn save(home: &Home, pairs: Vec<PairConfig>) -> Result<(), FolderError> {
    let path = config_file(home);
    let text =
        toml::to_string(&PairsFile { pair: pairs }).map_err(|e| FolderError::WriteConfig {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
    std::fs::create_dir_all(&home.config_dir)
        .and_then(|()| write_atomically(&path, text.as_bytes()))
        .map_err(|source| FolderError::WriteConfig { path, source })
}

fn validate(pair: &PairConfig, others: &[PairConfig]) -> Result<(), FolderError> {
    let name = pair.name.trim();
    if name.is_empty() {
        return Err(FolderError::EmptyName);
    }
    if pair.name.contains('/') {
        return Err(FolderError::SlashInName(pair.name.clone()));
    }
    if others.iter().any(|p| p.name == pair.name) {
        return Err(FolderError::DuplicateName(pair.name.clone()));
    }
    for (side, path) in [("left", &pair.left), ("right", &pair.right)] {
        if !path.is_absolute() {
            return Err(FolderError::NotAbsolute {
                side,
                path: path.clone(),
            });
        }
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
    super::scan::Filter::new(Path::new("/"), &pair.excludes)?;
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
        PairConfig {
            name: name.into(),
            left: left.into(),
            right: right.into(),
            mode: Mode::TwoWay,
            excludes: vec![],
        }
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
    fn bad_pairs_are_refused_with_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        add(&home, pair("docs", "/a/docs", "/b/docs")).unwrap();
        let cases = [
            (pair(" ", "/a", "/b"), "must not be empty"),
            (pair("a/b", "/a", "/b"), "must not contain '/'"),
            (pair("docs", "/x", "/y"), "already exists"),
            (pair("n", "rel", "/b"), "absolute"),
            (pair("n", "/a/x", "/a/x/"), "same folder"),
            (pair("n", "/a", "/a/x"), "inside"),
            (pair("n", "/a/x/../y/z", "/a/y"), "inside"),
        ];
        for (bad, why) in cases {
            let error = add(&home, bad.clone()).unwrap_err().to_string();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_it_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        std::fs::create_dir_all(&home.config_dir).unwrap();
        std::fs::write(config_file(&home), "[[pair]]\nname = 3\n").unwrap();
        let error = load(&home).unwrap_err().to_string();
        assert!(error.contains("folders.toml"), "{error}");
        assert!(add(&home, pair("x", "/a", "/b")).is_err());
        assert_eq!(
            std::fs::read_to_string(config_file(&home)).unwrap(),
            "[[pair]]\nname = 3\n"
        );
    }

    #[test]
    fn modes_read_and_print_as_words() {
        for mode in Mode::ALL {
            assert_eq!(mode.to_string().parse::<Mode>().unwrap(), mode);
        }
        assert!("sideways".parse::<Mode>().is_err());
    }
}
