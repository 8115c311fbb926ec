//! The resident instance's settings (`CONFIG/resident.json`) and its schedules' remembered
//! due times (`DATA/schedules-due.json`). Both are small JSON files written atomically and
//! read as the store reads its files: a damaged one is moved aside and said, one that cannot
//! be read is said and never overwritten.

use crate::core::model::ItemKey;
use crate::core::store::{Home, load_json, write_atomically};
use crate::resident::schedule::{Due, Schedule};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What the user chose for the running instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Closing the window leaves Sync Center running in the background (tray, schedules,
    /// triggers), even when nothing works in the background.
    pub keep_running: bool,
    /// An XDG autostart entry starts `synccenter --background` at logon, and the checked
    /// items sync then (SYNCMGRFLAG logon).
    pub start_at_logon: bool,
    /// Sync the checked items when the session has been idle this long (`None`: off).
    pub idle_after_seconds: Option<u64>,
    /// Sync a folder pair when its files change (inotify), after a quiet period.
    pub sync_on_change: bool,
    /// Sync the checked items when the network comes back (NetworkManager).
    pub sync_on_network: bool,
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
            sync_on_network: false,
            change_quiet_seconds: 2,
            rescan_seconds: 3600,
            schedules: Vec::new(),
        }
    }
}

impl Settings {
    /// Whether anything runs without the user: a schedule or a trigger is on.
    pub fn works_in_background(&self) -> bool {
        self.start_at_logon
            || self.idle_after_seconds.is_some()
            || self.sync_on_change
            || self.sync_on_network
            || self.schedules.iter().any(|s| s.enabled)
    }

    /// Whether closing the window leaves Sync Center running: the user said so, or
    /// something works in the background and must outlive the window.
    pub fn keeps_running(&self) -> bool {
        self.keep_running || self.works_in_background()
    }

    /// The schedules that may run: switched on, and with a `when` that makes sense (a file
    /// edited by hand may say "every 0 seconds"; that one waits to be fixed).
    pub fn runnable_schedules(&self) -> Vec<Schedule> {
        self.schedules
            .iter()
            .filter(|s| s.enabled && s.when.validate().is_ok())
            .cloned()
            .collect()
    }

    /// Takes a removed item out of the schedules that sync it; a schedule left with no item
    /// is removed. Says what changed, a line each (nothing: the settings are unchanged).
    pub fn forget_item(&mut self, key: &ItemKey) -> Vec<String> {
        let mut said = Vec::new();
        self.schedules.retain_mut(|schedule| {
            let before = schedule.items.len();
            schedule.items.retain(|item| item != key);
            if schedule.items.len() == before {
                return true;
            }
            let emptied = schedule.items.is_empty();
            said.push(match emptied {
                true => format!(
                    "Removed the schedule {}, which synced only {}.",
                    schedule.name, key.item
                ),
                false => format!("Took {} out of the schedule {}.", key.item, schedule.name),
            });
            !emptied
        });
        said
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

/// A file's content as loaded, with what to tell the user about it.
pub struct Loaded<T> {
    pub value: T,
    /// Problems in plain words (a damaged file moved aside, an unusable schedule).
    pub notices: Vec<String>,
    /// False when the file exists but could not be read: it is then never overwritten.
    pub writable: bool,
}

fn load<T: serde::de::DeserializeOwned + Default>(path: PathBuf, what: &str) -> Loaded<T> {
    let (mut notices, mut blocked) = (Vec::new(), Vec::new());
    let value = load_json(&path, what, &mut notices, &mut blocked);
    Loaded {
        value,
        notices,
        writable: blocked.is_empty(),
    }
}

pub fn load_settings(home: &Home) -> Loaded<Settings> {
    let mut loaded: Loaded<Settings> = load(settings_file(home), "the background settings");
    for schedule in &loaded.value.schedules {
        if let Err(e) = schedule.when.validate() {
            loaded.notices.push(format!(
                "The schedule \"{}\" in {} is not usable: {e}. It does not run until it is fixed.",
                schedule.name,
                settings_file(home).display()
            ));
        }
    }
    loaded
}

pub fn save_settings(home: &Home, settings: &Settings) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(settings).expect("settings serialize");
    write_atomically(&settings_file(home), &json)
}

pub fn load_due(home: &Home) -> Loaded<DueTimes> {
    load(due_file(home), "the schedules' due times")
}

pub fn save_due(home: &Home, due: &DueTimes) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(due).expect("due times serialize");
    write_atomically(&due_file(home), &json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resident::schedule::When;

    fn often(seconds: u64, enabled: bool) -> Schedule {
        Schedule {
            name: format!("every {seconds}"),
            items: vec![ItemKey::new("demo", "photos")],
            when: When::Every { seconds },
            enabled,
        }
    }

    #[test]
    fn settings_round_trip_and_a_damaged_file_is_moved_aside_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        home.create_dirs().unwrap();
        assert_eq!(load_settings(&home).value, Settings::default());
        let settings = Settings {
            schedules: vec![often(2, true)],
            ..Settings::default()
        };
        save_settings(&home, &settings).unwrap();
        let loaded = load_settings(&home);
        assert_eq!(loaded.value, settings);
        assert!(loaded.notices.is_empty() && loaded.writable);

        std::fs::write(settings_file(&home), b"{ not json").unwrap();
        let loaded = load_settings(&home);
        assert_eq!(loaded.value, Settings::default());
        assert!(loaded.writable, "a file moved aside may be written again");
        let notice = loaded.notices.join(" ");
        assert!(notice.contains("resident.json.damaged-"), "{notice}");
        assert!(!settings_file(&home).exists());
    }

