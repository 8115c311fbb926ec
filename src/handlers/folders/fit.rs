//! Which planned changes a side's file system can hold. A FAT or exFAT stick cannot hold
//! symlinks or names with `:`, and does not tell `README` from `readme`; copying such an
//! entry there would fail (or land on the other name) at every run. Such changes are held
//! back with a reason, and so is everything inside a folder that is held back. Pure: no
//! I/O.

use super::names::{RelPath, split};
use super::reconcile::{Action, Rows, Side};
use super::replica::{Keeps, Kind};
use std::collections::HashMap;

/// A change that was not planned because the target cannot hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldBack {
    pub row: usize,
    /// The side that cannot hold it.
    pub side: Side,
    pub reason: String,
}

/// Folder → folded name → the name as it is.
type NamesByFolder = HashMap<Vec<u8>, HashMap<Vec<u8>, Vec<u8>>>;

/// The side an action creates a new entry on.
fn creates_on(action: Action) -> Option<Side> {
    match action {
        Action::CopyToRight | Action::MoveOnRight { .. } => Some(Side::Right),
        Action::CopyToLeft | Action::MoveOnLeft { .. } => Some(Side::Left),
        _ => None,
    }
}

/// A name as a case-insensitive file system compares it.
fn folded(name: &RelPath) -> Vec<u8> {
    match std::str::from_utf8(name) {
        Ok(text) => text.to_lowercase().into_bytes(),
        Err(_) => name.to_ascii_lowercase(),
    }
}

/// Holds back the actions `keeps` (left, right) cannot carry out: they become `Nothing`
/// (a move held back leaves its old path's deletion as it was), and the list says why.
pub fn hold_back<R: Rows + ?Sized>(
    rows: &R,
    actions: &mut [Action],
    keeps: [Keeps; 2],
) -> Vec<HeldBack> {
    let mut held: Vec<HeldBack> = Vec::new();
    // Per side: folder → folded name → the name the side will have there.
    let mut names: [NamesByFolder; 2] = Default::default();
    let mut path = Vec::new();
    for side in [Side::Left, Side::Right] {
        if keeps[side.index()].case_sensitive {
            continue;
        }
        for i in 0..rows.len() {
            let row = rows.row(i);
            if row.entry(side).is_some() {
                rows.path_into(i, &mut path);
                let (dir, name) = split(&path);
                names[side.index()]
                    .entry(dir.to_vec())
                    .or_default()
                    .insert(folded(name), name.to_vec());
            }
        }
    }
    let mut held_folder: Option<usize> = None;
    for i in 0..rows.len() {
        if let Some(folder) = held_folder {
            if rows.is_inside(i, folder) {
                if creates_on(actions[i]).is_some() {
                    undo(actions, i);
                }
                continue;
            }
            held_folder = None;
        }
        let Some(side) = creates_on(actions[i]) else {
            continue;
        };
        let row = rows.row(i);
        if row.entry(side).is_some() {
            continue;
        }
        let keep = &keeps[side.index()];
        if *keep == Keeps::ALL {
            continue;
        }
        let source = row.entry(side.other()).expect("a copy has a source");
        rows.path_into(i, &mut path);
        let (dir, name) = split(&path);
        let reason = if source.kind == Kind::Symlink && !keep.symlinks {
            Some("its file system cannot hold symbolic links".to_string())
        } else if let Some(reason) = keep.refuses_name(name) {
            Some(reason)
        } else if !keep.case_sensitive {
            let there = names[side.index()].entry(dir.to_vec()).or_default();
            match there.get(&folded(name)) {
                Some(other) => Some(format!(
                    "its file system does not tell \"{}\" and \"{}\" apart",
                    String::from_utf8_lossy(other),
                    String::from_utf8_lossy(name)
                )),
                None => {
                    there.insert(folded(name), name.to_vec());
                    None
                }
            }
        } else {
            None
        };
        if let Some(reason) = reason {
            undo(actions, i);
            held.push(HeldBack {
                row: i,
                side,
                reason,
            });
            if source.kind == Kind::Dir {
                held_folder = Some(i);
            }
        }
    }
    held
}

/// Makes the action at `i` nothing; a held-back move's old path is deleted as planned
/// before the move was found.
fn undo(actions: &mut [Action], i: usize) {
    match actions[i] {
        Action::MoveOnRight { from } => actions[from as usize] = Action::DeleteRight,
        Action::MoveOnLeft { from } => actions[from as usize] = Action::DeleteLeft,
        _ => {}
    }
    actions[i] = Action::Nothing;
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
            size: 1,
            mtime: Mtime::new(1, 0),
            hash: Some([1; 32]),
            target: None,
        })
    }

    fn link() -> Option<Entry> {
        Some(Entry {
            kind: Kind::Symlink,
            target: Some(b"x".as_slice().into()),
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

    const STICK: Keeps = Keeps {
        exec_bit: false,
        symlinks: false,
        case_sensitive: false,
        forbidden: b"\"*:<>?\\|",
        mtime_step_ns: 2_000_000_000,
        utf8_names: false,
    };

    #[test]
    fn what_a_stick_cannot_hold_is_held_back_with_the_reason() {
        let rows = [
            row("README", file(), None),
            row("a:b.txt", file(), None),
            row("bad?", Some(Entry::dir()), None),
            row("bad?/inside", file(), None),
            row("fine.txt", file(), None),
            row("link", link(), None),
            row("readme", file(), None),
            row("x", None, file()),
        ];
        let mut actions = vec![Action::CopyToRight; 7];
        actions.push(Action::CopyToLeft);
        let held = hold_back(rows.as_slice(), &mut actions, [Keeps::ALL, STICK]);
        let reasons: Vec<(usize, &str)> = held.iter().map(|h| (h.row, h.reason.as_str())).collect();
        assert_eq!(
            reasons,
            vec![
                (1, "its file system cannot hold names with ':'"),
                (2, "its file system cannot hold names with '?'"),
                (5, "its file system cannot hold symbolic links"),
                (
                    6,
                    "its file system does not tell \"README\" and \"readme\" apart"
                ),
            ]
        );
        assert!(held.iter().all(|h| h.side == Side::Right));
        use Action::*;
        assert_eq!(
            actions,
            vec![
                CopyToRight,
                Nothing,
                Nothing,
                Nothing,
                CopyToRight,
                Nothing,
                Nothing,
                CopyToLeft
            ]
        );
        // The same onto a Unix file system: nothing held back.
        let mut all = vec![CopyToRight; 7];
        all.push(CopyToLeft);
        assert!(hold_back(rows.as_slice(), &mut all, [Keeps::ALL, Keeps::ALL]).is_empty());
    }

    #[test]
    fn a_name_already_there_in_another_case_is_held_back_and_a_held_move_deletes() {
        let rows = [
            row("Notes", file(), file()),
            row("a", None, file()),
            row("notes", file(), None),
        ];
        let mut actions = vec![
            Action::Nothing,
            Action::MovedAway,
            Action::MoveOnRight { from: 1 },
        ];
        let held = hold_back(rows.as_slice(), &mut actions, [Keeps::ALL, STICK]);
        assert_eq!(held.len(), 1);
        assert_eq!(
            actions,
            vec![Action::Nothing, Action::DeleteRight, Action::Nothing]
        );
    }
}
