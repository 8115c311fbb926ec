//! Which of a batch's changes go to a side in one intake ([`Replica::take_in`]): the new
//! files and folders a remote takes faster together than one by one. Pure: decided from the
//! rows and the plan, before anything is read or written.
//!
//! [`Replica::take_in`]: super::replica::Replica::take_in

use super::names::{RelPath, split};
use super::reconcile::{Action, Rows, Side};
use super::replica::Kind;
use std::collections::{HashMap, HashSet};

/// The rows of `batch` (in the order they are applied) that arrive on `toward` in one
/// intake, in path order: copies of a file or folder over nothing whose path `takes`
/// accepts, and whose folder either is there already or arrives in the same intake. A
/// folder this batch makes by another way keeps its contents out, as they must come after
/// it.
pub fn select<R: Rows + ?Sized>(
    rows: &R,
    actions: &[Action],
    batch: &[usize],
    toward: Side,
    takes: impl Fn(&RelPath) -> bool,
) -> Vec<usize> {
    let copy = match toward {
        Side::Right => Action::CopyToRight,
        Side::Left => Action::CopyToLeft,
    };
    let mut copies: Vec<usize> = batch
        .iter()
        .copied()
        .filter(|&i| actions[i] == copy)
        .collect();
    copies.sort_unstable();
    // The folders this batch makes on `toward`, and whether each arrives in the intake.
    let mut made: HashMap<Vec<u8>, bool> = HashMap::new();
    let mut selected = Vec::new();
    for i in copies {
        let row = rows.row(i);
        let Some(source) = row.entry(toward.other()) else {
            continue;
        };
        let path = rows.path(i);
        let over_nothing = row.entry(toward).is_none();
        let arrives = over_nothing
            && matches!(source.kind, Kind::File | Kind::Dir)
            && takes(&path)
            && made.get(split(&path).0).copied().unwrap_or(true);
        if source.kind == Kind::Dir {
            made.insert(path, arrives);
        }
        if arrives {
            selected.push(i);
        }
    }
    selected
}

