//! Reconciliation: for every path, what to do given the archive (the last synced state) and
//! both sides now, in the pair's mode. Pure: no I/O, no clocks.
//!
//! Rules (two-way), as in Unison: a side *changed* a path when its contents differ from the
//! archive (mtime alone is no change when the hash matches: the archive just learns the new
//! mtime). A change on one side propagates; identical changes on both sides are no conflict;
//! a modification beats a deletion; different changes on both sides are a conflict and
//! neither side is touched. Mirror makes the right an exact copy of the left; contribute
//! copies the left's new and changed entries to the right and never deletes there (a change
//! the right made itself is left alone, and is a conflict if the left changed it too).
//!
//! [`plan`] then fixes what a per-path decision cannot see, the same way whichever side did
//! what: a folder deleted on one side that still holds a new or changed entry on the other
//! is recreated, a file that would replace a folder whose contents changed on the other
//! side becomes a conflict, nothing under a conflict is touched, and a file that moved on
//! one side (deleted at one path, the same contents new at another) is moved on the other
//! side too instead of being deleted there and copied again.

use super::archive::{Synced, SyncedRef};
use super::config::Mode;
use super::names::{RelPath, is_inside, split};
use super::replica::{Entry, EntryRef, Kind};

/// What to do with one path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Both sides are as archived.
    Nothing,
    /// Both sides agree (or both deleted it): the archive learns their state.
    Record,
    /// Forget the archived state: the sides disagree and that is fine (contribute).
    Forget,
    CopyToRight,
    CopyToLeft,
    DeleteLeft,
    DeleteRight,
    /// Both changed differently: touch neither, ask the user.
    Conflict,
    /// The file was moved on the left from the path of row `from`: move it there on the
    /// right too.
    MoveOnRight {
        from: u32,
    },
    /// The mirror image: moved on the right, moved on the left too.
    MoveOnLeft {
        from: u32,
    },
    /// Moved away by a move planned at another row: that row's change forgets this path.
    MovedAway,
}

/// One side of a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Left,
    Right,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Left => Side::Right,
            Side::Right => Side::Left,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Side::Left => 0,
            Side::Right => 1,
        }
    }
}

/// One path with its three states, owned (for building plans by hand).
#[derive(Clone, Debug)]
pub struct Row {
    pub path: Box<RelPath>,
    pub archive: Option<Synced>,
    pub left: Option<Entry>,
    pub right: Option<Entry>,
}

/// The three states of one path, borrowed from wherever they are kept.
#[derive(Clone, Copy, Debug)]
pub struct RowRef<'a> {
    pub archive: Option<SyncedRef<'a>>,
    pub left: Option<EntryRef<'a>>,
    pub right: Option<EntryRef<'a>>,
}

impl<'a> RowRef<'a> {
    /// This path's entry on one side.
    pub fn entry(&self, side: Side) -> Option<EntryRef<'a>> {
        match side {
            Side::Left => self.left,
            Side::Right => self.right,
        }
    }
}

/// Paths with their three states, in path order (folders before their contents). Paths are
/// written out only when asked for: lists keep them compact.
pub trait Rows {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    fn row(&self, i: usize) -> RowRef<'_>;
    /// Writes row `i`'s path into `out` (replacing what it held).
    fn path_into(&self, i: usize, out: &mut Vec<u8>);
    /// Row `i`'s path.
    fn path(&self, i: usize) -> Vec<u8> {
        let mut out = Vec::new();
        self.path_into(i, &mut out);
        out
    }
    /// The last part of row `i`'s path: its name in its folder.
    fn name(&self, i: usize) -> &RelPath;
    /// Whether row `i`'s path lies inside row `folder`'s.
    fn is_inside(&self, i: usize, folder: usize) -> bool;
}

impl Rows for [Row] {
    fn len(&self) -> usize {
        <[Row]>::len(self)
    }
    fn row(&self, i: usize) -> RowRef<'_> {
        let row = &self[i];
        RowRef {
            archive: row.archive.as_ref().map(Synced::view),
            left: row.left.as_ref().map(Entry::view),
            right: row.right.as_ref().map(Entry::view),
        }
    }
    fn path_into(&self, i: usize, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(&self[i].path);
    }
    fn name(&self, i: usize) -> &RelPath {
        split(&self[i].path).1
    }
    fn is_inside(&self, i: usize, folder: usize) -> bool {
        is_inside(&self[i].path, &self[folder].path)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    Unchanged,
    /// Same contents, new mtime.
    Touched,
    Changed,
}

