//! Frame time of the window with 10,000 items while 4 handlers stream progress, headless:
//! a plain egui Context, no GPU. Reports the median CPU time the UI thread spends on a
//! frame (layout + tessellation), which the handlers' threads do not inflate, and the wall
//! time beside it.

use std::time::{Duration, Instant};
use synccenter::core::callback::{Callback, Progress};
use synccenter::core::engine::{Engine, EngineConfig, SessionRequest};
use synccenter::core::handler::{FnProvider, Handler, HandlerResult, Registry};
use synccenter::core::model::{
    Enumeration, HandlerInfo, Icon, ItemId, ItemInfo, ItemKey, Participation, RunContext, RunReason,
};
use synccenter::core::store::{Home, Store};
use synccenter::window::SyncCenterApp;

const HANDLERS: usize = 4;
const ITEMS_PER_HANDLER: usize = 2_500;
const FRAMES: usize = 300;

/// Lists many items and reports progress on them as fast as a busy handler would.
struct Streaming(usize);

impl Handler for Streaming {
    fn initialize(&mut self, _run: &RunContext) -> HandlerResult<Participation> {
        Ok(Participation::TakesPart)
    }
    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: format!("Handler {}", self.0),
            icon: Icon::Folder,
            has_properties: true,
        }
    }
    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        let items = (0..ITEMS_PER_HANDLER)
            .map(|i| ItemInfo::new(format!("item-{i}"), format!("Folder pair {i}")))
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
            for step in 0..=50 {
                let text = format!("Copying file {step} of 50");
                if callback
                    .progress(item, Progress::steps(step, 50).with_text(&text))
                    .should_stop()
                {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        Ok(())
    }
}

fn engine(
    home: &std::path::Path,
) -> (
    Engine,
    crossbeam_channel::Receiver<synccenter::core::events::Event>,
) {
    let mut registry = Registry::new();
    for n in 0..HANDLERS {
        registry.add(FnProvider::new(
            format!("h{n}"),
            format!("Handler {n}"),
            move || Box::new(Streaming(n)) as Box<dyn Handler>,
        ));
    }
    let (store, _) = Store::open(Home::under(home));
    Engine::new(registry, store, EngineConfig::default())
}

/// CPU time this thread has used.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec for the call to fill in.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}

fn main() {
    let home = tempfile::tempdir().expect("a temporary folder");
    let (engine, events) = engine(home.path());
    let ctx = egui::Context::default();
    let mut app = SyncCenterApp::with_context(&ctx, engine.clone(), events, Vec::new());
    let started = Instant::now();
    let frame = |app: &mut SyncCenterApp| {
        let input = egui::RawInput {
            screen_rect: Some(egui::Rect::from_min_size(
                egui::Pos2::ZERO,
                egui::vec2(1280.0, 800.0),
            )),
            time: Some(started.elapsed().as_secs_f64()),
            ..Default::default()
        };
        let (cpu, wall) = (thread_cpu_time(), Instant::now());
        let mut output = ctx.run_ui(input, |ui| app.show(ui, None));
        let shapes = std::mem::take(&mut output.shapes);
        let _ = ctx.tessellate(shapes, output.pixels_per_point);
        output.textures_delta.clear();
        (thread_cpu_time() - cpu, wall.elapsed())
    };
    // Let the handlers list their items, then sync everything.
    while started.elapsed() < Duration::from_secs(2) {
        frame(&mut app);
        std::thread::sleep(Duration::from_millis(16));
    }
    let items: Vec<ItemKey> = (0..HANDLERS)
        .flat_map(|h| {
            (0..ITEMS_PER_HANDLER).map(move |i| ItemKey::new(format!("h{h}"), format!("item-{i}")))
        })
        .collect();
    let session = engine
        .start(SessionRequest {
            reason: RunReason::Manual,
            may_bother_user: true,
            items,
        })
        .expect("the run starts");
    for _ in 0..10 {
        frame(&mut app);
    }
    let (mut cpu, mut wall): (Vec<Duration>, Vec<Duration>) = (0..FRAMES)
        .map(|_| {
            let times = frame(&mut app);
            // About one frame per repaint tick while a session runs.
            std::thread::sleep(Duration::from_millis(5));
            times
        })
        .unzip();
    session.stop_all();
    cpu.sort();
    wall.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "window frame with {} items, {HANDLERS} handlers streaming progress ({FRAMES} frames): \
         CPU median {:.2} ms, p90 {:.2} ms, max {:.2} ms; wall median {:.2} ms",
        HANDLERS * ITEMS_PER_HANDLER,
        ms(cpu[FRAMES / 2]),
        ms(cpu[FRAMES * 9 / 10]),
        ms(cpu[FRAMES - 1]),
        ms(wall[FRAMES / 2]),
    );
}
