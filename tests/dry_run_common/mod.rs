//! What the dry-run tests compare: everything on a disk (to prove a preview changed
//! nothing) and the entries of a plan or of a run's results.

use std::path::{Path, PathBuf};

/// Every file and folder under `root`: path → (contents of a file, mtime in ns).
pub fn on_disk(root: &Path) -> std::collections::BTreeMap<PathBuf, (Vec<u8>, i128)> {
    let mut found = std::collections::BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mtime = meta
                .modified()
                .unwrap()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as i128;
            let contents = if meta.is_file() {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            if meta.is_dir() {
                dirs.push(path.clone());
            }
            found.insert(path, (contents, mtime));
        }
    }
    found
}

/// (path, direction, change, size, from) of each entry of a JSON list, sorted.
pub type Listed = Vec<(String, String, String, Option<u64>, Option<String>)>;

pub fn listed(entries: &serde_json::Value) -> Listed {
    let mut listed: Listed = entries
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["direction"].as_str().unwrap().to_string(),
                e["change"].as_str().unwrap().to_string(),
                e["size"].as_u64(),
                e["from"].as_str().map(str::to_string),
            )
        })
        .collect();
    listed.sort();
    listed
}

/// The run whose `results --json` is `results` did exactly what `plan` (a dry run's JSON)
/// listed: the same entries, the same count of changes and bytes.
pub fn assert_done_as_planned(results: &[u8], plan: &serde_json::Value) {
    let results: serde_json::Value = serde_json::from_slice(results).unwrap();
    let done = &results[0]["items"][0];
    assert_eq!(listed(&done["entries"]), listed(&plan["entries"]));
    assert_eq!(done["activity"]["changes"], plan["counts"]["changes"]);
    assert_eq!(done["activity"]["bytes"], plan["counts"]["bytes"]);
}