    #[test]
    fn an_unusable_schedule_is_said_kept_in_the_file_and_never_run() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::under(dir.path());
        home.create_dirs().unwrap();
        let settings = Settings {
            schedules: vec![often(0, true), often(5, true), often(7, false)],
            ..Settings::default()
        };
        save_settings(&home, &settings).unwrap();
        let loaded = load_settings(&home);
        assert_eq!(loaded.value, settings, "kept as written, to be fixed");
        assert!(loaded.writable);
        assert_eq!(loaded.notices.len(), 1, "{:?}", loaded.notices);
        assert!(
            loaded.notices[0].contains("\"every 0\""),
            "{:?}",
            loaded.notices
        );
        let runnable: Vec<String> = settings
            .runnable_schedules()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(runnable, vec!["every 5".to_string()]);
    }

    #[test]
    fn closing_the_window_keeps_sync_center_running_when_anything_works_in_the_background() {
        let base = Settings::default();
        // (settings, works in the background, keeps running)
        let cases = [
            (base.clone(), false, false),
            (
                Settings {
                    keep_running: true,
                    ..base.clone()
                },
                false,
                true,
            ),
            (
                Settings {
                    start_at_logon: true,
                    ..base.clone()
                },
                true,
                true,
            ),
            (
                Settings {
                    idle_after_seconds: Some(60),
                    ..base.clone()
                },
                true,
                true,
            ),
            (
                Settings {
                    sync_on_change: true,
                    ..base.clone()
                },
                true,
                true,
            ),
            (
                Settings {
                    sync_on_network: true,
                    ..base.clone()
                },
                true,
                true,
            ),
            (
                Settings {
                    schedules: vec![often(60, true)],
                    ..base.clone()
                },
                true,
                true,
            ),
            (
                Settings {
                    schedules: vec![often(60, false)],
                    ..base.clone()
                },
                false,
                false,
            ),
        ];
        for (settings, background, keeps) in cases {
            assert_eq!(settings.works_in_background(), background, "{settings:?}");
            assert_eq!(settings.keeps_running(), keeps, "{settings:?}");
        }
    }

    #[test]
    fn a_removed_item_leaves_its_schedules_and_a_schedule_left_empty_goes() {
        let schedule = |name: &str, items: &[&str]| Schedule {
            name: name.into(),
            items: items.iter().map(|i| ItemKey::new("folders", *i)).collect(),
            when: When::Every { seconds: 60 },
            enabled: true,
        };
        let mut settings = Settings {
            schedules: vec![
                schedule("both", &["photos", "music"]),
                schedule("only photos", &["photos"]),
                schedule("music", &["music"]),
                // Written by hand with no item: not this removal's to tidy.
                schedule("empty", &[]),
            ],
            ..Settings::default()
        };
        let said = settings.forget_item(&ItemKey::new("folders", "photos"));
        assert_eq!(
            said,
            [
                "Took photos out of the schedule both.",
                "Removed the schedule only photos, which synced only photos.",
            ]
        );
        assert_eq!(
            settings.schedules,
            [
                schedule("both", &["music"]),
                schedule("music", &["music"]),
                schedule("empty", &[]),
            ]
        );
        // Another handler's item of the same name, and an unknown one, change nothing.
        let before = settings.clone();
        assert!(
            settings
                .forget_item(&ItemKey::new("demo", "music"))
                .is_empty()
        );
        assert!(
            settings
                .forget_item(&ItemKey::new("folders", "gone"))
                .is_empty()
        );
        assert_eq!(settings, before);
    }
}
