//! The progress path: one handler thread calls `progress` in a tight loop through the real
//! engine while a consumer drains the board every millisecond (harsher than any window).
//! Anchor in the same run: the naive design, one channel message per progress call, with
//! the same consumer. Reports calls per second and the consumer side's memory growth.
//!
//! cargo bench --bench progress

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use synccenter::core::callback::{Callback, Progress};
use synccenter::core::engine::{Engine, EngineConfig, SessionRequest};
use synccenter::core::handler::{FnProvider, Handler, HandlerResult, Registry};
use synccenter::core::model::{
    Enumeration, HandlerInfo, ItemId, ItemInfo, ItemKey, Participation, RunContext, RunReason,
};
use synccenter::core::store::{Home, Store};

const CALLS: u64 = 20_000_000;
const ROUNDS: usize = 5;

struct Looper {
    elapsed: Arc<parking_lot::Mutex<Duration>>,
}

impl Handler for Looper {
    fn initialize(&mut self, _: &RunContext) -> HandlerResult<Participation> {
        Ok(Participation::TakesPart)
    }
    fn info(&self) -> HandlerInfo {
        HandlerInfo {
            name: "Looper".into(),
            icon: Default::default(),
            has_properties: false,
        }
    }
    fn enumerate(&mut self) -> HandlerResult<Enumeration> {
        Ok(Enumeration {
            items: vec![ItemInfo::new("item", "Item")],
            some_missing: false,
        })
    }
    fn prepare(&mut self, _: &[ItemId], _: &Callback) -> HandlerResult<()> {
        Ok(())
    }
    fn synchronize(&mut self, items: &[ItemId], callback: &Callback) -> HandlerResult<()> {
        let item = &items[0];
        let start = Instant::now();
        for value in 0..CALLS {
            let reply = callback.progress(
                item,
                Progress::steps(value, CALLS).with_text("Copying files"),
            );
            std::hint::black_box(reply);
        }
        *self.elapsed.lock() = start.elapsed();
        Ok(())
    }
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// Calls per second through the engine and the board, and the RSS growth meanwhile.
fn through_the_board() -> (f64, i64) {
    let dir = tempfile::tempdir().unwrap();
    let elapsed = Arc::new(parking_lot::Mutex::new(Duration::ZERO));
    let provider = {
        let elapsed = elapsed.clone();
        FnProvider::new("looper", "Looper", move || {
            Box::new(Looper {
                elapsed: elapsed.clone(),
            }) as Box<dyn Handler>
        })
    };
    let (store, _) = Store::open(Home::under(dir.path()));
    let (engine, _events) = Engine::new(
        Registry::new().with(provider),
        store,
        EngineConfig::default(),
    );
    let done = Arc::new(AtomicBool::new(false));
    let consumer = {
        let (engine, done) = (engine.clone(), done.clone());
        std::thread::spawn(move || {
            let mut drained = 0u64;
            while !done.load(Ordering::Relaxed) {
                drained += engine.board().take_changed().len() as u64;
                std::thread::sleep(Duration::from_millis(1));
            }
            drained
        })
    };
    let before = rss_kib() as i64;
    let session = engine
        .start(SessionRequest {
            reason: RunReason::Manual,
            may_bother_user: false,
            items: vec![ItemKey::new("looper", "item")],
        })
        .unwrap();
    session.wait(Duration::from_secs(600)).unwrap();
    let growth = rss_kib() as i64 - before;
    done.store(true, Ordering::Relaxed);
    consumer.join().unwrap();
    let secs = elapsed.lock().as_secs_f64();
    (CALLS as f64 / secs, growth)
}

/// The anchor: every progress call is a message on an unbounded channel.
fn one_message_per_call() -> (f64, i64) {
    #[allow(dead_code)]
    struct Message {
        item: ItemId,
        text: String,
        value: u64,
        max: u64,
    }
    let (tx, rx) = crossbeam_channel::unbounded::<Message>();
    let done = Arc::new(AtomicBool::new(false));
    let consumer = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut latest = 0;
            while !done.load(Ordering::Relaxed) {
                for message in rx.try_iter() {
                    latest = message.value;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            latest
        })
    };
    let item = ItemId::new("item");
    let before = rss_kib() as i64;
    let start = Instant::now();
    let mut peak = 0;
    for value in 0..CALLS {
        tx.send(Message {
            item: item.clone(),
            text: "Copying files".to_string(),
            value,
            max: CALLS,
        })
        .unwrap();
        if value % 1_000_000 == 0 {
            peak = peak.max(rss_kib() as i64 - before);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    consumer.join().unwrap();
    (CALLS as f64 / secs, peak)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("progress: bench");
        return;
    }
    let mut board = Vec::new();
    let mut board_growth = 0;
    let mut channel = Vec::new();
    let mut channel_growth = 0;
    for _ in 0..ROUNDS {
        let (rate, growth) = through_the_board();
        board.push(rate);
        board_growth = board_growth.max(growth);
        let (rate, growth) = one_message_per_call();
        channel.push(rate);
        channel_growth = channel_growth.max(growth);
    }
    let (board, channel) = (median(board), median(channel));
    println!("progress calls per second on one handler thread, {CALLS} calls, median of {ROUNDS}:");
    println!(
        "  engine + board (latest value per item): {:>6.1} M/s, consumer memory growth {board_growth} KiB",
        board / 1e6
    );
    println!(
        "  anchor, one channel message per call:   {:>6.1} M/s, memory growth up to {channel_growth} KiB",
        channel / 1e6
    );
    println!("  ratio board / anchor: {:.2}", board / channel);
}
