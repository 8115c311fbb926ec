//! Handler manifests: a TOML file per external handler naming the program to start.

use crate::core::model::Icon;
use crate::handlers::external::protocol::DEFAULT_MAX_MESSAGE_BYTES;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A handler manifest, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// `id` from the file, or `ext:<file stem>`.
    pub id: String,
    pub name: String,
    /// The program as written; a relative path with a `/` is taken from the manifest's folder.
    pub program: String,
    pub args: Vec<String>,
    pub icon: Icon,
    /// Where the program runs: `working_dir`, or the manifest's folder.
    pub working_dir: PathBuf,
    pub env: BTreeMap<String, String>,
    pub timeouts: Timeouts,
    pub max_message_bytes: usize,
    /// Whether two sessions may run the program at once; by default a later session waits
    /// for the earlier one (a handler that keeps state of its own is safe from itself).
    pub concurrent_sessions: bool,
    /// The file this came from.
    pub path: PathBuf,
}

/// How long Sync Center waits for a handler before ending it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timeouts {
    /// For `initialize`, `info`, `enumerate` and `shutdown`.
    pub answer: Duration,
    /// For `prepare`, `synchronize`, `properties` and `show_error`: how long the handler may
    /// send nothing at all (no progress, no answer). Time in dialogs does not count.
    pub silence: Duration,
    /// How long the handler has to honor a stop before it is abandoned and its process
    /// ended (the engine's stop timeout for this handler).
    pub stop: Duration,
    /// How long the program may take to exit after `shutdown` (saving its own state, say)
    /// before its process group is killed.
    pub shutdown: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            answer: Duration::from_secs(20),
            silence: Duration::from_secs(300),
            stop: Duration::from_secs(10),
            shutdown: Duration::from_secs(2),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    id: Option<String>,
    name: String,
    program: String,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    icon: Option<String>,
    #[serde(default)]
    working_dir: Option<PathBuf>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    timeouts: TimeoutsFile,
    #[serde(default)]
    max_message_bytes: Option<usize>,
    #[serde(default)]
    concurrent_sessions: bool,
}

/// Timeouts in seconds, fractions allowed.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct TimeoutsFile {
    answer: Option<f64>,
    silence: Option<f64>,
    stop: Option<f64>,
    shutdown: Option<f64>,
}

