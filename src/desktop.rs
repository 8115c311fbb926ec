//! The app's one identity on the desktop. The same id names the D-Bus well-known name, the
//! `.desktop` file (Wayland matches windows to it), the icon, the AppStream metainfo and the
//! autostart entry, so they can never drift apart.

/// Reverse-DNS application id (freedesktop "D-Bus Activation", Wayland `app_id`).
pub const APP_ID: &str = "io.github.synccenter.SyncCenter";

/// The object the instance serves: the app id with dots as slashes (the D-Bus Activation
/// spec's rule).
pub const OBJECT_PATH: &str = "/io/github/synccenter/SyncCenter";

/// Sync Center's own control interface on that object (ISyncMgrSynchronizeInvoke /
/// ISyncMgrControl). The trailing number is its version.
pub const CONTROL_INTERFACE: &str = "io.github.synccenter.SyncCenter1";

/// The desktop file's name.
pub fn desktop_file_name() -> String {
    format!("{APP_ID}.desktop")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_object_path_is_the_app_id_with_slashes() {
        assert_eq!(OBJECT_PATH, format!("/{}", APP_ID.replace('.', "/")));
        assert!(CONTROL_INTERFACE.starts_with(APP_ID));
    }
}
