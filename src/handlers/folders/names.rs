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

/// Marks "no path" where an index is expected (a path at the top has no folder above it).
pub const NO_INDEX: u32 = u32::MAX;

/// Paths with a value each, in [`cmp_paths`] order, stored as a tree: each path is the
/// index of the nearest path above it in the list (its folder) and the rest of its name.
/// A path then costs 8 bytes and its last name, however deep it is: a million paths of 80
/// bytes take 20 MB instead of 90 MB, and nothing is allocated per path.
#[derive(Clone, Debug)]
pub struct PathTree<T> {
    /// The names one after the other: the name of path `i` runs from where it starts to
    /// where the next one starts.
    names: Vec<u8>,
    /// Per path: the index of its folder ([`NO_INDEX`] at the top), where its name starts,
    /// its value.
    items: Vec<(u32, u32, T)>,
    /// The last path pushed, and the index and length of each path of the list it lies in.
    last: Vec<u8>,
    open: Vec<(u32, u32)>,
}

impl<T> Default for PathTree<T> {
    fn default() -> Self {
        Self {
            names: Vec::new(),
            items: Vec::new(),
            last: Vec::new(),
            open: Vec::new(),
        }
    }
}

impl<T> PathTree<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a path after all the others (paths come in [`cmp_paths`] order).
    pub fn push(&mut self, path: &RelPath, value: T) {
        while let Some(&(_, len)) = self.open.last() {
            if is_inside(path, &self.last[..len as usize]) {
                break;
            }
            self.open.pop();
        }
        let (parent, above) = match self.open.last() {
            Some(&(index, len)) => (index, len as usize),
            None => (NO_INDEX, 0),
        };
        let name = if parent == NO_INDEX {
            path
        } else {
            &path[above + 1..]
        };
        let index = u32::try_from(self.items.len())
            .ok()
            .filter(|&i| i != NO_INDEX)
            .expect("fewer than 4 billion paths");
        let start = u32::try_from(self.names.len()).expect("names fit in 4 GiB");
        self.names.extend_from_slice(name);
        self.items.push((parent, start, value));
        self.last.truncate(above);
        self.last.extend_from_slice(&path[above..]);
        self.open.push((
            index,
            u32::try_from(path.len()).expect("a path under 4 GiB"),
        ));
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The last part of path `i`: its name in its folder.
    pub fn name(&self, i: usize) -> &RelPath {
        let start = self.items[i].1 as usize;
        let end = self
            .items
            .get(i + 1)
            .map_or(self.names.len(), |n| n.1 as usize);
        &self.names[start..end]
    }

    /// The index of the folder path `i` is in, `None` at the top.
    pub fn parent(&self, i: usize) -> Option<usize> {
        let parent = self.items[i].0;
        (parent != NO_INDEX).then_some(parent as usize)
    }

    /// Writes path `i` into `out` (replacing what it held).
    pub fn path_into(&self, i: usize, out: &mut Vec<u8>) {
        let mut len = 0;
        let mut at = Some(i);
        while let Some(j) = at {
            len += self.name(j).len();
            at = self.parent(j);
            len += usize::from(at.is_some());
        }
        out.clear();
        out.resize(len, 0);
        let mut end = len;
        let mut at = Some(i);
        while let Some(j) = at {
            let name = self.name(j);
            out[end - name.len()..end].copy_from_slice(name);
            end -= name.len();
            at = self.parent(j);
            if at.is_some() {
                end -= 1;
                out[end] = b'/';
            }
        }
    }

    /// Path `i` as a new vector.
    pub fn path(&self, i: usize) -> Vec<u8> {
        let mut out = Vec::new();
        self.path_into(i, &mut out);
        out
    }

    /// Whether path `i` lies inside path `folder` (folders come before their contents, so
    /// the folders above a path have smaller indices).
    pub fn is_inside(&self, i: usize, folder: usize) -> bool {
        let mut at = self.parent(i);
        while let Some(j) = at {
            if j <= folder {
                return j == folder;
            }
            at = self.parent(j);
        }
        false
    }

    pub fn value(&self, i: usize) -> &T {
        &self.items[i].2
    }

    pub fn value_mut(&mut self, i: usize) -> &mut T {
        &mut self.items[i].2
    }

    /// The paths in order, each written out once (no path is rebuilt from the top).
    pub fn walk(&self) -> Walk<'_, T> {
        let mut walk = Walk {
            tree: self,
            at: 0,
            path: Vec::new(),
            open: Vec::new(),
        };
        walk.load();
        walk
    }

    /// Gives back the spare capacity of the buffers.
    pub fn shrink_to_fit(&mut self) {
        self.names.shrink_to_fit();
        self.items.shrink_to_fit();
    }
}

/// Goes through a [`PathTree`] in order, keeping the current path written out.
pub struct Walk<'t, T> {
    tree: &'t PathTree<T>,
    at: usize,
    path: Vec<u8>,
    /// The index and path length of each folder above the current path, and its own.
    open: Vec<(usize, usize)>,
}

impl<T> Walk<'_, T> {
    /// The current path and its index; `None` at the end.
    pub fn current(&self) -> Option<(usize, &RelPath)> {
        (self.at < self.tree.len()).then_some((self.at, self.path.as_slice()))
    }

    pub fn advance(&mut self) {
        self.at += 1;
        self.load();
    }

    fn load(&mut self) {
        if self.at >= self.tree.len() {
            return;
        }
        let parent = self.tree.parent(self.at);
        while self
            .open
            .last()
            .is_some_and(|&(index, _)| Some(index) != parent)
        {
            self.open.pop();
        }
        match self.open.last() {
            Some(&(_, len)) => {
                self.path.truncate(len);
                self.path.push(b'/');
            }
            None => self.path.clear(),
        }
        self.path.extend_from_slice(self.tree.name(self.at));
        self.open.push((self.at, self.path.len()));
    }
}

/// Orders paths component by component, so a folder is followed directly by everything in
/// it ("a", "a/b", "a-b"): `/` sorts before every other byte.
pub fn cmp_paths(a: &RelPath, b: &RelPath) -> Ordering {
    let key = |c: u8| if c == b'/' { 0 } else { c };
    // Paths compared share long beginnings: find the first byte that differs, then order
    // by it (a plain slice comparison, without mapping every byte).
    let common = a.iter().zip(b).position(|(x, y)| x != y);
    match common {
        Some(at) => key(a[at]).cmp(&key(b[at])),
        None => a.len().cmp(&b.len()),
    }
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
