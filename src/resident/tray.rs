//! The notification-area icon (StatusNotifierItem, through `ksni` on async-io): idle,
//! syncing, error and conflicts at a glance, a tooltip with the current run, and a menu —
//! Sync all, Pause schedules (1 hour / until resumed), Open Sync Center, Quit. Without a tray
//! host (GNOME without the AppIndicator extension) nothing changes but the missing icon; the
//! item registers when a host appears.
//!
//! The pause is the scheduler's, read whenever the item is drawn; nothing keeps a copy.
//! Updates go to a thread of their own, so whoever changes what the tray shows (the window's
//! menu, the dispatcher) never waits for the tray's bus connection.

use crate::core::choice::Target;
use crate::core::model::RunReason;
use crate::desktop::APP_ID;
use crate::resident::dispatch::Activity;
use crate::resident::scheduler::Pause;
use crate::resident::{CenterRef, RunRequest};
use crossbeam_channel::Sender;
use ksni::blocking::{Handle, TrayMethods};
use ksni::menu::{StandardItem, SubMenu};
use ksni::{MenuItem, ToolTip};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

/// What the icon shows, most urgent first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Look {
    Syncing,
    Error,
    Conflicts,
    Paused,
    Idle,
}

impl Look {
    /// Pure: what the icon shows for this activity.
    pub fn of(activity: &Activity, paused: bool) -> Look {
        if activity.running_items > 0 {
            Look::Syncing
        } else if activity.last_failed > 0 || !activity.waiting_for_you.is_empty() {
            Look::Error
        } else if activity.open_conflicts > 0 {
            Look::Conflicts
        } else if paused {
            Look::Paused
        } else {
            Look::Idle
        }
    }

    /// The themed icon's name (installed with the package), `APP_ID-STATE-symbolic`.
    pub fn icon_name(self) -> String {
        let state = match self {
            Look::Syncing => "syncing",
            Look::Error => "error",
            Look::Conflicts => "conflicts",
            Look::Paused => "paused",
            Look::Idle => "idle",
        };
        format!("{APP_ID}-{state}-symbolic")
    }

    /// The badge drawn on the app icon when the theme has no icon by that name.
    fn badge(self) -> Option<[u8; 3]> {
        match self {
            Look::Syncing => Some([0x35, 0x84, 0xe4]),
            Look::Error => Some([0xe0, 0x1b, 0x24]),
            Look::Conflicts => Some([0xf5, 0xa6, 0x23]),
            Look::Paused => Some([0x9a, 0x99, 0x96]),
            Look::Idle => None,
        }
    }
}

/// The tooltip's text, pure.
pub fn describe(activity: &Activity, pause: Pause) -> String {
    let mut lines = Vec::new();
    if activity.running_items > 0 {
        lines.push(match activity.running_items {
            1 => "Synchronizing 1 item".to_string(),
            n => format!("Synchronizing {n} items"),
        });
    } else if activity.last_failed > 0 {
        lines.push(match activity.last_failed {
            1 => "The last run: 1 item failed".to_string(),
            n => format!("The last run: {n} items failed"),
        });
    } else {
        lines.push("Up to date".to_string());
    }
    match activity.waiting_for_you.len() {
        0 => {}
        1 => lines.push("1 item waits for your answer — Answer what waits".into()),
        n => lines.push(format!(
            "{n} items wait for your answer — Answer what waits"
        )),
    }
    match activity.open_conflicts {
        0 => {}
        1 => lines.push("1 conflict needs your decision".into()),
        n => lines.push(format!("{n} conflicts need your decision")),
    }
    match pause {
        Pause::Off => {}
        Pause::UntilResumed => lines.push("Schedules paused until resumed".into()),
        Pause::Until(until) => {
            let at = chrono::DateTime::<chrono::Local>::from(until).format("%H:%M");
            lines.push(format!("Schedules paused until {at}"));
        }
    }
    lines.join("\n")
}

/// The tray item.
pub struct SyncTray {
    center: CenterRef,
    activity: Activity,
}

impl SyncTray {
    fn pause(&self) -> Pause {
        self.center.scheduler.pause_state()
    }

    fn look(&self) -> Look {
        Look::of(&self.activity, self.pause() != Pause::Off)
    }

    /// Pauses from the tray's own menu: the item is drawn again after its menu was used.
    fn pause_from_menu(&mut self, pause: Pause) {
        self.center.scheduler.pause(pause);
    }

    fn sync(&self, target: Target) {
        let center = self.center.clone();
        std::thread::spawn(move || {
            let request = RunRequest {
                target,
                reason: RunReason::Manual,
                prompt: true,
            };
            if let Err(e) = center.start(request) {
                center.engine.notice(e);
            }
        });
    }
}

impl ksni::Tray for SyncTray {
    fn id(&self) -> String {
        APP_ID.into()
    }

    fn title(&self) -> String {
        "Sync Center".into()
    }

