//! The minimal Python handler printed in docs/handler-protocol.md works as printed.

mod external_support;

use external_support::*;
use std::os::unix::fs::PermissionsExt;

fn python_example() -> String {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/handler-protocol.md"
    ))
    .unwrap();
    let section = &doc[doc
        .find("## A minimal handler in Python")
        .expect("the section")..];
    let code = &section[section.find("```python\n").expect("the code") + "```python\n".len()..];
    code[..code.find("```").unwrap()].to_string()
}

#[test]
fn the_documented_python_handler_runs_skips_and_logs() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("handlers").join("counters.py");
    std::fs::create_dir_all(script.parent().unwrap()).unwrap();
    std::fs::write(&script, python_example()).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let counters = provider(
        dir.path(),
        "counters",
        "name = \"Counters\"\nprogram = \"./counters.py\"\n",
    );
    let center = center(dir, vec![counters], never_answer);
    let session = center.start(&[("ext:counters", "a"), ("ext:counters", "b")]);
    center.wait_for("ext:counters", "a", |s| s.measure.is_some());
    session.skip(&synccenter::core::model::ItemKey::new("ext:counters", "b"));
    let record = session.wait(std::time::Duration::from_secs(30)).unwrap();
    assert_eq!(
        outcome(&record, "ext:counters", "a").0,
        "Succeeded",
        "{}",
        log_text(&record)
    );
    assert_eq!(
        outcome(&record, "ext:counters", "b").0,
        "Skipped",
        "{}",
        log_text(&record)
    );
    assert_eq!(log_text(&record), "[info] a counted.");
    drop(center);
    assert_no_children();
}
