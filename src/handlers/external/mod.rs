//! External handlers: any program becomes a sync handler by speaking JSON-RPC 2.0 over its
//! stdin and stdout (see `docs/handler-protocol.md`). Each one is started per session, in its
//! own process group, and whatever it does wrong fails only its own items.
//!
//! - [`discover`] finds handler manifests and makes a provider for each.
//! - [`host`] is the center's side: a [`Handler`](crate::core::handler::Handler) that drives
//!   the program.
//! - [`sdk`] is the program's side for Rust: serves any `Handler` over stdio.
//! - [`protocol`] is the wire format, pure.

pub mod host;
pub mod manifest;
pub mod protocol;
pub mod sdk;

use crate::core::handler::HandlerProvider;
use crate::core::store::Home;
use manifest::Manifest;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder under a config or data folder that holds manifests.
const MANIFEST_FOLDER: &str = "handlers";
/// Manifests every user of the machine gets.
const SYSTEM_FOLDER: &str = "/etc/synccenter/handlers";

/// What discovery found: a provider per good manifest, and the problems of the others.
pub struct Discovery {
    pub providers: Vec<Arc<dyn HandlerProvider>>,
    pub manifests: Vec<ManifestSummary>,
    pub problems: Vec<ManifestProblem>,
}

/// A manifest that loaded, for `synccenter handlers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManifestSummary {
    pub id: String,
    pub name: String,
    pub program: String,
    pub path: PathBuf,
    /// Why its program cannot be started (missing, not executable), seen at discovery.
    pub program_problem: Option<String>,
}

/// A manifest that did not load, and why, in plain words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ManifestProblem {
    pub path: PathBuf,
    pub reason: String,
}

/// The folders searched, lowest precedence first: the system folder, each
/// `$XDG_DATA_DIRS/synccenter/handlers` (last listed first, as the first listed wins), then
/// the user's `config_dir/handlers`. A manifest with the id of an earlier one replaces it.
pub fn manifest_folders(home: &Home) -> Vec<PathBuf> {
    let mut folders = vec![PathBuf::from(SYSTEM_FOLDER)];
    let data_dirs = std::env::var("XDG_DATA_DIRS").unwrap_or_default();
    let mut data: Vec<PathBuf> = data_dirs
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join("synccenter").join(MANIFEST_FOLDER))
        .collect();
    data.reverse();
    folders.extend(data);
    folders.push(home.config_dir.join(MANIFEST_FOLDER));
    folders.dedup();
    folders
}

/// Finds every handler manifest of this home. A bad manifest is a problem; the others load.
pub fn discover(home: &Home) -> Discovery {
    discover_in(&manifest_folders(home))
}

/// Finds the `*.toml` manifests in these folders, later folders overriding earlier ones.
pub fn discover_in(folders: &[PathBuf]) -> Discovery {
    let mut loaded: Vec<Manifest> = Vec::new();
    let mut problems = Vec::new();
    for folder in folders {
        let Ok(entries) = std::fs::read_dir(folder) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml") && p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            match Manifest::load(&path) {
                Ok(manifest) => {
                    loaded.retain(|m| m.id != manifest.id);
                    loaded.push(manifest);
                }
                Err(reason) => problems.push(ManifestProblem { path, reason }),
            }
        }
    }
    let manifests = loaded
        .iter()
        .map(|m| ManifestSummary {
            id: m.id.clone(),
            name: m.name.clone(),
            program: m.program.clone(),
            path: m.path.clone(),
            program_problem: m.program_problem(),
        })
        .collect();
    let providers = loaded
        .into_iter()
        .map(|m| host::ExternalProvider::new(m) as Arc<dyn HandlerProvider>)
        .collect();
    Discovery {
        providers,
        manifests,
        problems,
    }
}