fn change(archive: Option<SyncedRef>, now: Option<EntryRef>, side: Side) -> Change {
    let (archive, now) = match (archive, now) {
        (None, None) => return Change::Unchanged,
        (Some(archive), Some(now)) if archive.kind == now.kind => (archive, now),
        _ => return Change::Changed,
    };
    match now.kind {
        Kind::Dir => Change::Unchanged,
        Kind::Symlink if now.target == archive.target => Change::Unchanged,
        Kind::Symlink => Change::Changed,
        Kind::File if now.size != archive.size || now.exec != archive.exec => Change::Changed,
        Kind::File if now.mtime == archive.mtime[side.index()] => Change::Unchanged,
        Kind::File if now.hash == Some(archive.hash) => Change::Touched,
        Kind::File => Change::Changed,
    }
}

/// Whether both sides hold the same thing (both absent counts). Files compare by hash, so
/// both must have been hashed; unknown hashes count as different.
pub fn same(left: Option<EntryRef>, right: Option<EntryRef>) -> bool {
    match (left, right) {
        (None, None) => true,
        (Some(l), Some(r)) if l.kind == r.kind => match l.kind {
            Kind::Dir => true,
            Kind::Symlink => l.target == r.target,
            Kind::File => {
                l.size == r.size && l.exec == r.exec && l.hash.is_some() && l.hash == r.hash
            }
        },
        _ => false,
    }
}

/// The decision for one path on its own.
pub fn reconcile(
    archive: Option<SyncedRef>,
    left: Option<EntryRef>,
    right: Option<EntryRef>,
    mode: Mode,
) -> Action {
    let left_change = change(archive, left, Side::Left);
    let right_change = change(archive, right, Side::Right);
    if left_change == Change::Unchanged && right_change == Change::Unchanged {
        return Action::Nothing;
    }
    if same(left, right) {
        return Action::Record;
    }
    match mode {
        Mode::TwoWay => match (left_change, right_change) {
            (Change::Changed, Change::Changed) => match (left, right) {
                (None, _) => Action::CopyToLeft,
                (_, None) => Action::CopyToRight,
                _ => Action::Conflict,
            },
            (Change::Changed, _) if left.is_none() => Action::DeleteRight,
            (Change::Changed, _) => Action::CopyToRight,
            (_, Change::Changed) if right.is_none() => Action::DeleteLeft,
            (_, Change::Changed) => Action::CopyToLeft,
            _ => Action::Record,
        },
        Mode::Mirror if left.is_none() => Action::DeleteRight,
        Mode::Mirror => Action::CopyToRight,
        Mode::Contribute => match (left, right) {
            (None, _) if archive.is_some() => Action::Forget,
            (None, _) => Action::Nothing,
            (Some(_), None) => Action::CopyToRight,
            (Some(_), Some(_)) => match (left_change, right_change) {
                (Change::Changed, Change::Changed) => Action::Conflict,
                (_, Change::Changed) => Action::Nothing,
                _ => Action::CopyToRight,
            },
        },
    }
}

/// The kinds each side will have after `action`.
fn kinds_after(row: RowRef, action: Action) -> [Option<Kind>; 2] {
    let left = row.left.map(|e| e.kind);
    let right = row.right.map(|e| e.kind);
    match action {
        Action::CopyToRight | Action::MoveOnRight { .. } => [left, left],
        Action::CopyToLeft | Action::MoveOnLeft { .. } => [right, right],
        Action::DeleteLeft => [None, right],
        Action::DeleteRight => [left, None],
        Action::MovedAway => [None, None],
        _ => [left, right],
    }
}

/// A conflict the user resolved by keeping one side for this path and everything in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keep {
    pub path: Box<RelPath>,
    pub side: Side,
}

/// The action that makes the other side like `side`.
fn make_like(row: RowRef, side: Side) -> Action {
    let (winner, loser) = (row.entry(side), row.entry(side.other()));
    match (side, winner, loser) {
        _ if same(winner, loser) => Action::Record,
        (Side::Left, Some(_), _) => Action::CopyToRight,
        (Side::Left, None, _) => Action::DeleteRight,
        (Side::Right, Some(_), _) => Action::CopyToLeft,
        (Side::Right, None, _) => Action::DeleteLeft,
    }
}

