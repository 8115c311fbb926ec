use super::*;

fn synced(
    kind: Kind,
    exec: bool,
    size: u64,
    secs: [i64; 2],
    hash: u8,
    target: Option<&[u8]>,
) -> Synced {
    Synced {
        kind,
        exec,
        size,
        mtime: secs.map(|s| Mtime::new(s, 7)),
        hash: if kind == Kind::File {
            [hash; 32]
        } else {
            [0; 32]
        },
        target: target.map(Into::into),
    }
}

fn sample() -> Vec<(Vec<u8>, Synced)> {
    vec![
        (b"d".to_vec(), synced(Kind::Dir, false, 0, [0, 0], 0, None)),
        (
            b"d/f\xff".to_vec(),
            synced(Kind::File, true, 12, [15_000_000_000, -7], 9, None),
        ),
        (
            b"d/g".to_vec(),
            synced(Kind::File, false, 3, [1, 1], 4, None),
        ),
        (
            b"d-x".to_vec(),
            synced(Kind::File, false, 5, [2, 2], 5, None),
        ),
        (
            b"l".to_vec(),
            synced(Kind::Symlink, false, 0, [1, 2], 0, Some(b"../x")),
        ),
    ]
}

const ROOTS: [&str; 2] = ["/l", "/r"];

fn ids() -> [RootId; 2] {
    [RootId("fs 1 inode 2".into()), RootId("fs 3 inode 4".into())]
}

fn write(file: &Path, entries: &[(Vec<u8>, Synced)]) -> Hash {
    let ids = ids();
    let mut writer = Writer::create(
        file,
        Path::new(ROOTS[0]),
        Path::new(ROOTS[1]),
        [&ids[0], &ids[1]],
    )
    .unwrap();
    for (path, synced) in entries {
        writer.put(path, synced.view()).unwrap();
    }
    writer.commit().unwrap()
}

fn found(file: &Path) -> Archived {
    match load(file, Path::new(ROOTS[0]), Path::new(ROOTS[1])).unwrap() {
        Loaded::Found(found) => found,
        Loaded::FirstSync { notice } => panic!("no archive found: {notice:?}"),
    }
}

fn read_all(archived: &Archived) -> Vec<(Vec<u8>, Synced)> {
    let mut entries = archived.entries().unwrap();
    let mut out = Vec::new();
    while let Some((path, synced)) = entries.current() {
        out.push((path.to_vec(), synced.to_owned()));
        entries.advance().unwrap();
    }
    out
}

fn log_writer(file: &Path, base: Hash, keep: u64) -> LogWriter {
    let ids = ids();
    LogWriter::new(
        file,
        Path::new(ROOTS[0]),
        Path::new(ROOTS[1]),
        [&ids[0], &ids[1]],
        base,
        keep,
    )
}

#[test]
fn archives_round_trip_and_know_their_roots() {
    let dir = tempfile::tempdir().unwrap();
    let file = archive_file(dir.path(), "p");
    assert!(matches!(
        load(&file, Path::new(ROOTS[0]), Path::new(ROOTS[1])).unwrap(),
        Loaded::FirstSync { notice: None }
    ));
    write(&file, &sample());
    assert!(last_synced(&file).is_some());
    let archived = found(&file);
    assert_eq!(archived.roots, ids().map(Some));
    assert_eq!(read_all(&archived), sample());
    assert!(matches!(
        load(&file, Path::new("/other"), Path::new(ROOTS[1])).unwrap(),
        Loaded::FirstSync { notice: Some(_) }
    ));
}

#[test]
fn the_log_changes_adds_and_removes_entries_and_a_torn_batch_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = archive_file(dir.path(), "p");
    let base = write(&file, &sample());
    let mut log = log_writer(&file, base, 0);
    let changed = synced(Kind::File, false, 99, [5, 6], 1, None);
    let added = synced(Kind::File, false, 1, [7, 7], 2, None);
    let mut batch = Batch::default();
    batch.put(b"d/g", Some(changed.view()));
    batch.put(b"d/f\xff", None);
    log.append(&batch.take()).unwrap();
    batch.put(b"c", Some(added.view()));
    batch.put(b"d/g", Some(added.view()));
    batch.put(b"d/g", Some(changed.view()));
    log.append(&batch.take()).unwrap();
    let mut expected = sample();
    expected.remove(1);
    expected[1].1 = changed.clone();
    expected.insert(0, (b"c".to_vec(), added.clone()));
    assert_eq!(read_all(&found(&file)), expected);
    // A batch cut short (the run was killed while it was written) is left out.
    batch.put(b"e", Some(added.view()));
    log.append(&batch.take()).unwrap();
    let log_path = log_file(&file);
    let bytes = std::fs::read(&log_path).unwrap();
    std::fs::write(&log_path, &bytes[..bytes.len() - 5]).unwrap();
    assert_eq!(read_all(&found(&file)), expected);
    // The next run appends to what it loaded, cutting the torn batch off.
    let loaded = found(&file);
    let mut again = log_writer(&file, base, loaded.log_len());
    batch.put(b"d-x", None);
    again.append(&batch.take()).unwrap();
    expected.retain(|(path, _)| path != b"d-x");
    assert_eq!(read_all(&found(&file)), expected);
}

