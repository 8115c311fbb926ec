//! The reconcile matrix: every archive state × every left state × every right state, in
//! every mode, as grids (rows: left, columns: right), like Mutagen's reconcile_test.
//!
//! States: `-` absent, `A` the archived file as it was, `a` the archived contents with a new
//! mtime (touched), `B` and `C` two different new contents of the same size, `D` a folder,
//! `S` a symlink to s1 (the archived one), `T` a symlink to s2.
//! Actions: `.` nothing, `r` record in the archive, `f` forget the archive entry, `>` copy to
//! the right, `<` copy to the left, `L` delete on the left, `R` delete on the right,
//! `!` conflict, `M` move on the right, `W` move on the left, `x` moved away.

use super::*;
use crate::handlers::folders::replica::Mtime;

const STATES: &str = "-AaBCDST";

fn file(size: u64, mtime: i64, content: u8) -> Entry {
    Entry {
        kind: Kind::File,
        exec: false,
        size,
        mtime: Mtime::new(mtime, 0),
        hash: Some([content; 32]),
        target: None,
    }
}

fn link(target: &[u8]) -> Entry {
    Entry {
        kind: Kind::Symlink,
        exec: false,
        size: 0,
        mtime: Mtime::new(7, 0),
        hash: None,
        target: Some(target.into()),
    }
}

fn entry(state: char) -> Option<Entry> {
    match state {
        '-' => None,
        'A' => Some(file(1, 100, b'A')),
        'a' => Some(file(1, 200, b'A')),
        'B' => Some(file(2, 300, b'B')),
        'C' => Some(file(2, 400, b'C')),
        'D' => Some(Entry::dir()),
        'S' => Some(link(b"s1")),
        'T' => Some(link(b"s2")),
        _ => panic!("unknown state {state}"),
    }
}

fn archived(state: char) -> Option<Synced> {
    entry(state).map(|e| Synced {
        kind: e.kind,
        exec: e.exec,
        size: e.size,
        mtime: [e.mtime; 2],
        hash: e.hash.unwrap_or_default(),
        target: e.target,
    })
}

fn code(action: Action) -> char {
    match action {
        Action::Nothing => '.',
        Action::Record => 'r',
        Action::Forget => 'f',
        Action::CopyToRight => '>',
        Action::CopyToLeft => '<',
        Action::DeleteLeft => 'L',
        Action::DeleteRight => 'R',
        Action::Conflict => '!',
        Action::MoveOnRight { .. } => 'M',
        Action::MoveOnLeft { .. } => 'W',
        Action::MovedAway => 'x',
    }
}

/// The grid the code produces for one archive state and mode.
fn grid(archive: char, mode: Mode) -> Vec<String> {
    STATES
        .chars()
        .map(|l| {
            STATES
                .chars()
                .map(|r| {
                    code(reconcile(
                        archived(archive).as_ref().map(Synced::view),
                        entry(l).as_ref().map(Entry::view),
                        entry(r).as_ref().map(Entry::view),
                        mode,
                    ))
                })
                .collect()
        })
        .collect()
}

