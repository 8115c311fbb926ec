//! `synccenter schedule add | list | remove`: the schedules in `CONFIG/resident.json`. A
//! running instance of the home reloads them at once; `list` shows each schedule's next run
//! as the instance knows it, or as it would be when Sync Center starts.

use crate::cli::ScheduleAction;
use crate::core::model::ItemKey;
use crate::core::store::Home;
use crate::exit_code;
use crate::output::{err, out};
use crate::resident::client::Instance;
use crate::resident::schedule::{Schedule, When, parse_period, period_words, plan, when_words};
use crate::resident::settings::{self, Settings};
use chrono::Local;
use serde::Serialize;

/// The items the command names (resolved by the command line against the listings).
pub fn named_items(action: &ScheduleAction) -> &[String] {
    match action {
        ScheduleAction::Add { items, .. } => items,
        _ => &[],
    }
}

/// Carries out a schedule command; `items` are the named items, resolved. Returns the exit
/// code, or why nothing was done.
pub fn schedule(home: &Home, action: ScheduleAction, items: Vec<ItemKey>) -> Result<u8, String> {
    let loaded = settings::load_settings(home);
    for notice in &loaded.notices {
        err!("synccenter: {notice}");
    }
    if !loaded.writable {
        return Err(format!(
            "{} cannot be read, so it is left as it is",
            settings::settings_file(home).display()
        ));
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
            save(home, &settings)?;
            // How it will run: said only when nothing makes it run yet.
            let how = match (Instance::find(home).is_some(), settings.start_at_logon) {
                (true, _) => "Sync Center is running, so it runs from now on.",
                (false, true) => {
                    "It runs from the next logon (\"Start at logon\" is on), or now with `synccenter --background`."
                }
                (false, false) => {
                    "It runs while Sync Center runs: start `synccenter --background`, or turn on \"Start at logon\"."
                }
            };
            out!("Added the schedule {name}: {description}. {how}");
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
            out!("Removed the schedule {name}.");
        }
        ScheduleAction::List { json } => list(home, &settings, json)?,
    }
    Ok(exit_code::OK)
}

/// A schedule with its next run, as `list --json` prints it.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    schedule: &'a Schedule,
    /// When it runs next, in words ("14:05", "at the next start", "off").
    next_run: String,
}

fn list(home: &Home, settings: &Settings, json: bool) -> Result<(), String> {
    let next = next_runs(home, settings);
    if json {
        let listed: Vec<Listed> = settings
            .schedules
            .iter()
            .zip(next)
            .map(|(schedule, next_run)| Listed { schedule, next_run })
            .collect();
        out!(
            "{}",
            serde_json::to_string_pretty(&listed).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    if settings.schedules.is_empty() {
        out!("No schedules. Add one with `synccenter schedule add NAME ITEM… --every 1h`.");
        return Ok(());
    }
    out!("{:<16} {:<24} {:<22} ITEMS", "NAME", "WHEN", "NEXT RUN");
    for (schedule, next) in settings.schedules.iter().zip(next) {
        let items: Vec<String> = schedule.items.iter().map(|k| k.to_string()).collect();
        out!(
            "{:<16} {:<24} {:<22} {}",
            schedule.name,
            schedule.when.to_string(),
            next,
            items.join(", ")
        );
    }
    Ok(())
}

/// Each schedule's next run in words: while an instance runs, the due time it keeps for the
/// schedule (or "paused"); else from the remembered due times, as the scheduler would
/// decide at start. (Not the instance's figure per item: that is the soonest of all the
/// item's schedules.)
fn next_runs(home: &Home, settings: &Settings) -> Vec<String> {
    let running = Instance::find(home).and_then(|instance| instance.next_runs().ok());
    let paused = running
        .as_ref()
        .is_some_and(|next| next.values().any(|words| words == "paused"));
    let due = settings::load_due(home).value;
    let now = Local::now();
    settings
        .schedules
        .iter()
        .map(|schedule| {
            if !schedule.enabled {
                return "off".to_string();
            }
            if let Err(fault) = schedule.when.validate() {
                return format!("never ({fault})");
            }
            if paused {
                return "paused".to_string();
            }
            if running.is_some()
                && let Some(kept) = due.get(&schedule.name).filter(|d| d.when == schedule.when)
            {
                return when_words(kept.next_due_ms, &now);
            }
            let planned = plan(&schedule.when, due.get(&schedule.name), &now, false);
            match &schedule.when {
                _ if planned.run_now => "at the next start".to_string(),
                // Never run: a period counts from the start.
                When::Every { seconds } if !due.contains_key(&schedule.name) => {
                    format!("{} after the start", period_words(*seconds))
                }
                _ => when_words(planned.due.next_due_ms, &now),
            }
        })
        .collect()
}

/// Takes a removed item out of the schedules that sync it (`Settings::forget_item`) and
/// saves them. Says what changed, in lines for the terminal.
pub fn forget_item(home: &Home, key: &ItemKey) -> Result<Vec<String>, String> {
    let loaded = settings::load_settings(home);
    let mut settings = loaded.value;
    let said = settings.forget_item(key);
    if said.is_empty() {
        return Ok(said);
    }
    if !loaded.writable {
        return Err(format!(
            "{} cannot be read, so the schedules still name it",
            settings::settings_file(home).display()
        ));
    }
    save(home, &settings)?;
    Ok(said)
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