impl Manifest {
    /// Reads a manifest file. The error says what is wrong in words, with a line number.
    pub fn load(path: &Path) -> Result<Manifest, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
        Manifest::parse(&text, path)
    }

    /// Parses manifest text as if read from `path`.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, String> {
        let file: ManifestFile = toml::from_str(text).map_err(|e| describe_toml_error(text, &e))?;
        let folder = path.parent().unwrap_or(Path::new("."));
        let stem = path
            .file_stem()
            .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
        let id = file.id.unwrap_or_else(|| format!("ext:{stem}"));
        if id.trim().is_empty() {
            return Err("`id` is empty".into());
        }
        if file.name.trim().is_empty() {
            return Err("`name` is empty".into());
        }
        if file.program.trim().is_empty() {
            return Err("`program` is empty".into());
        }
        let defaults = Timeouts::default();
        let timeouts = Timeouts {
            answer: seconds("timeouts.answer", file.timeouts.answer, defaults.answer)?,
            silence: seconds("timeouts.silence", file.timeouts.silence, defaults.silence)?,
            stop: seconds("timeouts.stop", file.timeouts.stop, defaults.stop)?,
            shutdown: seconds(
                "timeouts.shutdown",
                file.timeouts.shutdown,
                defaults.shutdown,
            )?,
        };
        let max_message_bytes = file.max_message_bytes.unwrap_or(DEFAULT_MAX_MESSAGE_BYTES);
        if max_message_bytes < 1024 {
            return Err("`max_message_bytes` must be at least 1024".into());
        }
        let program = if file.program.contains('/') && Path::new(&file.program).is_relative() {
            folder.join(&file.program).to_string_lossy().into_owned()
        } else {
            file.program
        };
        let working_dir = match file.working_dir {
            Some(dir) if dir.is_relative() => folder.join(dir),
            Some(dir) => dir,
            None => folder.to_path_buf(),
        };
        Ok(Manifest {
            id,
            name: file.name,
            program,
            args: file.args,
            icon: file
                .icon
                .as_deref()
                .map(Icon::from_name)
                .unwrap_or(Icon::Program),
            working_dir,
            env: file.env,
            timeouts,
            max_message_bytes,
            concurrent_sessions: file.concurrent_sessions,
            path: path.to_path_buf(),
        })
    }

    /// Why the program cannot be started, when that shows without starting it: it is not
    /// there (on its path, or anywhere in PATH for a bare name), or it is not executable.
    pub fn program_problem(&self) -> Option<String> {
        let candidates: Vec<PathBuf> = if self.program.contains('/') {
            vec![PathBuf::from(&self.program)]
        } else {
            std::env::var_os("PATH")
                .map(|path| {
                    std::env::split_paths(&path)
                        .map(|dir| dir.join(&self.program))
                        .collect()
                })
                .unwrap_or_default()
        };
        let files: Vec<&PathBuf> = candidates.iter().filter(|p| p.is_file()).collect();
        if files.is_empty() {
            return Some(format!("its program {} was not found", self.program));
        }
        let runnable = files.iter().any(|file| {
            std::fs::metadata(file).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o111 != 0
            })
        });
        (!runnable).then(|| format!("its program {} is not executable", self.program))
    }

    /// The program's file name, to name it in messages.
    pub fn program_name(&self) -> String {
        Path::new(&self.program).file_name().map_or_else(
            || self.program.clone(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

fn seconds(field: &str, value: Option<f64>, default: Duration) -> Result<Duration, String> {
    match value {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
        Some(_) => Err(format!("`{field}` must be a positive number of seconds")),
    }
}

/// "line 3: missing field `program`" from toml's error.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end_matches('\n');
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        Manifest::parse(text, Path::new("/etc/synccenter/handlers/git-sync.toml"))
    }

    #[test]
    fn a_minimal_manifest_gets_defaults() {
        let m = parse("name = \"Git\"\nprogram = \"git-sync\"\n").unwrap();
        assert_eq!(m.id, "ext:git-sync");
        assert_eq!(m.program, "git-sync");
        assert_eq!(m.working_dir, PathBuf::from("/etc/synccenter/handlers"));
        assert_eq!(m.icon, Icon::Program);
        assert_eq!(m.timeouts, Timeouts::default());
        assert_eq!(m.max_message_bytes, DEFAULT_MAX_MESSAGE_BYTES);
    }

    #[test]
    fn every_field_is_read() {
        let m = parse(
            r#"
id = "git"
name = "Git repositories"
program = "./git_sync.py"
args = ["--config", "repos.json"]
icon = "git"
working_dir = "work"
max_message_bytes = 4096
env = { GIT_TERMINAL_PROMPT = "0" }
[timeouts]
answer = 0.5
silence = 2
stop = 1.5
shutdown = 4
"#,
        )
        .unwrap();
        assert_eq!(m.id, "git");
        assert_eq!(m.program, "/etc/synccenter/handlers/./git_sync.py");
        assert_eq!(m.program_name(), "git_sync.py");
        assert_eq!(m.args, ["--config", "repos.json"]);
        assert_eq!(m.icon, Icon::Repository);
        assert_eq!(
            m.working_dir,
            PathBuf::from("/etc/synccenter/handlers/work")
        );
        assert_eq!(m.env["GIT_TERMINAL_PROMPT"], "0");
        assert_eq!(m.timeouts.answer, Duration::from_millis(500));
        assert_eq!(m.timeouts.stop, Duration::from_millis(1500));
        assert_eq!(m.timeouts.shutdown, Duration::from_secs(4));
        assert_eq!(m.max_message_bytes, 4096);
    }

    #[test]
    fn problems_are_told_in_words_with_a_line() {
        let missing = parse("# a handler\nname = \"Git\"\nargs = []\n").unwrap_err();
        assert!(missing.contains("missing field `program`"), "{missing}");
        let typo = parse("name = \"Git\"\nprogram = \"x\"\nprogramm = \"y\"\n").unwrap_err();
        assert!(typo.starts_with("line 3:"), "{typo}");
        assert!(typo.contains("programm"), "{typo}");
        let syntax = parse("name = \"Git\nprogram = \"x\"\n").unwrap_err();
        assert!(syntax.starts_with("line 1:"), "{syntax}");
        let timeout = parse("name = \"G\"\nprogram = \"x\"\n[timeouts]\nstop = -1\n").unwrap_err();
        assert!(timeout.contains("timeouts.stop"), "{timeout}");
        assert!(
            parse("name = \" \"\nprogram = \"x\"\n")
                .unwrap_err()
                .contains("`name`")
        );
    }
}