/// Expected grids: (archive state, mode, rows for left = - A a B C D S T, columns right the same).
#[rustfmt::skip]
const MATRIX: &[(char, Mode, [&str; 8])] = &[
    ('-', Mode::TwoWay, [
        // right: -AaBCDST
        ".<<<<<<<", // left -
        ">rr!!!!!", // left A
        ">rr!!!!!", // left a
        ">!!r!!!!", // left B
        ">!!!r!!!", // left C
        ">!!!!r!!", // left D
        ">!!!!!r!", // left S
        ">!!!!!!r", // left T
    ]),
    ('-', Mode::Mirror, [
        // right: -AaBCDST
        ".RRRRRRR", // left -
        ">rr>>>>>", // left A
        ">rr>>>>>", // left a
        ">>>r>>>>", // left B
        ">>>>r>>>", // left C
        ">>>>>r>>", // left D
        ">>>>>>r>", // left S
        ">>>>>>>r", // left T
    ]),
    ('-', Mode::Contribute, [
        // right: -AaBCDST
        "........", // left -
        ">rr!!!!!", // left A
        ">rr!!!!!", // left a
        ">!!r!!!!", // left B
        ">!!!r!!!", // left C
        ">!!!!r!!", // left D
        ">!!!!!r!", // left S
        ">!!!!!!r", // left T
    ]),
    ('A', Mode::TwoWay, [
        // right: -AaBCDST
        "rRR<<<<<", // left -
        "L.r<<<<<", // left A
        "Lrr<<<<<", // left a
        ">>>r!!!!", // left B
        ">>>!r!!!", // left C
        ">>>!!r!!", // left D
        ">>>!!!r!", // left S
        ">>>!!!!r", // left T
    ]),
    ('A', Mode::Mirror, [
        // right: -AaBCDST
        "rRRRRRRR", // left -
        ">.r>>>>>", // left A
        ">rr>>>>>", // left a
        ">>>r>>>>", // left B
        ">>>>r>>>", // left C
        ">>>>>r>>", // left D
        ">>>>>>r>", // left S
        ">>>>>>>r", // left T
    ]),
    ('A', Mode::Contribute, [
        // right: -AaBCDST
        "rfffffff", // left -
        ">.r.....", // left A
        ">rr.....", // left a
        ">>>r!!!!", // left B
        ">>>!r!!!", // left C
        ">>>!!r!!", // left D
        ">>>!!!r!", // left S
        ">>>!!!!r", // left T
    ]),
    ('D', Mode::TwoWay, [
        // right: -AaBCDST
        "r<<<<R<<", // left -
        ">rr!!>!!", // left A
        ">rr!!>!!", // left a
        ">!!r!>!!", // left B
        ">!!!r>!!", // left C
        "L<<<<.<<", // left D
        ">!!!!>r!", // left S
        ">!!!!>!r", // left T
    ]),
    ('D', Mode::Mirror, [
        // right: -AaBCDST
        "rRRRRRRR", // left -
        ">rr>>>>>", // left A
        ">rr>>>>>", // left a
        ">>>r>>>>", // left B
        ">>>>r>>>", // left C
        ">>>>>.>>", // left D
        ">>>>>>r>", // left S
        ">>>>>>>r", // left T
    ]),
    ('D', Mode::Contribute, [
        // right: -AaBCDST
        "rfffffff", // left -
        ">rr!!>!!", // left A
        ">rr!!>!!", // left a
        ">!!r!>!!", // left B
        ">!!!r>!!", // left C
        ">.......", // left D
        ">!!!!>r!", // left S
        ">!!!!>!r", // left T
    ]),
    ('S', Mode::TwoWay, [
        // right: -AaBCDST
        "r<<<<<R<", // left -
        ">rr!!!>!", // left A
        ">rr!!!>!", // left a
        ">!!r!!>!", // left B
        ">!!!r!>!", // left C
        ">!!!!r>!", // left D
        "L<<<<<.<", // left S
        ">!!!!!>r", // left T
    ]),
    ('S', Mode::Mirror, [
        // right: -AaBCDST
        "rRRRRRRR", // left -
        ">rr>>>>>", // left A
        ">rr>>>>>", // left a
        ">>>r>>>>", // left B
        ">>>>r>>>", // left C
        ">>>>>r>>", // left D
        ">>>>>>.>", // left S
        ">>>>>>>r", // left T
    ]),
    ('S', Mode::Contribute, [
        // right: -AaBCDST
        "rfffffff", // left -
        ">rr!!!>!", // left A
        ">rr!!!>!", // left a
        ">!!r!!>!", // left B
        ">!!!r!>!", // left C
        ">!!!!r>!", // left D
        ">.......", // left S
        ">!!!!!>r", // left T
    ]),
];

#[test]
fn every_case_in_every_mode_matches_the_matrix() {
    assert_eq!(MATRIX.len(), 4 * Mode::ALL.len());
    for (archive, mode, expected) in MATRIX {
        let actual = grid(*archive, *mode);
        for (left, (want, got)) in STATES.chars().zip(expected.iter().zip(&actual)) {
            for (right, (w, g)) in STATES.chars().zip(want.chars().zip(got.chars())) {
                assert_eq!(
                    w, g,
                    "archive {archive}, left {left}, right {right}, {mode}: expected {w}, got {g}"
                );
            }
        }
    }
}

fn row(path: &str, archive: char, left: char, right: char) -> Row {
    Row {
        path: path.as_bytes().into(),
        archive: archived(archive),
        left: entry(left),
        right: entry(right),
    }
}

fn codes(rows: &[Row], mode: Mode, keeps: &[Keep]) -> String {
    plan(rows, mode, keeps).into_iter().map(code).collect()
}

