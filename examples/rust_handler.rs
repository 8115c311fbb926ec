//! An external handler written in Rust with the SDK: the same `Handler` trait as an
//! in-process handler, served over stdin/stdout.
//!
//! ```text
//! rust_handler [--items a,b,c] [--steps N] [--step-ms MS] [--panic-on ITEM]
//! rust_handler --demo        # serves the center's built-in demo handler instead
//! ```
//!
//! Each item counts to N, reporting progress at every step and honoring skips and stops.

use std::time::Duration;
use synccenter::core::callback::{Callback, LogLine, Progress, Reply};
use synccenter::core::handler::{Handler, HandlerError, HandlerResult};
use synccenter::core::model::{
    Enumeration, HandlerInfo, Icon, ItemId, ItemInfo, Participation, RunContext,
};
use synccenter::core::status::ItemStatus;
use synccenter::handlers::demo;
use synccenter::handlers::external::sdk::serve_stdio;

struct Counter {
    items: Vec<String>,
    steps: u64,
    step: Duration,
    panic_on: Option<String>,
}

impl Handler for Counter {
    fn initialize(&mut self, _run: &RunContext) -> HandlerResult<Participation> {
        Ok(Participation::TakesPart)
    }

    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: "Counters".into(),
            icon: Icon::Program,
            has_properties: false,
        }
    }

    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        let items = self
            .items
            .iter()
            .map(|id| ItemInfo::new(id.as_str(), format!("Counter {id}")))
            .collect();
        Ok(Enumeration {
            items,
            some_missing: false,
        })
    }

    fn prepare(&mut self, _items: &[ItemId], _callback: &Callback) -> HandlerResult<()> {
        Ok(())
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
            if self.panic_on.as_deref() == Some(item.as_str()) {
                panic!("counter {item} refuses to count");
            }
            match self.count(item, callback) {
                Reply::CancelAll => return Ok(()),
                _ => continue,
            }
        }
        Ok(())
    }
}

impl Counter {
    fn count(&self, item: &ItemId, callback: &Callback) -> Reply {
        let text = format!("Counting to {}", self.steps);
        for value in 1..=self.steps {
            let reply =
                callback.progress(item, Progress::steps(value, self.steps).with_text(&text));
            if let Some(status) = reply.final_status() {
                callback.progress(item, Progress::status(status).with_text("Stopped counting"));
                return reply;
            }
            if !self.step.is_zero() {
                std::thread::sleep(self.step);
            }
        }
        callback.log(LogLine::info(format!("Counted to {}.", self.steps)).item(item));
        callback.progress(
            item,
            Progress::status(ItemStatus::Succeeded)
                .with_text(&format!("Counted to {}", self.steps)),
        );
        Reply::Continue
    }
}

fn main() -> std::io::Result<()> {
    let mut counter = Counter {
        items: vec!["alpha".into(), "beta".into()],
        steps: 10,
        step: Duration::from_millis(10),
        panic_on: None,
    };
    let mut args = std::env::args().skip(1);
    let mut serve_demo = false;
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| std::io::Error::other(format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--demo" => serve_demo = true,
            "--items" => counter.items = value()?.split(',').map(str::to_string).collect(),
            "--steps" => counter.steps = number(&value()?)?,
            "--step-ms" => counter.step = Duration::from_millis(number(&value()?)?),
            "--panic-on" => counter.panic_on = Some(value()?),
            other => return Err(std::io::Error::other(format!("unknown option {other}"))),
        }
    }
    let handler: Box<dyn Handler> = if serve_demo {
        demo::provider(demo::step_from_env())
            .create()
            .map_err(|HandlerError(e)| std::io::Error::other(e))?
    } else {
        Box::new(counter)
    };
    serve_stdio(handler)
}

fn number(text: &str) -> std::io::Result<u64> {
    text.parse()
        .map_err(|_| std::io::Error::other(format!("{text} is not a number")))
}
