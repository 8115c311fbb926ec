//! Many small new files, uploaded by one rclone job (the intake), move their item's file
//! count while the job runs: the files shown grow before the upload's bytes are all done,
//! never go back, and end at the total, each counted once. Before, the count sat at 0 until
//! the whole job had landed ("Synchronizing 0 of 2,020 files" for the whole upload).

mod remote_common;

use remote_common::*;
use synccenter::core::progress::Stage;
use synccenter::core::status::ItemStatus;

const FILES: u64 = 200;

#[test]
fn files_uploaded_by_one_job_are_counted_as_they_go_up() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    // SAFETY: the only test of this binary, before the engine (and its rcd) starts.
    unsafe {
        std::env::set_var("RCLONE_CONFIG", &c.conf);
        std::env::set_var("RCLONE_BWLIMIT", "1M");
    }
    for i in 0..FILES {
        let body: Vec<u8> = (0..16_000u32)
            .map(|b| ((b + i as u32) % 251) as u8)
            .collect();
        std::fs::write(c.left.join(format!("f{i:03}.bin")), body).unwrap();
    }
    // (files done, files in all, bytes done, bytes in all) as the window and the terminal
    // see them.
    let mut seen: Vec<(u64, u64, u64, u64)> = Vec::new();
    let record = sync_watching(&c.dir.path().join("home"), |snapshot| {
        if let Some(f) = snapshot
            .figures
            .filter(|f| f.stage == Stage::ChangeApplication)
        {
            let now = (
                f.files_done,
                f.files_total.unwrap_or(0),
                f.bytes_done,
                f.bytes_total.unwrap_or(0),
            );
            if seen.last() != Some(&now) {
                seen.push(now);
            }
        }
    });
    assert_eq!(record.items[0].status, ItemStatus::Succeeded, "{record:?}");
    for i in 0..FILES {
        assert!(c.r(&format!("f{i:03}.bin")).exists(), "f{i:03}.bin");
    }
    assert!(
        seen.iter()
            .any(|&(files, all, bytes, total)| files > 0 && files < all && bytes < total),
        "no file was counted while the upload ran: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[1].0 >= w[0].0),
        "the files went back: {seen:?}"
    );
    let &(files, all, bytes, total) = seen.last().unwrap();
    assert_eq!((files, bytes), (all, total), "{seen:?}");
    assert_eq!(all, FILES, "{seen:?}");
}