/// Decides every row (in path order) and fixes up folders, as the module docs say.
/// `keeps` are resolved conflicts; they override the decision for their whole subtree.
pub fn plan<R: Rows + ?Sized>(rows: &R, mode: Mode, keeps: &[Keep]) -> Vec<Action> {
    let mut path = Vec::new();
    let mut actions: Vec<Action> = (0..rows.len())
        .map(|i| {
            let row = rows.row(i);
            let keep = if keeps.is_empty() {
                None
            } else {
                rows.path_into(i, &mut path);
                keeps
                    .iter()
                    .find(|k| *k.path == *path || is_inside(&path, &k.path))
            };
            match keep {
                Some(keep) => make_like(row, keep.side),
                None => reconcile(row.archive, row.left, row.right, mode),
            }
        })
        .collect();

    // Every entry that will exist on a side needs its ancestors to be folders there. Each
    // ancestor keeps what it will be on each side (it changes only here), so the usual
    // case, folders that stay folders, reads no row twice.
    let mut ancestors: Vec<(usize, [Option<Kind>; 2])> = Vec::new();
    for i in 0..rows.len() {
        let row = rows.row(i);
        while ancestors
            .last()
            .is_some_and(|&(a, _)| !rows.is_inside(i, a))
        {
            ancestors.pop();
        }
        let after = kinds_after(row, actions[i]);
        for side in [Side::Left, Side::Right] {
            if after[side.index()].is_none() {
                continue;
            }
            for (a, ancestor_after) in &mut ancestors {
                if ancestor_after[side.index()] == Some(Kind::Dir) {
                    continue;
                }
                let ancestor = rows.row(*a);
                actions[*a] = keep_folder_for(ancestor, actions[*a], side);
                *ancestor_after = kinds_after(ancestor, actions[*a]);
            }
        }
        ancestors.push((i, after));
    }

    // Nothing inside a conflict is touched.
    let mut conflict: Option<usize> = None;
    for (i, action) in actions.iter_mut().enumerate() {
        match conflict {
            Some(c) if rows.is_inside(i, c) => *action = Action::Nothing,
            _ => conflict = (*action == Action::Conflict).then_some(i),
        }
    }
    plan_moves(rows, &mut actions);
    actions
}

/// The action for a folder that must exist on `side` because something inside it will.
/// A folder whose deletion is propagating is recreated instead (from the side that still
/// has it); anything else (a file or link replacing it) is a conflict.
fn keep_folder_for(folder: RowRef, action: Action, side: Side) -> Action {
    let is_dir = |s: Side| folder.entry(s).is_some_and(|e| e.kind == Kind::Dir);
    let delete_on = |s: Side| match s {
        Side::Left => Action::DeleteLeft,
        Side::Right => Action::DeleteRight,
    };
    let copy_to = |s: Side| match s {
        Side::Left => Action::CopyToLeft,
        Side::Right => Action::CopyToRight,
    };
    if action == delete_on(side) && is_dir(side) {
        // The other side deleted it; this side added to it: it comes back there.
        copy_to(side.other())
    } else if action == delete_on(side.other()) && is_dir(side.other()) {
        // This side deleted it; the other side added to it: it comes back here.
        copy_to(side)
    } else {
        Action::Conflict
    }
}

/// Turns "delete on one side" + "copy a new file with the same contents to that side" into
/// a move there. Only files whose contents are known on both ends (hashes) qualify, and the
/// file to move must still be as archived on the side it is moved on.
fn plan_moves<R: Rows + ?Sized>(rows: &R, actions: &mut [Action]) {
    for side in [Side::Left, Side::Right] {
        let (delete, copy) = match side {
            Side::Left => (Action::DeleteLeft, Action::CopyToLeft),
            Side::Right => (Action::DeleteRight, Action::CopyToRight),
        };
        // (size, exec, hash) → rows whose file is gone on the other side and as archived here.
        let mut gone: std::collections::HashMap<(u64, bool, [u8; 32]), Vec<usize>> =
            std::collections::HashMap::new();
        for (i, action) in actions.iter().enumerate().rev() {
            if *action != delete {
                continue;
            }
            let row = rows.row(i);
            if let (Some(archive), Some(here)) = (row.archive, row.entry(side))
                && archive.kind == Kind::File
                && here.kind == Kind::File
                && here.size == archive.size
                && here.exec == archive.exec
                && here.hash == Some(archive.hash)
            {
                gone.entry((archive.size, archive.exec, *archive.hash))
                    .or_default()
                    .push(i);
            }
        }
        if gone.is_empty() {
            continue;
        }
        for i in 0..actions.len() {
            if actions[i] != copy {
                continue;
            }
            let row = rows.row(i);
            if row.archive.is_some() || row.entry(side).is_some() {
                continue;
            }
            let Some(new) = row.entry(side.other()).filter(|e| e.kind == Kind::File) else {
                continue;
            };
            let Some(hash) = new.hash else {
                continue;
            };
            if let Some(from) = gone
                .get_mut(&(new.size, new.exec, *hash))
                .and_then(|rows| rows.pop())
            {
                actions[from] = Action::MovedAway;
                let from = from as u32;
                actions[i] = match side {
                    Side::Left => Action::MoveOnLeft { from },
                    Side::Right => Action::MoveOnRight { from },
                };
            }
        }
    }
}

#[cfg(test)]
mod tests;