    fn icon_name(&self) -> String {
        self.look().icon_name()
    }

    fn icon_pixmap(&self) -> Vec<ksni::Icon> {
        vec![pixmap(self.look())]
    }

    fn status(&self) -> ksni::Status {
        match self.look() {
            Look::Error | Look::Conflicts => ksni::Status::NeedsAttention,
            _ => ksni::Status::Active,
        }
    }

    fn tool_tip(&self) -> ToolTip {
        ToolTip {
            title: "Sync Center".into(),
            description: describe(&self.activity, self.pause()),
            icon_name: String::new(),
            icon_pixmap: Vec::new(),
        }
    }

    /// A click on the icon opens the window.
    fn activate(&mut self, _x: i32, _y: i32) {
        let _ = self.center.show_window();
    }

    fn menu(&self) -> Vec<MenuItem<Self>> {
        let mut menu: Vec<MenuItem<Self>> = vec![
            StandardItem {
                label: describe(&self.activity, self.pause())
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string(),
                enabled: false,
                ..Default::default()
            }
            .into(),
            MenuItem::Separator,
            StandardItem {
                label: "Sync all".into(),
                icon_name: "view-refresh".into(),
                activate: Box::new(|tray: &mut Self| tray.sync(Target::All)),
                ..Default::default()
            }
            .into(),
        ];
        if !self.activity.waiting_for_you.is_empty() {
            let items = self.activity.waiting_for_you.clone();
            menu.push(
                StandardItem {
                    label: format!("Answer what waits ({})…", items.len()),
                    activate: Box::new(move |tray: &mut Self| {
                        let _ = tray.center.show_window();
                        tray.sync(Target::Keys(items.clone()));
                    }),
                    ..Default::default()
                }
                .into(),
            );
        }
        menu.push(if self.pause() == Pause::Off {
            SubMenu {
                label: "Pause schedules".into(),
                submenu: vec![
                    StandardItem {
                        label: "For 1 hour".into(),
                        activate: Box::new(|tray: &mut Self| {
                            let until = SystemTime::now() + Duration::from_secs(3600);
                            tray.pause_from_menu(Pause::Until(until));
                        }),
                        ..Default::default()
                    }
                    .into(),
                    StandardItem {
                        label: "Until resumed".into(),
                        activate: Box::new(|tray: &mut Self| {
                            tray.pause_from_menu(Pause::UntilResumed)
                        }),
                        ..Default::default()
                    }
                    .into(),
                ],
                ..Default::default()
            }
            .into()
        } else {
            StandardItem {
                label: "Resume schedules".into(),
                activate: Box::new(|tray: &mut Self| tray.pause_from_menu(Pause::Off)),
                ..Default::default()
            }
            .into()
        });
        menu.extend([
            StandardItem {
                label: "Open Sync Center".into(),
                activate: Box::new(|tray: &mut Self| {
                    let _ = tray.center.show_window();
                }),
                ..Default::default()
            }
            .into(),
            MenuItem::Separator,
            StandardItem {
                label: "Quit".into(),
                icon_name: "application-exit".into(),
                activate: Box::new(|tray: &mut Self| tray.center.quit()),
                ..Default::default()
            }
            .into(),
        ]);
        menu
    }

    /// No tray host (or it went away): keep running; the item registers again when one
    /// comes back.
    fn watcher_offline(&self, reason: ksni::OfflineReason) -> bool {
        tracing::info!("no tray host: {reason:?}");
        true
    }
}

/// A change of what the tray shows.
enum Update {
    Activity(Activity),
    /// Something the tray reads when drawn changed (the pause): draw it again.
    Redraw,
}

/// The tray's handle, shared with whatever changes what it shows.
#[derive(Clone, Default)]
pub struct TrayHandle {
    handle: Arc<OnceLock<Handle<SyncTray>>>,
    updates: Arc<OnceLock<Sender<Update>>>,
}

impl TrayHandle {
    /// Shows the tray item (it waits for a host if there is none yet).
    pub fn spawn(&self, center: &CenterRef) {
        let tray = SyncTray {
            center: center.clone(),
            activity: Activity::default(),
        };
        let handle = match tray.assume_sni_available(true).spawn() {
            Ok(handle) => handle,
            Err(e) => {
                tracing::info!("no tray icon: {e}");
                return;
            }
        };
        let _ = self.handle.set(handle.clone());
        let (tx, rx) = crossbeam_channel::unbounded();
        let _ = self.updates.set(tx);
        std::thread::Builder::new()
            .name("tray-updates".into())
            .spawn(move || {
                for update in rx {
                    // Waits for the tray's own thread, which may be busy with the bus.
                    match update {
                        Update::Activity(activity) => {
                            handle.update(move |tray| tray.activity = activity)
                        }
                        Update::Redraw => handle.update(|_| {}),
                    };
                }
            })
            .expect("spawn the tray updates");
    }

