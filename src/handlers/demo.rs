//! A demo handler that shows every part of the contract without touching anything real:
//! step progress, Sync Framework work estimates, a logon dialog, a warning, an actionable
//! error with details and retry, figures and the files changed. Enabled with `--demo` or
//! `SYNCCENTER_DEMO=1`.

use crate::core::activity::{Activity, Change, Direction};
use crate::core::callback::{Callback, LogLine, Progress, Reply};
use crate::core::dialog::{Button, ButtonRole, Field, Form, UiRefused};
use crate::core::figures::Figures;
use crate::core::handler::{FnProvider, Handler, HandlerProvider, HandlerResult};
use crate::core::model::{
    Enumeration, HandlerInfo, Icon, ItemId, ItemInfo, LogId, Participation, PropertiesOutcome,
    PropertiesTarget, RunContext, ShowErrorOutcome,
};
use crate::core::progress::{BatchEstimate, Stage, WorkReport};
use crate::core::status::ItemStatus;
use std::sync::Arc;
use std::time::Duration;

pub const HANDLER_ID: &str = "demo";
/// The password the demo mail account accepts.
pub const DEMO_PASSWORD: &str = "demo";

/// The demo's provider. `step` is the pause between two progress steps.
pub fn provider(step: Duration) -> Arc<dyn HandlerProvider> {
    FnProvider::new(HANDLER_ID, "Demo", move || {
        Box::new(Demo { step }) as Box<dyn Handler>
    })
}

/// The pause between steps: `SYNCCENTER_DEMO_STEP_MS`, or 60 ms.
pub fn step_from_env() -> Duration {
    let ms = std::env::var("SYNCCENTER_DEMO_STEP_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    Duration::from_millis(ms)
}

struct Demo {
    step: Duration,
}

const ITEMS: [(&str, &str, Icon); 4] = [
    ("contacts", "Contacts", Icon::Contacts),
    ("calendar", "Calendar", Icon::Calendar),
    ("photos", "Photos", Icon::Photos),
    ("mail", "Mail (ann@example.org)", Icon::Mail),
];

impl Handler for Demo {
    fn initialize(&mut self, _run: &RunContext) -> HandlerResult<Participation> {
        Ok(Participation::TakesPart)
    }

    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: "Demo".into(),
            icon: Icon::Program,
            has_properties: true,
        }
    }

    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        let items = ITEMS
            .iter()
            .map(|(id, name, icon)| ItemInfo {
                icon: icon.clone(),
                has_properties: *id == "mail",
                ..ItemInfo::new(*id, *name)
            })
            .collect();
        Ok(Enumeration {
            items,
            some_missing: false,
        })
    }

    fn show_properties(
        &mut self,
        target: &PropertiesTarget,
        callback: &Callback,
    ) -> HandlerResult<PropertiesOutcome> {
        let about = match target {
            PropertiesTarget::Item(item) => Some(item),
            PropertiesTarget::Handler => None,
        };
        let Ok(permit) = callback.request_ui(about) else {
            return Ok(PropertiesOutcome::Unchanged);
        };
        let form = Form::new("Demo properties")
            .message("The demo handler pretends to synchronize. Nothing here is saved.")
            .field(Field::text("server", "Server", "mail.example.org"))
            .field(Field::number(
                "interval",
                "Check every (minutes)",
                15,
                Some(1),
                Some(1440),
            ))
            .field(Field::checkbox(
                "offline",
                "Keep a copy for offline use",
                true,
            ));
        permit.show(form);
        Ok(PropertiesOutcome::Unchanged)
    }

    fn prepare(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        let mail = ItemId::new("mail");
        if !items.contains(&mail) {
            return Ok(());
        }
        let permit = match callback.request_ui(Some(&mail)) {
            Ok(permit) => permit,
            // Stopped while waiting for the dialog: the engine cancels the item.
            Err(UiRefused::Canceled) => return Ok(()),
            Err(refused) => {
                callback.progress(
                    &mail,
                    Progress::status(ItemStatus::Failed)
                        .with_text("Needs a password, and this run may not ask for one."),
                );
                callback.log(
                    LogLine::error(format!(
                        "Mail was not synchronized: {refused}. Run Sync now to enter the password."
                    ))
                    .item(&mail),
                );
                return Ok(());
            }
        };
        let mut form = Form::logon(
            "Log on to Mail",
            "Enter the password for ann@example.org (the demo password is \"demo\").",
            "ann@example.org",
        );
        form.fields
            .push(Field::checkbox("remember", "Remember my password", false));
        loop {
            let reply = permit.show(form.clone());
            let Some(values) = reply.pressed("ok") else {
                // The user's choice, not a failure.
                callback.progress(
                    &mail,
                    Progress::status(ItemStatus::Canceled).with_text("You canceled the logon"),
                );
                return Ok(());
            };
            let password = values
                .get("password")
                .and_then(|v| v.as_text())
                .unwrap_or("");
            if password == DEMO_PASSWORD {
                return Ok(());
            }
            form.fields[1] = Field::password("password", "Password")
                .required()
                .error("That password is not right. Try again.");
        }
    }

    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        for item in items {
            let reply = callback.check(item);
            if let Some(status) = reply.final_status() {
                callback.progress(item, Progress::status(status));
                if reply == Reply::CancelAll {
                    return Ok(());
                }
                continue;
            }
            let reply = match item.as_str() {
                "photos" => self.photos(item, callback),
                "calendar" => self.calendar(item, callback),
                _ => self.steps(item, callback, 20),
            };
            if reply == Reply::CancelAll {
                return Ok(());
            }
        }
        Ok(())
    }

    fn show_error(
        &mut self,
        _error: LogId,
        callback: &Callback,
    ) -> HandlerResult<ShowErrorOutcome> {
        let Ok(permit) = callback.request_ui(None) else {
            return Ok(ShowErrorOutcome::Done);
        };
        let form = Form::new("Calendar: 2 events were not uploaded")
            .message(
                "The server refused two events because they overlap a meeting room booking. \
                 Retry uploads them again; the server may accept them now.",
            )
            .field(Field::read_only(
                "events",
                "Events",
                "Team lunch (Fri 12:00)\nDentist (Mon 9:30)",
            ))
            .buttons(vec![
                Button::new("retry", "Retry", ButtonRole::Accept),
                Button::new("close", "Close", ButtonRole::Reject),
            ]);
        match permit.show(form).pressed("retry") {
            Some(_) => Ok(ShowErrorOutcome::Retry(vec![ItemId::new("calendar")])),
            None => Ok(ShowErrorOutcome::Done),
        }
    }
}

