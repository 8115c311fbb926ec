//! Relative paths as bytes: their order, their text form for people and conflict ids, and
//! the names of conflict copies.

use std::cmp::Ordering;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// The longest name (one path component) file systems take, in bytes.
pub const NAME_MAX: usize = 255;

/// A path relative to a root, `/`-separated, as the file system's bytes.
pub type RelPath = [u8];

/// Paths with a value each, in path order, all paths in one byte buffer (a scan of 100,000
/// entries then costs no allocation per path).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathList<T> {
    bytes: Vec<u8>,
    /// Where each path starts in `bytes`, its length, its value.
    items: Vec<(u32, u32, T)>,
}

impl<T> Default for PathList<T> {
    fn default() -> Self {
        Self {
            bytes: Vec::new(),
            items: Vec::new(),
        }
    }
}

impl<T> PathList<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, path: &RelPath, value: T) {
        let start = u32::try_from(self.bytes.len()).expect("path bytes fit in 4 GiB");
        self.bytes.extend_from_slice(path);
        self.items.push((start, path.len() as u32, value));
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<(&RelPath, &T)> {
        let (start, len, value) = self.items.get(i)?;
        Some((
            &self.bytes[*start as usize..(*start + *len) as usize],
            value,
        ))
    }

    /// The value of `path`, found by bisection (the list is in [`cmp_paths`] order).
    pub fn find(&self, path: &RelPath) -> Option<&T> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = (low + high) / 2;
            let (at, value) = self.get(middle)?;
            match cmp_paths(at, path) {
                Ordering::Less => low = middle + 1,
                Ordering::Greater => high = middle,
                Ordering::Equal => return Some(value),
            }
        }
        None
    }

    pub fn value_mut(&mut self, i: usize) -> &mut T {
        &mut self.items[i].2
    }

    pub fn iter(&self) -> impl Iterator<Item = (&RelPath, &T)> {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Gives back the spare capacity of both buffers.
    pub fn shrink_to_fit(&mut self) {
        self.bytes.shrink_to_fit();
        self.items.shrink_to_fit();
    }
}

/// Orders paths component by component, so a folder is followed directly by everything in
/// it ("a", "a/b", "a-b"): `/` sorts before every other byte.
pub fn cmp_paths(a: &RelPath, b: &RelPath) -> Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    a.iter().map(|&c| key(c)).cmp(b.iter().map(|&c| key(c)))
}

/// Whether `path` lies inside the folder `dir`.
pub fn is_inside(path: &RelPath, dir: &RelPath) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

/// The absolute path of `rel` under `root`.
pub fn under(root: &Path, rel: &RelPath) -> PathBuf {
    if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(OsStr::from_bytes(rel))
    }
}

/// The folder part and the name part of a relative path.
pub fn split(rel: &RelPath) -> (&RelPath, &RelPath) {
    match rel.iter().rposition(|&c| c == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&[], rel),
    }
}

/// A lossless text form: UTF-8 as it is, `\` doubled, other bytes as `\xNN`.
pub fn to_text(rel: &RelPath) -> String {
    let mut out = String::with_capacity(rel.len());
    for chunk in rel.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02X}"));
        }
    }
    out
}

/// Reads back what [`to_text`] wrote; `None` for text it cannot have written.
pub fn from_text(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1)? {
            b'\\' => {
                out.push(b'\\');
                i += 2;
            }
            b'x' => {
                let hex = std::str::from_utf8(bytes.get(i + 2..i + 4)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 4;
            }
            _ => return None,
        }
    }
    Some(out)
}

/// `dir/report (conflict 2026-11-21 063000).txt` for `dir/report.txt`; the name part is
/// shortened (whole characters) to fit [`NAME_MAX`].
pub fn conflict_copy(rel: &RelPath, stamp: &str) -> Vec<u8> {
    let (dir, name) = split(rel);
    let dot = name.iter().rposition(|&c| c == b'.').filter(|&i| i > 0);
    let (mut stem, mut ext) = dot.map_or((name, &b""[..]), |i| (&name[..i], &name[i..]));
    let tag = format!(" (conflict {stamp})");
    if ext.len() + tag.len() >= NAME_MAX {
        ext = b"";
    }
    let room = NAME_MAX.saturating_sub(tag.len() + ext.len());
    if stem.len() > room {
        stem = &stem[..char_boundary(stem, room)];
    }
    let mut out = Vec::with_capacity(rel.len() + 32);
    if !dir.is_empty() {
        out.extend_from_slice(dir);
        out.push(b'/');
    }
    out.extend_from_slice(stem);
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(ext);
    out
}

/// The largest cut at most `at` that does not split a UTF-8 character.
fn char_boundary(bytes: &[u8], at: usize) -> usize {
    let mut cut = at.min(bytes.len());
    while cut > 0 && cut < bytes.len() && (bytes[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_sort_right_before_their_contents() {
        let mut paths: Vec<&[u8]> = vec![b"a-b", b"a/b", b"a", b"a/b/c", b"a.txt", b"b"];
        paths.sort_by(|a, b| cmp_paths(a, b));
        assert_eq!(
            paths,
            vec![&b"a"[..], b"a/b", b"a/b/c", b"a-b", b"a.txt", b"b"]
        );
    }

    #[test]
    fn text_form_is_lossless() {
        for path in [
            &b"plain/name.txt"[..],
            b"caf\xc3\xa9",
            b"bad\xff\xfe/x",
            b"back\\slash\\x41",
        ] {
            let text = to_text(path);
            assert_eq!(from_text(&text).as_deref(), Some(path), "{text}");
        }
        assert_eq!(to_text(b"a\xffb"), "a\\xFFb");
        assert_eq!(from_text("a\\q"), None);
    }

    #[test]
    fn conflict_copies_keep_the_extension() {
        assert_eq!(
            conflict_copy(b"d/report.txt", "2026-01-02 030405"),
            b"d/report (conflict 2026-01-02 030405).txt"
        );
        assert_eq!(conflict_copy(b".bashrc", "S"), b".bashrc (conflict S)");
        assert_eq!(conflict_copy(b"Makefile", "S"), b"Makefile (conflict S)");
    }

    #[test]
    fn conflict_copies_of_long_names_fit_the_name_limit() {
        let long = "文".repeat(80) + ".txt";
        let copy = conflict_copy(format!("d/{long}").as_bytes(), "2026-01-02 030405 2");
        let (dir, name) = split(&copy);
        assert_eq!(dir, b"d");
        assert!(name.len() <= NAME_MAX, "{}", name.len());
        let text = std::str::from_utf8(name).expect("whole characters kept");
        assert!(text.starts_with('文') && text.ends_with(" (conflict 2026-01-02 030405 2).txt"));
        let huge_ext = format!("a.{}", "e".repeat(250));
        assert!(conflict_copy(huge_ext.as_bytes(), "S").len() <= NAME_MAX);
    }
}