/// Which arrivals of an intake may be placed ([`Intake::cleared`]), given which the run
/// announced, both in path order: an announced arrival stays out when a folder above it
/// arrives too and stays out.
///
/// [`Intake::cleared`]: super::replica::Intake::cleared
pub fn clear<'p>(arrivals: impl IntoIterator<Item = &'p RelPath>, announced: &[bool]) -> Vec<bool> {
    let mut held: HashSet<&RelPath> = HashSet::new();
    arrivals
        .into_iter()
        .enumerate()
        .map(|(k, path)| {
            let placed = announced.get(k) == Some(&true) && !held.contains(split(path).0);
            if !placed {
                held.insert(path);
            }
            placed
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::folders::reconcile::Row;
    use crate::handlers::folders::replica::{Entry, Mtime};

    fn file() -> Option<Entry> {
        Some(Entry {
            kind: Kind::File,
            exec: false,
            size: 3,
            mtime: Mtime::new(1, 0),
            hash: None,
            target: None,
        })
    }

    fn link() -> Option<Entry> {
        Some(Entry {
            kind: Kind::Symlink,
            target: Some(b"t".to_vec().into()),
            ..file().unwrap()
        })
    }

    fn row(path: &str, left: Option<Entry>, right: Option<Entry>) -> Row {
        Row {
            path: path.as_bytes().into(),
            archive: None,
            left,
            right,
        }
    }

    /// The paths `select` picks from all rows as one batch toward the right, `takes`
    /// refusing paths that hold a `!`.
    fn picked(rows: &[Row], actions: &[Action]) -> Vec<String> {
        let batch: Vec<usize> = (0..rows.len()).rev().collect();
        select(rows, actions, &batch, Side::Right, |p| !p.contains(&b'!'))
            .into_iter()
            .map(|i| String::from_utf8(rows[i].path.to_vec()).unwrap())
            .collect()
    }

    use Action::*;

    #[test]
    fn new_files_and_folders_over_nothing_arrive_together() {
        let dir = || Some(Entry::dir());
        let rows = [
            row("a", dir(), None),
            row("a/b", dir(), None),
            row("a/b/f", file(), None),
            row("a/g", file(), None),
            row("top", file(), None),
        ];
        let actions = [CopyToRight; 5];
        assert_eq!(picked(&rows, &actions), ["a", "a/b", "a/b/f", "a/g", "top"]);
    }

    #[test]
    fn what_replaces_something_or_is_not_a_copy_toward_the_side_stays_out() {
        let dir = || Some(Entry::dir());
        let rows = [
            row("copied-left", None, file()),
            row("deleted", None, file()),
            row("link", link(), None),
            row("replaced", file(), file()),
            row("there", dir(), dir()),
            row("there/new", file(), None),
        ];
        let actions = [
            CopyToLeft,
            DeleteRight,
            CopyToRight,
            CopyToRight,
            Nothing,
            CopyToRight,
        ];
        assert_eq!(picked(&rows, &actions), ["there/new"]);
    }

    #[test]
    fn the_contents_of_a_folder_made_another_way_wait_for_it() {
        let dir = || Some(Entry::dir());
        let rows = [
            // Refused by `takes`: made one by one, its contents after it.
            row("a!", dir(), None),
            row("a!/f", file(), None),
            // A folder over a file: the file goes first, then the folder, then its contents.
            row("b", dir(), file()),
            row("b/f", file(), None),
            row("c", dir(), None),
            row("c/f", file(), None),
            row("c/g!", file(), None),
        ];
        let actions = [CopyToRight; 7];
        assert_eq!(picked(&rows, &actions), ["c", "c/f"]);
    }

    #[test]
    fn a_folder_made_by_an_earlier_batch_takes_its_files_in() {
        let dir = || Some(Entry::dir());
        let rows = [
            row("a", dir(), None),
            row("a/f", file(), None),
            row("a/g", file(), None),
        ];
        let actions = [CopyToRight; 3];
        // The folder went in the batch before; this batch has only its files.
        let batch = [1, 2];
        let selected = select(&rows[..], &actions, &batch, Side::Right, |_| true);
        assert_eq!(selected, [1, 2]);
    }

    #[test]
    fn what_was_announced_is_cleared_unless_a_folder_above_it_stays_out() {
        let paths: [&[u8]; 7] = [b"a", b"a/b", b"a/b/f", b"a/g", b"c", b"c/f", b"top"];
        let cases: [([bool; 7], [bool; 7]); 5] = [
            ([true; 7], [true; 7]),
            ([false; 7], [false; 7]),
            // A file that changed since the scan stays out alone.
            (
                [true, true, false, true, true, true, true],
                [true, true, false, true, true, true, true],
            ),
            // A folder that stays out keeps everything below it out.
            (
                [false, true, true, true, true, true, true],
                [false, false, false, false, true, true, true],
            ),
            (
                [true, false, true, true, true, true, false],
                [true, false, false, true, true, true, false],
            ),
        ];
        for (announced, cleared) in cases {
            assert_eq!(clear(paths, &announced), cleared, "announced {announced:?}");
        }
        // Every combination: cleared is announced with every arriving folder above it.
        for mask in 0..1u32 << paths.len() {
            let announced: Vec<bool> = (0..paths.len()).map(|k| mask & 1 << k != 0).collect();
            let expected: Vec<bool> = paths
                .iter()
                .map(|path| {
                    paths.iter().zip(&announced).all(|(other, &said)| {
                        let above = path.starts_with(other)
                            && (path.len() == other.len() || path[other.len()] == b'/');
                        said || !above
                    })
                })
                .collect();
            assert_eq!(
                clear(paths, &announced),
                expected,
                "announced {announced:?}"
            );
        }
        // An answer missing at the end is "no".
        assert_eq!(
            clear(paths, &[true; 3]),
            [true, true, true, false, false, false, false]
        );
    }

    #[test]
    fn toward_the_left_the_right_side_is_the_source() {
        let rows = [row("f", None, file()), row("g", file(), None)];
        let actions = [CopyToLeft, CopyToRight];
        let selected = select(&rows[..], &actions, &[0, 1], Side::Left, |_| true);
        assert_eq!(selected, [0]);
    }
}