#[test]
fn a_folder_deleted_on_one_side_survives_when_the_other_added_to_it() {
    // Right deleted d (and d/old); left added d/new.
    let rows = [
        row("d", 'D', 'D', '-'),
        row("d/new", '-', 'B', '-'),
        row("d/old", 'A', 'A', '-'),
    ];
    assert_eq!(codes(&rows, Mode::TwoWay, &[]), ">>L");
    // Without the new file the deletion goes through.
    assert_eq!(
        codes(&[rows[0].clone(), rows[2].clone()], Mode::TwoWay, &[]),
        "LL"
    );
}

#[test]
fn a_file_replacing_a_folder_whose_contents_changed_is_a_conflict() {
    // Left replaced folder d by a file; right modified d/x.
    let rows = [row("d", 'D', 'B', 'D'), row("d/x", 'A', '-', 'C')];
    assert_eq!(codes(&rows, Mode::TwoWay, &[]), "!.");
    // With d/x untouched on the right, the type change propagates.
    let rows = [row("d", 'D', 'B', 'D'), row("d/x", 'A', '-', 'A')];
    assert_eq!(codes(&rows, Mode::TwoWay, &[]), ">R");
}

#[test]
fn nothing_inside_a_conflict_is_touched() {
    // Both created d: a file on the left, a folder with contents on the right.
    let rows = [
        row("d", '-', 'B', 'D'),
        row("d/x", '-', '-', 'C'),
        row("e", '-', 'A', '-'),
    ];
    assert_eq!(codes(&rows, Mode::TwoWay, &[]), "!.>");
}

#[test]
fn kept_sides_override_the_whole_subtree() {
    let rows = [
        row("d", '-', 'B', 'D'),
        row("d/x", '-', '-', 'C'),
        row("f", 'A', 'B', 'C'),
        row("g", 'A', 'B', 'C'),
    ];
    let keep = |path: &str, side| Keep {
        path: path.as_bytes().into(),
        side,
    };
    assert_eq!(
        codes(
            &rows,
            Mode::TwoWay,
            &[keep("d", Side::Right), keep("f", Side::Left)]
        ),
        "<<>!"
    );
    assert_eq!(
        codes(
            &rows,
            Mode::TwoWay,
            &[keep("d", Side::Left), keep("f", Side::Right)]
        ),
        ">R<!"
    );
}

#[test]
fn unknown_hashes_never_make_files_look_the_same() {
    let mut left = file(2, 300, b'B');
    let mut right = file(2, 300, b'B');
    left.hash = None;
    right.hash = None;
    assert!(!same(Some(left.view()), Some(right.view())));
    assert_eq!(
        reconcile(None, Some(left.view()), Some(right.view()), Mode::TwoWay),
        Action::Conflict
    );
}

/// The same situation with the sides swapped.
fn mirrored(rows: &[Row]) -> Vec<Row> {
    rows.iter()
        .map(|r| Row {
            path: r.path.clone(),
            archive: r.archive.clone(),
            left: r.right.clone(),
            right: r.left.clone(),
        })
        .collect()
}

/// The action that does to the other side what `action` does to one side.
fn swap(action: Action) -> Action {
    match action {
        Action::CopyToRight => Action::CopyToLeft,
        Action::CopyToLeft => Action::CopyToRight,
        Action::DeleteLeft => Action::DeleteRight,
        Action::DeleteRight => Action::DeleteLeft,
        Action::MoveOnRight { from } => Action::MoveOnLeft { from },
        Action::MoveOnLeft { from } => Action::MoveOnRight { from },
        other => other,
    }
}

