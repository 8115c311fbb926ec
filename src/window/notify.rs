//! Desktop notifications, best effort: sent from a worker thread, failures ignored (there
//! may be no notification daemon at all).

pub fn desktop(summary: String, body: String) {
    let _ = std::thread::Builder::new()
        .name("notification".into())
        .spawn(move || {
            let _ = notify_rust::Notification::new()
                .appname("Sync Center")
                .summary(&summary)
                .body(&body)
                .icon(crate::desktop::APP_ID)
                .show();
        });
}
