//! "Start at logon": an XDG autostart entry, `$XDG_CONFIG_HOME/autostart/APP_ID.desktop`,
//! that starts `synccenter --background --logon` (systemd sessions turn it into a user
//! service). Written when the setting is on, removed when it is off.

use crate::core::store::Home;
use crate::desktop::desktop_file_name;
use std::path::PathBuf;

/// Where the entry lives: `$XDG_CONFIG_HOME/autostart`, or `~/.config/autostart`.
pub fn entry_path() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("autostart").join(desktop_file_name()))
}

/// The entry's text. `home` is passed on when it is not the default one.
pub fn entry(program: &str, home: Option<&Home>) -> String {
    let home = home
        .and_then(|h| h.config_dir.parent())
        .map(|dir| format!(" --home {}", quote(&dir.display().to_string())))
        .unwrap_or_default();
    format!(
        "[Desktop Entry]\nType=Application\nName=Sync Center\nComment=Synchronizes in the background: schedules, triggers and the tray\nExec={} --background --logon{home}\nIcon={}\nTerminal=false\nNoDisplay=true\nX-GNOME-Autostart-enabled=true\n",
        quote(program),
        crate::desktop::APP_ID
    )
}

/// Quotes an Exec argument when it needs it (desktop entry spec: double quotes, with `"`,
/// `` ` ``, `$` and `\` escaped).
fn quote(arg: &str) -> String {
    if arg
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        return arg.to_string();
    }
    let mut quoted = String::from("\"");
    for c in arg.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// The home an entry starts Sync Center on: `Some(None)` the default one, `Some(Some(dir))`
/// the one given with `--home`; `None` when it is not an entry Sync Center wrote. Pure.
pub fn entry_home(text: &str) -> Option<Option<PathBuf>> {
    let exec = text.lines().find_map(|line| line.strip_prefix("Exec="))?;
    let args = split_exec(exec);
    if !args.iter().any(|a| a == "--background") {
        return None;
    }
    let mut home = None;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--home" {
            home = Some(PathBuf::from(args.next()?));
        } else if let Some(dir) = arg.strip_prefix("--home=") {
            home = Some(PathBuf::from(dir));
        }
    }
    Some(home)
}

/// Splits an Exec value into arguments (desktop entry spec: double quotes, with `"`, `` ` ``,
/// `$` and `\` escaped inside them).
fn split_exec(exec: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut started) = (false, false);
    let mut chars = exec.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                started = true;
            }
            '\\' if quoted => {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            ' ' if !quoted => {
                if started {
                    args.push(std::mem::take(&mut current));
                    started = false;
                }
            }
            c => {
                current.push(c);
                started = true;
            }
        }
    }
    if started {
        args.push(current);
    }
    args
}

/// Whether an entry's home is `ours` (the `--home` folder, or `None` for the default home).
fn same_home(theirs: &Option<PathBuf>, ours: Option<&std::path::Path>) -> bool {
    match (theirs, ours) {
        (None, None) => true,
        (Some(theirs), Some(ours)) => {
            let theirs = theirs.canonicalize().unwrap_or_else(|_| theirs.clone());
            theirs == ours
        }
        _ => false,
    }
}

/// Makes the entry match the setting, for this home only: one user session starts one Sync
/// Center at logon, so an entry written for another home is neither removed nor taken over.
/// `explicit_home` is the home when it was chosen with `--home` / `SYNCCENTER_HOME`.
/// Returns a problem in plain words.
pub fn apply(on: bool, explicit_home: Option<&Home>) -> Result<(), String> {
    let Some(path) = entry_path() else {
        return Err("Start at logon needs HOME or XDG_CONFIG_HOME to be set.".into());
    };
    let ours = explicit_home.and_then(|h| h.config_dir.parent());
    let existing = std::fs::read_to_string(&path).ok();
    let whose = existing.as_deref().map(entry_home);
    let is_ours = matches!(&whose, Some(Some(home)) if same_home(home, ours));
    if !on {
        if !is_ours {
            return Ok(());
        }
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("Could not remove {}: {e}", path.display()))
            }
            _ => Ok(()),
        };
    }
    if let Some(whose) = whose
        && !is_ours
    {
        let who = match whose {
            Some(None) => "the one of your default home".to_string(),
            Some(Some(dir)) => format!("the one of the home {}", dir.display()),
            None => "an entry Sync Center did not write".to_string(),
        };
        return Err(format!(
            "Start at logon stays off for this home: {} starts another Sync Center at logon ({who}), and a session starts one. Turn it off there first.",
            path.display()
        ));
    }
    let program = program_for_entry(std::env::current_exe().ok(), |path| path.is_file());
    let text = entry(&program, explicit_home);
    if existing.is_some_and(|now| now == text) {
        return Ok(());
    }
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(path.parent().expect("a folder"))?;
        crate::core::store::write_atomically(&path, text.as_bytes())
    };
    write().map_err(|e| format!("Could not write {}: {e}", path.display()))
}

