//! The files that put Sync Center on a desktop: one app id everywhere, and the validators
//! Debian ships (desktop-file-utils, appstream) accept them.

use std::path::Path;
use std::process::Command;
use synccenter::desktop::APP_ID;
use synccenter::resident::tray_icon_names;

fn asset(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name)
}

fn validate(program: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| panic!("{program} runs (scripts/test.sh installs it): {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} {}: {text}", file.display());
    text
}

#[test]
fn the_desktop_entry_is_valid_and_dbus_activatable_with_sync_all() {
    let file = asset(&format!("{APP_ID}.desktop"));
    let text = validate("desktop-file-validate", &[], &file);
    assert!(!text.contains("error"), "{text}");
    let entry = std::fs::read_to_string(&file).unwrap();
    for line in [
        "DBusActivatable=true",
        &format!("Icon={APP_ID}"),
        &format!("StartupWMClass={APP_ID}"),
        "Actions=sync-all;",
        "[Desktop Action sync-all]",
        "Name=Sync all",
        // Launchers without D-Bus activation run this: the same as ActivateAction.
        "Exec=synccenter --action sync-all",
    ] {
        assert!(
            entry.lines().any(|l| l == line),
            "{line} missing in {entry}"
        );
    }
}

#[test]
fn the_metainfo_is_valid_and_names_the_desktop_entry() {
    let file = asset(&format!("{APP_ID}.metainfo.xml"));
    validate("appstreamcli", &["validate", "--no-net"], &file);
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.contains(&format!("<id>{APP_ID}</id>")));
    assert!(xml.contains(&format!(">{APP_ID}.desktop</launchable>")));
}

#[test]
fn the_dbus_service_starts_the_instance_in_the_background() {
    let service = std::fs::read_to_string(asset(&format!("{APP_ID}.service"))).unwrap();
    assert!(service.contains(&format!("Name={APP_ID}\n")), "{service}");
    assert!(
        service.contains("Exec=/usr/bin/synccenter --background\n"),
        "{service}"
    );
}

#[test]
fn every_icon_the_tray_names_is_installed() {
    for name in tray_icon_names() {
        let svg = asset(&format!("icons/hicolor/symbolic/apps/{name}.svg"));
        assert!(svg.exists(), "{}", svg.display());
    }
    for size in [48, 128, 256] {
        let png = asset(&format!("icons/hicolor/{size}x{size}/apps/{APP_ID}.png"));
        assert!(png.exists(), "{}", png.display());
    }
}