/// Every tree of a folder `d` (absent, a folder or a file in the archive and on each side)
/// holding `d/e` (any state) holding `d/e/x` (any state), wherever that is possible: two-way
/// plans decide the same whichever side did what.
#[test]
fn two_way_plans_are_the_same_whichever_side_did_what() {
    let folder_states = ['-', 'D', 'A'];
    let states: Vec<char> = STATES.chars().collect();
    let inner_states = ['-', 'A', 'B', 'D'];
    let mut checked = 0;
    let holds = |parent: char, child: char| child == '-' || parent == 'D';
    for (da, dl, dr) in triples(&folder_states) {
        for (ea, el, er) in triples(&states) {
            if !(holds(da, ea) && holds(dl, el) && holds(dr, er)) {
                continue;
            }
            for (xa, xl, xr) in triples(&inner_states) {
                if !(holds(ea, xa) && holds(el, xl) && holds(er, xr)) {
                    continue;
                }
                let mut rows = vec![row("d", da, dl, dr)];
                if (ea, el, er) != ('-', '-', '-') {
                    rows.push(row("d/e", ea, el, er));
                }
                if (xa, xl, xr) != ('-', '-', '-') {
                    rows.push(row("d/e/x", xa, xl, xr));
                }
                let plain = plan(rows.as_slice(), Mode::TwoWay, &[]);
                let swapped: Vec<Action> = plan(mirrored(&rows).as_slice(), Mode::TwoWay, &[])
                    .into_iter()
                    .map(swap)
                    .collect();
                assert_eq!(
                    plain, swapped,
                    "d {da}{dl}{dr}, d/e {ea}{el}{er}, d/e/x {xa}{xl}{xr}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 2_000, "only {checked} trees");
}

fn triples(states: &[char]) -> Vec<(char, char, char)> {
    let mut out = Vec::new();
    for &a in states {
        for &l in states {
            for &r in states {
                out.push((a, l, r));
            }
        }
    }
    out
}

#[test]
fn a_folder_deleted_on_either_side_survives_when_the_other_added_or_changed_in_it() {
    // Deleted on the left; the right added d/sub/added: the folders come back on the left.
    let rows = [
        row("d", 'D', '-', 'D'),
        row("d/old", 'A', '-', 'A'),
        row("d/sub", 'D', '-', 'D'),
        row("d/sub/added", '-', '-', 'B'),
    ];
    assert_eq!(codes(&rows, Mode::TwoWay, &[]), "<R<<");
    assert_eq!(codes(&mirrored(&rows), Mode::TwoWay, &[]), ">L>>");
    // Deleted on one side, a file in it modified on the other: modify beats delete.
    let rows = [row("d", 'D', 'D', '-'), row("d/x", 'A', 'B', '-')];
    assert_eq!(codes(&rows, Mode::TwoWay, &[]), ">>");
    assert_eq!(codes(&mirrored(&rows), Mode::TwoWay, &[]), "<<");
}

fn hashed(size: u64, mtime: i64, content: u8) -> Option<Entry> {
    Some(file(size, mtime, content))
}

#[test]
fn a_file_moved_on_one_side_is_moved_on_the_other() {
    // Left renamed a → b (same contents B, new mtime); the right still has a as archived.
    let archived_b = Synced {
        kind: Kind::File,
        exec: false,
        size: 2,
        mtime: [Mtime::new(300, 0); 2],
        hash: [b'B'; 32],
        target: None,
    };
    let moved = |from: &str, to: &str| {
        [
            Row {
                path: from.as_bytes().into(),
                archive: Some(archived_b.clone()),
                left: None,
                right: hashed(2, 300, b'B'),
            },
            Row {
                path: to.as_bytes().into(),
                archive: None,
                left: hashed(2, 999, b'B'),
                right: None,
            },
        ]
    };
    let rows = moved("a", "b");
    assert_eq!(codes(&rows, Mode::TwoWay, &[]), "xM");
    assert_eq!(
        plan(rows.as_slice(), Mode::TwoWay, &[])[1],
        Action::MoveOnRight { from: 0 }
    );
    assert_eq!(codes(&mirrored(&rows), Mode::TwoWay, &[]), "xW");
    // Into another folder, and in mirror mode.
    let mut rows = moved("a/f", "b/f").to_vec();
    rows.insert(0, row("a", 'D', 'D', 'D'));
    rows.insert(2, row("b", '-', 'D', '-'));
    assert_eq!(codes(&rows, Mode::TwoWay, &[]), ".x>M");
    assert_eq!(codes(&rows, Mode::Mirror, &[]), ".x>M");
    // Contribute never deletes on the right: a copy, the old name stays.
    assert_eq!(codes(&moved("a", "b"), Mode::Contribute, &[]), "f>");
    // Different contents, or a right side changed since the archive: delete and copy.
    let mut other = moved("a", "b");
    other[1].left = hashed(2, 999, b'C');
    assert_eq!(codes(&other, Mode::TwoWay, &[]), "R>");
    let mut changed = moved("a", "b");
    changed[0].right = hashed(2, 500, b'C');
    assert_eq!(codes(&changed, Mode::Mirror, &[]), "R>");
    // Unknown contents (not hashed): no move.
    let mut unknown = moved("a", "b");
    unknown[1].left.as_mut().unwrap().hash = None;
    assert_eq!(codes(&unknown, Mode::TwoWay, &[]), "R>");
    // Two new copies of one moved file: one is a move, the other a copy.
    let mut twice = moved("a", "b").to_vec();
    twice.push(Row {
        path: b"c".as_slice().into(),
        archive: None,
        left: hashed(2, 999, b'B'),
        right: None,
    });
    assert_eq!(codes(&twice, Mode::TwoWay, &[]), "xM>");
}
