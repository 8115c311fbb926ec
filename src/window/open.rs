//! Handing things to the desktop: a folder to its file manager, and whether it has a folder
//! picker at all. Nothing here waits for the desktop.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The program that opens a folder the desktop's way.
const OPENER: &str = "xdg-open";
/// rfd's fallback picker when the desktop portal is not there.
const ZENITY: &str = "zenity";

/// Shows `folder` in the file manager. The opener is started here and reaped on a thread.
/// The error is a sentence for the user.
pub fn in_file_manager(folder: &Path) -> Result<(), String> {
    let mut child = Command::new(OPENER)
        .arg(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                format!("this desktop has no {OPENER} to open folders with")
            } else {
                e.to_string()
            };
            format!("{} could not be opened: {why}.", folder.display())
        })?;
    let _ = std::thread::Builder::new()
        .name("open-folder".into())
        .spawn(move || child.wait());
    Ok(())
}

/// Whether a folder picker can show: the desktop portal on the session bus (rfd's first
/// choice) or zenity (its fallback). Looks at the disk: call it off the UI thread.
pub fn folder_picker_available() -> bool {
    let runtime_bus = std::env::var_os("XDG_RUNTIME_DIR").map(|dir| PathBuf::from(dir).join("bus"));
    let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
        || runtime_bus.is_some_and(|socket| socket.exists());
    picker_available(bus, std::env::var_os("PATH").as_deref(), |path| {
        path.is_file()
    })
}

fn picker_available(bus: bool, path_var: Option<&OsStr>, is_file: impl Fn(&Path) -> bool) -> bool {
    bus || path_var.is_some_and(|dirs| {
        std::env::split_paths(dirs).any(|dir| dir.is_absolute() && is_file(&dir.join(ZENITY)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picker_needs_the_session_bus_or_zenity() {
        let zenity_in = |dir: &'static str| move |path: &Path| path == Path::new(dir).join(ZENITY);
        let path = Some(OsStr::new("/usr/local/bin:/usr/bin"));
        let table = [
            (true, None, false),
            (false, None, false),
            (false, path, true),
            (true, path, true),
        ];
        for (bus, path_var, zenity) in table {
            let found = picker_available(bus, path_var, |p| zenity && zenity_in("/usr/bin")(p));
            assert_eq!(
                found,
                bus || zenity,
                "bus {bus}, PATH {path_var:?}, zenity {zenity}"
            );
        }
        // A relative PATH entry is never trusted.
        assert!(!picker_available(
            false,
            Some(OsStr::new("bin")),
            zenity_in("bin")
        ));
    }
}
