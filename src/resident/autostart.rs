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

/// Makes the entry match the setting. `explicit_home` is the home when it was chosen with
/// `--home` / `SYNCCENTER_HOME`. Returns a problem in plain words.
pub fn apply(on: bool, explicit_home: Option<&Home>) -> Result<(), String> {
    let Some(path) = entry_path() else {
        return Err("Start at logon needs HOME or XDG_CONFIG_HOME to be set.".into());
    };
    if !on {
        return match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(format!("Could not remove {}: {e}", path.display()))
            }
            _ => Ok(()),
        };
    }
    let program = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "synccenter".into());
    let text = entry(&program, explicit_home);
    if std::fs::read_to_string(&path).is_ok_and(|now| now == text) {
        return Ok(());
    }
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(path.parent().expect("a folder"))?;
        crate::core::store::write_atomically(&path, text.as_bytes())
    };
    write().map_err(|e| format!("Could not write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