#[test]
fn a_log_following_an_older_base_is_never_applied() {
    let dir = tempfile::tempdir().unwrap();
    let file = archive_file(dir.path(), "p");
    let old = write(&file, &sample());
    let mut log = log_writer(&file, old, 0);
    let mut batch = Batch::default();
    batch.put(b"d", None);
    log.append(&batch.take()).unwrap();
    assert_eq!(read_all(&found(&file)).len(), sample().len() - 1);
    // A new base was written (the log folded in) but the run ended before the log went.
    write(&file, &sample()[..2]);
    assert_eq!(read_all(&found(&file)), sample()[..2].to_vec());
}

#[test]
fn a_first_sync_killed_before_its_base_is_found_in_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let file = archive_file(dir.path(), "p");
    let mut log = log_writer(&file, NO_BASE, 0);
    let mut batch = Batch::default();
    for (path, synced) in sample() {
        batch.put(&path, Some(synced.view()));
    }
    log.append(&batch.take()).unwrap();
    let archived = found(&file);
    assert_eq!(archived.roots, ids().map(Some));
    assert_eq!(read_all(&archived), sample());
    assert!(archived.wants_compaction(0));
    remove(&file).unwrap();
    assert!(!log_file(&file).exists());
}

#[test]
fn archives_of_the_second_format_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = archive_file(dir.path(), "p");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    let mut bytes = Vec::new();
    let ids = ids();
    put_header(
        &mut bytes,
        MAGIC_V2,
        Path::new(ROOTS[0]),
        Path::new(ROOTS[1]),
        [&ids[0], &ids[1]],
    );
    for (path, synced) in sample() {
        put_bytes(&mut bytes, &path);
        put_state(&mut bytes, synced.view());
    }
    let checksum = *blake3::hash(&bytes).as_bytes();
    bytes.extend_from_slice(&checksum);
    std::fs::write(&file, bytes).unwrap();
    let archived = found(&file);
    assert_eq!(archived.roots, ids.map(Some));
    assert_eq!(read_all(&archived), sample());
}

#[test]
fn states_are_kept_compactly_and_read_back() {
    let mut states = States::new();
    let numbers: Vec<u32> = sample()
        .iter()
        .map(|(_, s)| states.push(s.view()))
        .collect();
    for (number, (_, synced)) in numbers.into_iter().zip(sample()) {
        assert_eq!(states.get(number).to_owned(), synced);
    }
}

#[test]
fn journal_records_read_back_in_path_order_and_a_torn_one_is_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let file = archive_file(dir.path(), "p");
    assert!(load_journal(&file).is_empty());
    let mut journal = Journal::new(&file);
    for (path, synced) in sample().iter().rev() {
        journal.append(path, synced.view(), 1).unwrap();
    }
    drop(journal);
    let loaded = load_journal(&file);
    assert_eq!(loaded.len(), 5);
    assert_eq!(&*loaded[1].path, b"d/f\xff");
    assert_eq!(loaded[1].synced, sample()[1].1);
    assert_eq!(loaded[1].target, 1);
    let journal = journal_file(&file);
    let bytes = std::fs::read(&journal).unwrap();
    std::fs::write(&journal, &bytes[..bytes.len() - 3]).unwrap();
    assert_eq!(load_journal(&file).len(), 4);
    clear_journal(&file).unwrap();
    assert!(load_journal(&file).is_empty());
}

#[test]
fn a_damaged_archive_is_moved_aside() {
    let dir = tempfile::tempdir().unwrap();
    let file = archive_file(dir.path(), "p");
    write(&file, &sample());
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[40] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let Loaded::FirstSync {
        notice: Some(notice),
    } = load(&file, Path::new(ROOTS[0]), Path::new(ROOTS[1])).unwrap()
    else {
        panic!("damage not noticed");
    };
    assert!(notice.contains("damaged"), "{notice}");
    assert!(!file.exists());
    let moved: Vec<_> = std::fs::read_dir(file.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(moved[0].starts_with("p.archive.damaged-"), "{moved:?}");
}