/// The program the entry starts: this one, by the path it runs from. A running program whose
/// file was replaced since it started (a package upgrade) reads as "PATH (deleted)": the new
/// file at PATH is the one to start at logon. With no file there, `synccenter` from PATH.
fn program_for_entry(
    running: Option<PathBuf>,
    is_file: impl Fn(&std::path::Path) -> bool,
) -> String {
    running
        .map(|path| {
            let text = path.to_string_lossy();
            match text.strip_suffix(" (deleted)") {
                Some(replaced) => PathBuf::from(replaced),
                None => path.clone(),
            }
        })
        .filter(|path| is_file(path))
        .map_or_else(|| "synccenter".into(), |path| path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_starts_the_file_at_the_programs_path_even_once_it_was_replaced() {
        let installed =
            |path: &std::path::Path| path == std::path::Path::new("/usr/bin/synccenter");
        for (running, expected) in [
            (Some("/usr/bin/synccenter"), "/usr/bin/synccenter"),
            // Upgraded while it ran: the new file at the same path.
            (Some("/usr/bin/synccenter (deleted)"), "/usr/bin/synccenter"),
            // Gone, or not known: the one on PATH.
            (Some("/tmp/build/synccenter (deleted)"), "synccenter"),
            (Some("/tmp/build/synccenter"), "synccenter"),
            (None, "synccenter"),
        ] {
            let program = program_for_entry(running.map(PathBuf::from), installed);
            assert_eq!(program, expected, "{running:?}");
        }
    }

    #[test]
    fn the_entry_starts_the_background_instance_with_its_home() {
        let home = Home::under(std::path::Path::new("/home/ann/sync home"));
        let text = entry("/usr/bin/synccenter", Some(&home));
        assert!(
            text.contains(
                "Exec=/usr/bin/synccenter --background --logon --home \"/home/ann/sync home\"\n"
            ),
            "{text}"
        );
        assert!(entry("/usr/bin/synccenter", None).contains("--logon\n"));
        assert_eq!(quote("a$b"), "\"a\\$b\"");
    }

    #[test]
    fn an_entry_names_its_home_and_reads_back() {
        let home = Home::under(std::path::Path::new("/home/ann/sync \"home\" $1"));
        for (text, expected) in [
            (entry("/usr/bin/synccenter", None), Some(None)),
            (
                entry("/usr/bin/synccenter", Some(&home)),
                Some(Some(PathBuf::from("/home/ann/sync \"home\" $1"))),
            ),
            (
                "[Desktop Entry]\nExec=synccenter --background --home=/srv/h\n".to_string(),
                Some(Some(PathBuf::from("/srv/h"))),
            ),
            (
                "[Desktop Entry]\nExec=other-program --home /x\n".to_string(),
                None,
            ),
            ("[Desktop Entry]\nName=x\n".to_string(), None),
        ] {
            assert_eq!(entry_home(&text), expected, "{text}");
        }
        assert!(same_home(&None, None));
        assert!(!same_home(&None, Some(std::path::Path::new("/h"))));
        assert!(!same_home(&Some(PathBuf::from("/h")), None));
        assert!(same_home(
            &Some(PathBuf::from("/nonexistent/h")),
            Some(std::path::Path::new("/nonexistent/h"))
        ));
    }
}
