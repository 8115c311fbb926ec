//! A desktop without a folder picker (no session bus for the portal, no zenity): Browse…
//! says so at once. Its own test binary, since it changes this process's environment.

mod window_common;

use egui_kittest::kittest::Queryable;
use window_common::*;

#[test]
fn without_a_folder_picker_browse_says_to_type_the_path() {
    let nowhere = home();
    // SAFETY: the only test of this binary, and no thread has been started yet.
    unsafe {
        std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
        std::env::set_var("XDG_RUNTIME_DIR", nowhere.path());
        std::env::set_var("PATH", nowhere.path());
    }
    let home = home();
    let script = Script::new("files", "Files", &[("alpha", "Alpha")]).with_properties();
    let (_engine, mut app) = window_listing(home.path(), &[script], "Alpha");
    open_handler_properties(&mut app, "Files");
    app.get_by_label("Browse…").click();
    wait_for_text(
        &mut app,
        "No folder picker is available on this desktop — type the path.",
    );
    // The field still takes a typed path.
    type_into(&mut app, "Left folder", "/srv/files");
    assert_eq!(
        app.get_by_label("Left folder").value().as_deref(),
        Some("/srv/files")
    );
}
