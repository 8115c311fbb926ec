//! How many progress messages per second an external handler delivers into a session's
//! live state (the board): one session per iteration, one item, N progress notifications,
//! timed from the session's start to its end. Measured for the Rust SDK example (the fair
//! measure of the protocol) and for a tight Python loop.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use synccenter::core::engine::{Engine, EngineConfig, SessionRequest};
use synccenter::core::handler::{HandlerProvider, Registry};
use synccenter::core::model::{ItemKey, RunReason};
use synccenter::core::status::ItemStatus;
use synccenter::core::store::{Home, Store};
use synccenter::handlers::external::host::ExternalProvider;
use synccenter::handlers::external::manifest::Manifest;

const MESSAGES: u64 = 1_000_000;

/// The Rust SDK example, built (or found fresh) in the profile this bench runs in.
fn rust_handler() -> PathBuf {
    let exe = std::env::current_exe().expect("the bench binary's path");
    let target = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let mut build = std::process::Command::new(env!("CARGO"));
    build.args(["build", "--example", "rust_handler"]);
    if target.ends_with("release") {
        build.arg("--release");
    }
    let status = build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("run cargo");
    assert!(status.success(), "cannot build the rust_handler example");
    target.join("examples").join("rust_handler")
}

fn provider(dir: &Path, program: &Path, args: &[String]) -> Arc<dyn HandlerProvider> {
    let path = dir.join("flood.toml");
    let text = format!(
        "name = \"Flood\"\nprogram = {:?}\nargs = {args:?}\n",
        program.to_string_lossy()
    );
    std::fs::write(&path, text).unwrap();
    ExternalProvider::new(Manifest::load(&path).unwrap())
}

/// Runs one session of `MESSAGES` progress messages and returns how long it took.
fn one_session(provider: &Arc<dyn HandlerProvider>, dir: &Path) -> Duration {
    let (store, _) = Store::open(Home::under(dir));
    let (engine, _events) = Engine::new(
        Registry::new().with(provider.clone()),
        store,
        EngineConfig::default(),
    );
    let key = ItemKey::new("ext:flood", "flood");
    let started = Instant::now();
    let session = engine
        .start(SessionRequest {
            reason: RunReason::Manual,
            may_bother_user: false,
            items: vec![key.clone()],
        })
        .unwrap();
    let record = session
        .wait(Duration::from_secs(600))
        .expect("the session ends");
    let elapsed = started.elapsed();
    let result = &record.items[0];
    assert_eq!(result.status, ItemStatus::Succeeded, "{:?}", record.log);
    let snapshot = engine.board().snapshot(&key).unwrap();
    assert_eq!(
        snapshot.measure,
        Some((MESSAGES, MESSAGES)),
        "every message reached the board"
    );
    elapsed
}

fn throughput(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let steps = MESSAGES.to_string();
    let handlers = [
        (
            "rust_sdk",
            provider(
                dir.path(),
                &rust_handler(),
                &[
                    "--items".into(),
                    "flood".into(),
                    "--steps".into(),
                    steps.clone(),
                    "--step-ms".into(),
                    "0".into(),
                ],
            ),
        ),
        (
            "python_loop",
            provider(
                dir.path(),
                &Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/external_fixtures/progress_flood.py"),
                &[steps],
            ),
        ),
    ];
    let mut group = c.benchmark_group("external_progress");
    group.throughput(Throughput::Elements(MESSAGES));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (name, provider) in &handlers {
        group.bench_function(*name, |b| {
            b.iter_custom(|iterations| {
                (0..iterations)
                    .map(|_| one_session(provider, dir.path()))
                    .sum()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
