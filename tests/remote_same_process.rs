//! One process runs many syncs of a remote pair, as the window and the background instance
//! do for days: what a run that lost its server left there (the temp folder its new files
//! were going up into) is tidied by a later run of the same process, not only by a run of
//! another process once this one has ended. Its own test binary: rcd takes rclone's
//! settings from this process's environment.

mod folders_common;
mod remote_common;

use folders_common::write;
use remote_common::*;
use std::path::Path;
use std::time::Duration;
use synccenter::core::engine::SessionRequest;
use synccenter::core::model::{ItemKey, RunReason};
use synccenter::core::status::ItemStatus;

/// The temp folders new files go up into, in the remote's `.synccenter` folder.
fn intake_folders(right: &Path) -> Vec<String> {
    std::fs::read_dir(right.join(".synccenter"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".synccenter-tmp-"))
        .collect()
}

#[test]
fn a_later_run_of_the_same_process_tidies_what_a_run_that_lost_its_server_left() {
    let mut c = RemoteCli::webdav("two-way", &rclone_current());
    let text = "new file ".repeat(20_000);
    for i in 0..16 {
        write(&c.l(&format!("new/f{i}.txt")), &text);
    }
    // SAFETY: set before any other thread of this binary (its only test) starts.
    unsafe {
        std::env::set_var("RCLONE_CONFIG", &c.conf);
        std::env::set_var("RCLONE_BWLIMIT", "1M");
        std::env::remove_var("DBUS_SESSION_BUS_ADDRESS");
    }
    let setup = synccenter::setup::setup(Some(c.dir.path().join("home")), false).unwrap();
    let events = setup.events.clone();
    std::thread::spawn(move || for _ in events {});
    let sync = || {
        setup
            .engine
            .start(SessionRequest {
                reason: RunReason::Manual,
                may_bother_user: false,
                items: vec![ItemKey::new("folders", "p")],
            })
            .unwrap()
    };

    let run = sync();
    wait_until("new files to go up", || {
        !intake_folders(&c.right).is_empty()
    });
    c.server.stop();
    let record = run.wait(Duration::from_secs(120)).expect("the run ends");
    let item = &record.items[0];
    assert_eq!(item.status, ItemStatus::Failed, "{item:?}");
    assert!(item.text.contains("could not be reached"), "{item:?}");
    let left = intake_folders(&c.right);
    assert!(!left.is_empty(), "the run left no temp folder to tidy");

    c.server.restart();
    let record = sync().wait(Duration::from_secs(120)).expect("the run ends");
    let item = &record.items[0];
    assert_eq!(item.status, ItemStatus::Succeeded, "{item:?}");
    for i in 0..16 {
        let arrived = std::fs::read_to_string(c.r(&format!("new/f{i}.txt"))).ok();
        assert_eq!(arrived.as_deref(), Some(text.as_str()), "f{i}.txt");
    }
    let still = intake_folders(&c.right);
    assert!(still.is_empty(), "left behind: {still:?} (was {left:?})");
}
