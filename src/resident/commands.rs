//! `synccenter schedule add | list | remove`: the schedules in `CONFIG/resident.json`. A
//! running instance of the home reloads them at once.

use crate::cli::EXIT_OK;
use crate::core::model::ItemKey;
use crate::core::store::Home;
use crate::resident::client::Instance;
use crate::resident::schedule::{Schedule, When, parse_period};
use crate::resident::settings::{self, Settings};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ScheduleAction {
    /// Add a schedule (or replace the one with this name). Turns on background mode.
    Add {
        /// The schedule's name.
        name: String,
        /// Items to sync, by id or HANDLER/ID.
        #[arg(required = true, value_name = "ITEM")]
        items: Vec<String>,
        /// Every period: 30s, 15m, 2h, 1d.
        #[arg(long, value_name = "PERIOD", conflicts_with_all = ["daily", "weekly"])]
        every: Option<String>,
        /// Every day at HH:MM (local time).
        #[arg(long, value_name = "HH:MM", conflicts_with = "weekly")]
        daily: Option<String>,
        /// On these weekdays (mon,tue,…) at the time given with --at.
        #[arg(long, value_name = "DAYS", requires = "at")]
        weekly: Option<String>,
        /// The time of day for --weekly, HH:MM.
        #[arg(long, value_name = "HH:MM")]
        at: Option<String>,
    },
    /// List the schedules with their next runs.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a schedule.
    Remove { name: String },
}

impl ScheduleAction {
    /// The items the command names (resolved by the command line against the listings).
    pub fn items(&self) -> &[String] {
        match self {
            ScheduleAction::Add { items, .. } => items,
            _ => &[],
        }
    }
}

/// Carries out a schedule command; `items` are the named items, resolved. Returns the exit
/// code, or why nothing was done.
pub fn schedule(home: &Home, action: ScheduleAction, items: Vec<ItemKey>) -> Result<u8, String> {
    let loaded = settings::load_settings(home);
    if let Some(problem) = loaded.problem {
        return Err(problem);
    }
    let mut settings = loaded.value;
    match action {
        ScheduleAction::Add {
            name,
            every,
            daily,
            weekly,
            at,
            ..
        } => {
            let when = when_of(every, daily, weekly, at)?;
            when.validate()?;
            let description = when.to_string();
            settings.schedules.retain(|s| s.name != name);
            settings.schedules.push(Schedule {
                name: name.clone(),
                items,
                when,
                enabled: true,
            });
            settings.keep_running = true;
            save(home, &settings)?;
            println!(
                "Added the schedule {name}: {description}. It runs while Sync Center runs (`synccenter --background`, or turn on \"Start at logon\")."
            );
        }
        ScheduleAction::Remove { name } => {
            let before = settings.schedules.len();
            settings.schedules.retain(|s| s.name != name);
            if settings.schedules.len() == before {
                return Err(format!(
                    "there is no schedule \"{name}\"; `synccenter schedule list` lists them"
                ));
            }
            save(home, &settings)?;
            println!("Removed the schedule {name}.");
        }
        ScheduleAction::List { json } => {
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&settings.schedules).map_err(|e| e.to_string())?
                );
            } else if settings.schedules.is_empty() {
                println!(
                    "No schedules. Add one with `synccenter schedule add NAME ITEM… --every 1h`."
                );
            }
            if !json {
                for s in &settings.schedules {
                    let items: Vec<String> = s.items.iter().map(|k| k.to_string()).collect();
                    let off = if s.enabled { "" } else { " (off)" };
                    println!("{:<16} {:<24} {}{off}", s.name, s.when, items.join(", "));
                }
            }
        }
    }
    Ok(EXIT_OK)
}

fn save(home: &Home, settings: &Settings) -> Result<(), String> {
    settings::save_settings(home, settings).map_err(|e| {
        format!(
            "cannot save {}: {e}",
            settings::settings_file(home).display()
        )
    })?;
    if let Some(instance) = Instance::find(home) {
        instance
            .reload_settings()
            .map_err(|e| format!("the running Sync Center did not reload its settings: {e}"))?;
    }
    Ok(())
}

fn when_of(
    every: Option<String>,
    daily: Option<String>,
    weekly: Option<String>,
    at: Option<String>,
) -> Result<When, String> {
    if let Some(period) = every {
        return Ok(When::Every {
            seconds: parse_period(&period)?,
        });
    }
    if let Some(time) = daily {
        let (hour, minute) = parse_time(&time)?;
        return Ok(When::Daily { hour, minute });
    }
    if let Some(days) = weekly {
        let (hour, minute) = parse_time(at.as_deref().unwrap_or_default())?;
        return Ok(When::Weekly {
            days: parse_days(&days)?,
            hour,
            minute,
        });
    }
    Err("say when: --every PERIOD, --daily HH:MM, or --weekly DAYS --at HH:MM".into())
}

fn parse_time(text: &str) -> Result<(u32, u32), String> {
    let (hour, minute) = text
        .split_once(':')
        .ok_or_else(|| format!("\"{text}\" is not a time: write HH:MM"))?;
    let number = |part: &str| {
        part.parse::<u32>()
            .map_err(|_| format!("\"{text}\" is not a time: write HH:MM"))
    };
    Ok((number(hour)?, number(minute)?))
}

fn parse_days(text: &str) -> Result<Vec<u8>, String> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    text.split(',')
        .map(|day| {
            let day = day.trim().to_lowercase();
            NAMES
                .iter()
                .position(|n| day.starts_with(n))
                .map(|i| i as u8)
                .ok_or_else(|| {
                    format!("\"{day}\" is not a weekday: write mon,tue,wed,thu,fri,sat,sun")
                })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_times_and_days() {
        assert_eq!(parse_time("07:05"), Ok((7, 5)));
        assert!(parse_time("7").is_err());
        assert_eq!(parse_days("mon,Wed, friday"), Ok(vec![0, 2, 4]));
        assert!(parse_days("mon,xyz").unwrap_err().contains("xyz"));
        assert_eq!(
            when_of(None, None, Some("sat".into()), Some("10:00".into())),
            Ok(When::Weekly {
                days: vec![5],
                hour: 10,
                minute: 0
            })
        );
        assert_eq!(
            when_of(Some("2s".into()), None, None, None),
            Ok(When::Every { seconds: 2 })
        );
        assert!(when_of(None, None, None, None).is_err());
    }
}
