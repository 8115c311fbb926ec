//! Finding handler manifests: good ones become providers, bad ones become problems in words.

use std::path::Path;
use synccenter::core::store::Home;
use synccenter::handlers::external::{discover, discover_in};

fn write(folder: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(folder).unwrap();
    std::fs::write(folder.join(name), text).unwrap();
}

#[test]
fn good_manifests_load_and_bad_ones_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let system = dir.path().join("system");
    let user = dir.path().join("user");
    write(
        &system,
        "git-sync.toml",
        "name = \"Git (system)\"\nprogram = \"/usr/bin/git-sync\"\n",
    );
    write(
        &system,
        "notes.toml",
        "id = \"notes\"\nname = \"Notes\"\nprogram = \"notes-sync\"\nicon = \"folder\"\n",
    );
    write(&system, "README.txt", "not a manifest");
    write(
        &user,
        "git-sync.toml",
        "name = \"Git (mine)\"\nprogram = \"./git_sync.py\"\n",
    );
    write(
        &user,
        "broken.toml",
        "# my handler\nname = \"Broken\"\nargs = [\"x\"]\n",
    );
    write(
        &user,
        "typo.toml",
        "name = \"Typo\"\nprogram = \"x\"\ntimeout = 3\n",
    );

    let found = discover_in(&[system.clone(), dir.path().join("absent"), user.clone()]);

    let ids: Vec<&str> = found.manifests.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(
        ids,
        ["notes", "ext:git-sync"],
        "the user's manifest replaces the system's"
    );
    let git = &found.manifests[1];
    assert_eq!(git.name, "Git (mine)");
    assert_eq!(git.program, user.join("./git_sync.py").to_string_lossy());
    assert_eq!(git.path, user.join("git-sync.toml"));
    let provider_ids: Vec<String> = found.providers.iter().map(|p| p.id().to_string()).collect();
    assert_eq!(provider_ids, ["notes", "ext:git-sync"]);
    assert_eq!(found.providers[1].display_name(), "Git (mine)");

    assert_eq!(found.problems.len(), 2);
    assert_eq!(found.problems[0].path, user.join("broken.toml"));
    assert!(
        found.problems[0].reason.contains("missing field `program`"),
        "{}",
        found.problems[0].reason
    );
    assert_eq!(found.problems[1].path, user.join("typo.toml"));
    assert!(
        found.problems[1]
            .reason
            .starts_with("line 3: unknown field `timeout`"),
        "{}",
        found.problems[1].reason
    );

    let json = serde_json::to_value(&found.manifests[0]).unwrap();
    assert_eq!(json["id"], "notes");
    let json = serde_json::to_value(&found.problems[0]).unwrap();
    assert!(json["reason"].is_string());
}

#[test]
fn a_home_finds_the_manifests_in_its_config_folder() {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::under(dir.path());
    write(
        &home.config_dir.join("handlers"),
        "counter.toml",
        "name = \"Counter\"\nprogram = \"counter\"\n",
    );
    let found = discover(&home);
    assert!(found.manifests.iter().any(|m| m.id == "ext:counter"));
    assert!(
        found
            .problems
            .iter()
            .all(|p| !p.path.starts_with(dir.path()))
    );
}
