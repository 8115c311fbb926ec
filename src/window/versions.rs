//! "Versions…" of a folder pair: the file versions both folders keep, searched, and restored
//! one at a time. Listing and restoring happen on worker threads; the window only reads what
//! came back.

use crate::handlers::folders::versions::{self, Version};
use crate::window::command::{Command, Commands};
use crate::window::dialog::closes_on_escape;
use crate::window::format;
use crossbeam_channel::{Receiver, Sender};
use egui::{RichText, Ui};
use std::path::PathBuf;

/// What a worker thread sends back.
enum News {
    Listed { folder: PathBuf, found: Listed },
    Restored(String),
}

/// A folder's versions, or why they could not be listed.
type Listed = Result<Vec<Version>, String>;

struct Open {
    name: String,
    /// Each folder of the pair and its versions, once listed.
    folders: Vec<(PathBuf, Option<Listed>)>,
    search: String,
}

pub struct Versions {
    open: Option<Open>,
    news: (Sender<News>, Receiver<News>),
    ctx: egui::Context,
}

impl Versions {
    pub fn new(ctx: &egui::Context) -> Self {
        Self {
            open: None,
            news: crossbeam_channel::unbounded(),
            ctx: ctx.clone(),
        }
    }

    /// Opens the view for the item with these folders and lists them.
    pub fn show(&mut self, name: String, folders: Vec<PathBuf>) {
        for folder in &folders {
            self.list(folder.clone());
        }
        self.open = Some(Open {
            name,
            folders: folders.into_iter().map(|f| (f, None)).collect(),
            search: String::new(),
        });
    }

    fn list(&self, folder: PathBuf) {
        let (news, wake) = (self.news.0.clone(), self.ctx.clone());
        let _ = std::thread::Builder::new()
            .name("versions".into())
            .spawn(move || {
                let found = versions::list(&folder).map_err(|e| e.to_string());
                let _ = news.send(News::Listed { folder, found });
                wake.request_repaint();
            });
    }

    /// Restores one version on a worker thread; what happened comes back as a notice.
    pub fn restore(&self, folder: PathBuf, version: Version) {
        let (news, wake) = (self.news.0.clone(), self.ctx.clone());
        let _ = std::thread::Builder::new()
            .name("restore".into())
            .spawn(move || {
                let words = match versions::restore(&folder, &version, &versions::stamp_now()) {
                    Ok(restored) => {
                        let mut words = format!(
                            "{} in {} is back as it was on {}.",
                            version.display(),
                            folder.display(),
                            version.kept
                        );
                        if let Some(kept) = restored.kept_current_as {
                            words.push_str(&format!(
                                " The file that was there is kept as a version of {kept}."
                            ));
                        }
                        words
                    }
                    Err(e) => format!("{} was not restored: {e}", version.display()),
                };
                let _ = news.send(News::Restored(words));
                wake.request_repaint();
            });
    }

    /// Takes in what the workers found; returns what a restore said, for the notices.
    pub fn take_news(&mut self) -> Vec<String> {
        let mut said = Vec::new();
        while let Ok(news) = self.news.1.try_recv() {
            match news {
                News::Listed { folder, found } => {
                    if let Some(open) = &mut self.open
                        && let Some(slot) = open.folders.iter_mut().find(|(f, _)| *f == folder)
                    {
                        slot.1 = Some(found);
                    }
                }
                News::Restored(words) => {
                    said.push(words);
                    // The list changed: the replaced file is a version now.
                    let folders: Vec<PathBuf> = self
                        .open
                        .iter()
                        .flat_map(|open| open.folders.iter().map(|(f, _)| f.clone()))
                        .collect();
                    for folder in folders {
                        self.list(folder);
                    }
                }
            }
        }
        said
    }

    pub fn is_open(&self) -> bool {
        self.open.is_some()
    }

    pub fn ui(&mut self, ctx: &egui::Context, out: &mut Commands) {
        let Some(open) = &mut self.open else {
            return;
        };
        let screen = ctx.content_rect();
        let escape = ctx.input(|i| i.key_pressed(egui::Key::Escape));
        let mut close = false;
        let frame = egui::Frame::window(&ctx.global_style()).inner_margin(16.0);
        let shown = egui::Modal::new(egui::Id::unique("synccenter.versions"))
            .frame(frame)
            .show(ctx, |ui| {
                ui.set_width((screen.width() - 64.0).clamp(200.0, 640.0));
                ui.heading(format!("Versions of {}", open.name));
                ui.label(
                    RichText::new(
                        "Files replaced or deleted by a sync are kept for a while. Restore puts \
                         one back; the file that is there now is kept as a version first.",
                    )
                    .weak(),
                );
                ui.add(
                    egui::TextEdit::singleline(&mut open.search)
                        .hint_text("Search versions")
                        .desired_width(240.0),
                )
                .accessible_name("Search versions");
                ui.separator();
                let words = open.search.trim().to_lowercase();
                egui::ScrollArea::vertical()
                    .max_height((screen.height() - 220.0).max(80.0))
                    .auto_shrink([false, true])
                    .show(ui, |ui| {
                        for (folder, found) in &open.folders {
                            ui.strong(folder.display().to_string());
                            folder_ui(ui, folder, found.as_ref(), &words, out);
                            ui.add_space(8.0);
                        }
                    });
                ui.separator();
                if ui.button("Close").clicked() {
                    close = true;
                }
            });
        if close || closes_on_escape(&shown, escape) {
            self.open = None;
        }
    }
}

fn folder_ui(
    ui: &mut Ui,
    folder: &std::path::Path,
    found: Option<&Listed>,
    words: &str,
    out: &mut Commands,
) {
    let versions = match found {
        None => {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(RichText::new("Looking for versions…").weak());
            });
            return;
        }
        Some(Err(error)) => {
            ui.label(RichText::new(error).color(ui.visuals().error_fg_color));
            return;
        }
        Some(Ok(versions)) => versions,
    };
    let shown: Vec<&Version> = versions
        .iter()
        .filter(|v| words.is_empty() || v.display().to_lowercase().contains(words))
        .collect();
    if shown.is_empty() {
        ui.label(RichText::new("No versions kept here.").weak());
        return;
    }
    egui::Grid::new(("versions", folder))
        .num_columns(4)
        .striped(true)
        .spacing([12.0, 4.0])
        .show(ui, |ui| {
            for version in shown {
                let path = version.display();
                ui.add(egui::Label::new(&path).truncate());
                ui.label(RichText::new(&version.kept).weak());
                ui.label(format::size(version.size));
                if ui
                    .button("Restore")
                    .accessible_name(format!("Restore {path} of {}", version.kept))
                    .clicked()
                {
                    out.push(Command::RestoreVersion(
                        folder.to_path_buf(),
                        version.clone(),
                    ));
                }
                ui.end_row();
            }
        });
}
