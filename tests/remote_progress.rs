//! A long transfer moves its item's figures while it runs: a file uploaded to a folder on
//! `rclone serve webdav` (slowed by rclone's bandwidth limit, which the center's rcd
//! inherits) shows bytes done before it lands, the bytes shown never go back, and they end
//! at the total, counted once; the item's bar (Sync Framework's work, which counts applied
//! changes) goes as far as those bytes.

mod remote_common;

use remote_common::*;
use synccenter::core::progress::Stage;
use synccenter::core::status::ItemStatus;

#[test]
fn a_long_upload_moves_the_bar_before_the_file_lands() {
    let c = RemoteCli::webdav("two-way", &rclone_current());
    // SAFETY: the only test of this binary, before the engine (and its rcd) starts.
    unsafe {
        std::env::set_var("RCLONE_CONFIG", &c.conf);
        std::env::set_var("RCLONE_BWLIMIT", "4M");
    }
    let big: Vec<u8> = (0..12_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(c.left.join("big.bin"), &big).unwrap();
    // (files done, bytes done, bytes in all) as the window and the terminal see them, and
    // the bar's (completed, total).
    let mut seen: Vec<(u64, u64, u64)> = Vec::new();
    let mut bars: Vec<(u64, u64, u64)> = Vec::new();
    let record = sync_watching(&c.dir.path().join("home"), |snapshot| {
        if let Some(f) = snapshot
            .figures
            .filter(|f| f.stage == Stage::ChangeApplication)
        {
            let now = (f.files_done, f.bytes_done, f.bytes_total.unwrap_or(0));
            if seen.last() != Some(&now) {
                seen.push(now);
            }
            if let Some((completed, total)) = snapshot.measure {
                bars.push((f.files_done, completed, total));
            }
        }
    });
    assert_eq!(record.items[0].status, ItemStatus::Succeeded, "{record:?}");
    assert!(std::fs::read(c.r("big.bin")).unwrap() == big);
    let total = big.len() as u64;
    moved_before_landing_and_never_back("bytes", &seen);
    assert_eq!(seen.last(), Some(&(1, total, total)), "{seen:?}");
    moved_before_landing_and_never_back("bar", &bars);
}

/// `samples` of (files done, done, in all): some show part done while no file was, and
/// none is behind the one before.
fn moved_before_landing_and_never_back(what: &str, samples: &[(u64, u64, u64)]) {
    assert!(
        samples
            .iter()
            .any(|&(files, done, all)| files == 0 && done > 0 && done < all),
        "the {what} did not move before the file landed: {samples:?}"
    );
    assert!(
        samples.windows(2).all(|w| w[1].1 >= w[0].1),
        "the {what} went back: {samples:?}"
    );
}