impl Demo {
    /// Plain SyncMgr progress: value out of max.
    fn steps(&self, item: &ItemId, callback: &Callback, max: u64) -> Reply {
        for value in 0..=max {
            let text = format!("Downloading {value} of {max}…");
            let reply = callback.progress(item, Progress::steps(value, max).with_text(&text));
            if let Some(status) = reply.final_status() {
                callback.progress(item, Progress::status(status));
                return reply;
            }
            std::thread::sleep(self.step);
        }
        callback.progress(
            item,
            Progress::status(ItemStatus::Succeeded).with_text(&format!("{max} changes")),
        );
        Reply::Continue
    }

    /// Sync Framework work estimates: three batches of photos, work in kilobytes; figures
    /// and each photo uploaded for the results.
    fn photos(&self, item: &ItemId, callback: &Callback) -> Reply {
        let sizes: [[u64; 4]; 3] = [
            [900, 1200, 400, 2500],
            [3100, 800, 1500, 700],
            [2200, 1900, 600, 1000],
        ];
        let mut remaining: u64 = sizes.iter().flatten().sum();
        let mut figures = Figures {
            files_total: Some(12),
            bytes_total: Some(remaining * 1000),
            change: Some(Change::Copied),
            ..Figures::at(Stage::ChangeApplication)
        };
        for (n, batch) in sizes.iter().enumerate() {
            let batch_work: u64 = batch.iter().sum();
            callback.report_work(
                item,
                WorkReport::BatchStarted {
                    estimate: Some(BatchEstimate {
                        batch_work,
                        remaining_session_work: remaining,
                    }),
                },
            );
            for (i, size) in batch.iter().enumerate() {
                let name = format!("IMG_{:04}.jpg", n * 4 + i + 1);
                figures.current = Some(name.clone());
                callback.progress(item, Progress::figures(&figures));
                std::thread::sleep(self.step * 2);
                figures.files_done += 1;
                figures.bytes_done += size * 1000;
                callback.activity(
                    item,
                    Activity::new(name, Direction::ToRight, Change::Copied).size(size * 1000),
                );
                let reply =
                    callback.report_work(item, WorkReport::ChangeApplied { work: Some(*size) });
                if let Some(status) = reply.final_status() {
                    callback.progress(item, Progress::status(status));
                    return reply;
                }
            }
            callback.report_work(item, WorkReport::BatchApplied);
            remaining -= batch_work;
        }
        callback.progress(
            item,
            Progress::status(ItemStatus::Succeeded).with_text("12 photos uploaded"),
        );
        Reply::Continue
    }

    /// Indeterminate work that ends with a warning and an actionable error.
    fn calendar(&self, item: &ItemId, callback: &Callback) -> Reply {
        for _ in 0..10 {
            let reply = callback.progress(
                item,
                Progress::status(ItemStatus::Indeterminate).with_text("Comparing events…"),
            );
            if let Some(status) = reply.final_status() {
                callback.progress(item, Progress::status(status));
                return reply;
            }
            std::thread::sleep(self.step);
        }
        callback.log(
            LogLine::warning("Calendar: 1 event has no time zone; it was kept as it is.")
                .item(item),
        );
        callback.log(
            LogLine::error(
                "Calendar: 2 events were not uploaded. Open the details to see them and retry.",
            )
            .item(item)
            .actionable(),
        );
        callback.progress(
            item,
            Progress::status(ItemStatus::Succeeded).with_text("Synchronized with 2 problems"),
        );
        Reply::Continue
    }
}