    fn send(&self, update: Update) {
        if let Some(updates) = self.updates.get() {
            let _ = updates.send(update);
        }
    }

    /// Shows what the instance is doing; returns at once.
    pub fn show_activity(&self, activity: &Activity) {
        self.send(Update::Activity(activity.clone()));
    }

    /// Draws the item again (the pause changed); returns at once.
    pub fn redraw(&self) {
        self.send(Update::Redraw);
    }

    /// Takes the item off the bus, waiting at most a second: quitting never hangs on the
    /// tray.
    pub fn shutdown(&self) {
        if let Some(handle) = self.handle.get() {
            let awaiter = handle.shutdown();
            let (done, finished) = crossbeam_channel::bounded(1);
            let _ = std::thread::Builder::new()
                .name("tray-shutdown".into())
                .spawn(move || {
                    awaiter.wait();
                    let _ = done.send(());
                });
            let _ = finished.recv_timeout(Duration::from_secs(1));
        }
    }
}

/// The app icon with a coloured badge for the state, as ARGB32 (what the protocol wants).
fn pixmap(look: Look) -> ksni::Icon {
    static BASE: OnceLock<(u32, u32, Vec<u8>)> = OnceLock::new();
    let (width, height, rgba) = BASE.get_or_init(|| {
        let icon = eframe::icon_data::from_png_bytes(include_bytes!(
            "../../assets/icons/hicolor/256x256/apps/io.github.synccenter.SyncCenter.png"
        ))
        .expect("the app icon is a valid PNG");
        (icon.width, icon.height, icon.rgba)
    });
    let (w, h) = (*width as i64, *height as i64);
    let mut argb = Vec::with_capacity(rgba.len());
    let (cx, cy, r) = (w * 3 / 4, h * 3 / 4, w / 4);
    for (i, px) in rgba.chunks_exact(4).enumerate() {
        let (x, y) = (i as i64 % w, i as i64 / w);
        let d2 = (x - cx).pow(2) + (y - cy).pow(2);
        let pixel = match look.badge() {
            Some([red, green, blue]) if d2 <= r * r => {
                // A white ring around the badge keeps it readable on any panel.
                if d2 >= (r - w / 32).pow(2) {
                    [0xff, 0xff, 0xff, 0xff]
                } else {
                    [0xff, red, green, blue]
                }
            }
            _ => [px[3], px[0], px[1], px[2]],
        };
        argb.extend_from_slice(&pixel);
    }
    ksni::Icon {
        width: *width as i32,
        height: *height as i32,
        data: argb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::model::ItemKey;

    #[test]
    fn the_icon_shows_the_most_urgent_state() {
        let busy = Activity {
            running_items: 2,
            last_failed: 1,
            open_conflicts: 3,
            waiting_for_you: vec![],
        };
        let failed = Activity {
            running_items: 0,
            ..busy.clone()
        };
        let conflicts = Activity {
            last_failed: 0,
            ..failed.clone()
        };
        let waiting = Activity {
            waiting_for_you: vec![ItemKey::new("h", "i")],
            ..Activity::default()
        };
        let cases = [
            (&busy, false, Look::Syncing),
            (&failed, false, Look::Error),
            (&waiting, false, Look::Error),
            (&conflicts, true, Look::Conflicts),
            (&Activity::default(), true, Look::Paused),
            (&Activity::default(), false, Look::Idle),
        ];
        for (activity, paused, look) in cases {
            assert_eq!(
                Look::of(activity, paused),
                look,
                "{activity:?} paused={paused}"
            );
        }
        assert_eq!(
            Look::Syncing.icon_name(),
            "io.github.synccenter.SyncCenter-syncing-symbolic"
        );
    }

    #[test]
    fn the_tooltip_says_what_happens_and_what_waits() {
        let activity = Activity {
            running_items: 0,
            last_failed: 2,
            open_conflicts: 1,
            waiting_for_you: vec![ItemKey::new("h", "i")],
        };
        let text = describe(&activity, Pause::UntilResumed);
        assert_eq!(
            text,
            "The last run: 2 items failed\n1 item waits for your answer — Answer what waits\n1 conflict needs your decision\nSchedules paused until resumed"
        );
        assert_eq!(describe(&Activity::default(), Pause::Off), "Up to date");
    }

    #[test]
    fn the_badge_is_drawn_in_argb() {
        let idle = pixmap(Look::Idle);
        let error = pixmap(Look::Error);
        assert_eq!(idle.data.len(), (idle.width * idle.height * 4) as usize);
        assert_ne!(idle.data, error.data);
        // The badge's centre is opaque red.
        let (w, h) = (error.width as usize, error.height as usize);
        let at = ((h * 3 / 4) * w + w * 3 / 4) * 4;
        assert_eq!(&error.data[at..at + 4], &[0xff, 0xe0, 0x1b, 0x24]);
    }
}
