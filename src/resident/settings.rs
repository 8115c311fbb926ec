//! The resident instance's settings (`CONFIG/resident.json`) and its schedules' remembered
//! due times (`DATA/schedules-due.json`). Both are small JSON files written atomically; a
//! file that cannot be read is reported by name, left untouched, and defaults are used.

use crate::core::store::{Home, write_atomically};
use crate::resident::schedule::{Due, Schedule};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the user chose for the running instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Closing the window leaves Sync Center running in the background (tray, schedules,
    /// triggers). Turned on with the first schedule or "Start at logon".
    pub keep_running: bool,
    /// An XDG autostart entry starts `synccenter --background` at logon, and the checked
    /// items sync then (SYNCMGRFLAG logon).
    pub start_at_logon: bool,
    /// Sync the checked items when the session has been idle this long (`None`: off).
    pub idle_after_seconds: Option<u64>,
    /// Sync a folder pair when its files change (inotify), after a quiet period.
    pub sync_on_change: bool,
    /// The quiet period after the last change before the pair syncs.
    pub change_quiet_seconds: u64,
    /// Full rescans of watched pairs even without changes (the watcher is only a hint).
    pub rescan_seconds: u64,
    pub schedules: Vec<Schedule>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            keep_running: false,
            start_at_logon: false,
            idle_after_seconds: None,
            sync_on_change: false,
            change_quiet_seconds: 2,
            rescan_seconds: 3600,
            schedules: Vec::new(),
        }
    }
}

impl Settings {
    /// Whether anything runs without the user: then the instance must outlive its window.
    pub fn works_in_background(&self) -> bool {
        self.keep_running
            || self.start_at_logon
            || self.idle_after_seconds.is_some()
            || self.sync_on_change
            || self.schedules.iter().any(|s| s.enabled)
    }
}

pub fn settings_file(home: &Home) -> PathBuf {
    home.config_dir.join("resident.json")
}

fn due_file(home: &Home) -> PathBuf {
    home.data_dir.join("schedules-due.json")
}

/// Schedules' due times by schedule name.
pub type DueTimes = BTreeMap<String, Due>;

/// A JSON file loaded with its problem, if any. A file with a problem is never overwritten.
pub struct Loaded<T> {
    pub value: T,
    pub problem: Option<String>,
}

fn load<T: DeserializeOwned + Default>(path: &Path, what: &str) -> Loaded<T> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded {
            value: T::default(),
            problem: None,
        },
        Err(e) => Loaded {
            value: T::default(),
            problem: Some(format!(
                "Sync Center could not read {what} from {}: {e}.",
                path.display()
            )),
        },
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(value) => Loaded {
                value,
                problem: None,
            },
            Err(e) => Loaded {
                value: T::default(),
                problem: Some(format!(
                    "{what} in {} could not be read ({e}). Sync Center uses defaults and leaves the file as it is until it is fixed.",
                    path.display()
                )),
            },
        },
    }
}

pub fn load_settings(home: &Home) -> Loaded<Settings> {
    let loaded: Loaded<Settings> = load(&settings_file(home), "The background settings");
    for schedule in &loaded.value.schedules {
        if let Err(e) = schedule.when.validate() {
            return Loaded {
                value: loaded.value.clone(),
                problem: Some(format!(
                    "The schedule \"{}\" in {} is not usable: {e}.",
                    schedule.name,
                    settings_file(home).display()
                )),
            };
        }
    }
    loaded
}

pub fn save_settings(home: &Home, settings: &Settings) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(settings).expect("settings serialize");
    write_atomically(&settings_file(home), &json)
}

pub fn load_due(home: &Home) -> Loaded<DueTimes> {
    load(&due_file(home), "The schedules' due times")
}

pub fn save_due(home: &Home, due: &DueTimes) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(due).expect("due times serialize");
    write_atomically(&due_file(home), &json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::ItemKey;
    use crate::resident::schedule::When;

    #[test]
    fn settings_round_trip_and_a_damaged_file_is_named_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        home.create_dirs().unwrap();
        assert_eq!(load_settings(&home).value, Settings::default());
        let settings = Settings {
            schedules: vec![Schedule {
                name: "often".into(),
                items: vec![ItemKey::new("demo", "photos")],
                when: When::Every { seconds: 2 },
                enabled: true,
            }],
            ..Settings::default()
        };
        assert!(settings.works_in_background());
        save_settings(&home, &settings).unwrap();
        assert_eq!(load_settings(&home).value, settings);

        std::fs::write(settings_file(&home), b"{ not json").unwrap();
        let loaded = load_settings(&home);
        assert_eq!(loaded.value, Settings::default());
        let problem = loaded.problem.unwrap();
        assert!(problem.contains("resident.json"), "{problem}");
        assert_eq!(std::fs::read(settings_file(&home)).unwrap(), b"{ not json");
    }
}
