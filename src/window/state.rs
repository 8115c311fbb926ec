//! What the window knows about handlers, items and running sessions, kept up to date from
//! the engine's events and the board. The views only read it.

use crate::core::board::ItemSnapshot;
use crate::core::handler::Registry;
use crate::core::model::{HandlerId, HandlerInfo, Icon, ItemInfo, ItemKey, SessionId};
use crate::core::progress::{ItemShare, ProgressView, Shown, Speed};
use crate::core::status::ItemStatus;
use std::collections::{BTreeMap, HashMap, HashSet};

/// Where a handler's list of items stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Listing {
    Looking,
    Listed,
    /// It could not list its items; the reason in plain words.
    Unavailable(String),
}

pub struct HandlerEntry {
    pub id: HandlerId,
    pub name: String,
    pub icon: Icon,
    pub has_properties: bool,
    pub items: Vec<ItemInfo>,
    pub listing: Listing,
    pub expanded: bool,
}

/// An item's live state this session of the window, and what its bar shows.
pub struct LiveItem {
    pub snapshot: ItemSnapshot,
    pub shown: Shown,
    view: ProgressView,
    /// Bytes per second the handler's figures say it copies, once known.
    pub speed: Option<f64>,
    speed_meter: Speed,
    /// Its settings changed since its run ended: that end no longer says how it stands.
    outdated: bool,
}

impl LiveItem {
    /// What the item is doing in words: its handler's figures when it gave them (the
    /// stage, files and bytes, the speed), else its handler's text.
    pub fn doing(&self) -> String {
        match &self.snapshot.figures {
            Some(figures) if !self.snapshot.status.is_terminal() => figures.describe(self.speed),
            _ => self.snapshot.text.clone(),
        }
    }
}

/// The overall bar of everything running.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Overall {
    pub shown: Shown,
    pub done: usize,
    pub total: usize,
}

pub struct Model {
    pub handlers: Vec<HandlerEntry>,
    /// Live state by slot; `slots` finds an item's slot. Running sessions hold slot numbers
    /// so that feeding ten thousand bars a frame hashes nothing.
    live: Vec<LiveItem>,
    slots: HashMap<ItemKey, usize>,
    /// Running sessions and the slots of their items.
    pub running: BTreeMap<SessionId, Vec<usize>>,
    pub overall: Option<Overall>,
    overall_view: ProgressView,
    pub selected: Option<ItemKey>,
}

impl Model {
    /// One entry per registered handler, in the registry's order, before any has listed.
    pub fn new(registry: &Registry) -> Self {
        let handlers = registry
            .providers()
            .iter()
            .map(|provider| HandlerEntry {
                id: provider.id(),
                name: provider.display_name(),
                icon: Icon::Generic,
                has_properties: false,
                items: Vec::new(),
                listing: Listing::Looking,
                expanded: true,
            })
            .collect();
        Self {
            handlers,
            live: Vec::new(),
            slots: HashMap::new(),
            running: BTreeMap::new(),
            overall: None,
            overall_view: ProgressView::new(),
            selected: None,
        }
    }

    fn entry(&mut self, id: &HandlerId, name: &str) -> &mut HandlerEntry {
        let index = match self.handlers.iter().position(|h| &h.id == id) {
            Some(index) => index,
            None => {
                self.handlers.push(HandlerEntry {
                    id: id.clone(),
                    name: name.to_string(),
                    icon: Icon::Generic,
                    has_properties: false,
                    items: Vec::new(),
                    listing: Listing::Looking,
                    expanded: true,
                });
                self.handlers.len() - 1
            }
        };
        &mut self.handlers[index]
    }

    pub fn handler_listed(&mut self, id: &HandlerId, info: HandlerInfo, items: Vec<ItemInfo>) {
        let entry = self.entry(id, &info.name);
        entry.name = info.name;
        entry.icon = info.icon;
        entry.has_properties = info.has_properties;
        entry.items = items;
        entry.listing = Listing::Listed;
    }

    pub fn handler_unavailable(&mut self, id: &HandlerId, name: &str, error: String) {
        let entry = self.entry(id, name);
        entry.name = name.to_string();
        entry.items.clear();
        entry.listing = Listing::Unavailable(error);
    }

    /// The handler was asked for its items again.
    pub fn relisting(&mut self, id: &HandlerId) {
        if let Some(entry) = self.handlers.iter_mut().find(|h| &h.id == id) {
            entry.listing = Listing::Looking;
        }
    }

    pub fn session_started(&mut self, session: SessionId, items: Vec<ItemKey>) {
        let slots: Vec<usize> = items
            .into_iter()
            .map(|key| self.slot(key, session))
            .collect();
        let running = self.running.entry(session).or_default();
        let known: HashSet<usize> = running.iter().copied().collect();
        running.extend(slots.into_iter().filter(|slot| !known.contains(slot)));
        if self.running.len() == 1 && self.overall.is_none() {
            self.overall_view.restart();
        }
    }

    pub fn session_finished(&mut self, session: SessionId) {
        self.running.remove(&session);
        if self.running.is_empty() {
            self.overall = None;
        }
    }

    /// The slot of an item, made pending in `session` if the board has not spoken of it yet.
    fn slot(&mut self, key: ItemKey, session: SessionId) -> usize {
        if let Some(&slot) = self.slots.get(&key) {
            return slot;
        }
        let snapshot = ItemSnapshot {
            session: Some(session),
            status: ItemStatus::Pending,
            wait: None,
            text: String::new(),
            measure: None,
            stage: None,
            changes_applied: 0,
            request: None,
            figures: None,
        };
        let mut view = ProgressView::new();
        self.live.push(LiveItem {
            shown: view.update(0.0, None, false),
            snapshot,
            view,
            speed: None,
            speed_meter: Speed::default(),
            outdated: false,
        });
        self.slots.insert(key, self.live.len() - 1);
        self.live.len() - 1
    }

    /// Takes in the board's latest values; `now` is seconds on a monotonic clock.
    pub fn apply_board(&mut self, changed: Vec<(ItemKey, ItemSnapshot)>, now: f64) {
        for (key, snapshot) in changed {
            let slot = match snapshot.session {
                Some(session) => self.slot(key, session),
                None => continue,
            };
            let live = &mut self.live[slot];
            if live.snapshot.session != snapshot.session {
                live.view.restart();
                live.speed_meter = Speed::default();
                live.speed = None;
            }
            live.shown = live
                .view
                .update(now, snapshot.measure, snapshot.status.is_terminal());
            if let Some(figures) = &snapshot.figures {
                live.speed = live.speed_meter.update(now, figures.bytes_done);
            }
            live.snapshot = snapshot;
            live.outdated = false;
        }
    }

    /// An item's settings changed: how its last run ended is no longer shown (the store
    /// forgot it too), until it runs again.
    pub fn forget_outcome(&mut self, key: &ItemKey) {
        if let Some(&slot) = self.slots.get(key) {
            let live = &mut self.live[slot];
            live.outdated = live.snapshot.status.is_terminal();
        }
    }

    /// Feeds every running item's bar and the overall bar; call once a frame while sessions
    /// run, so a stalled item slows the ETA down as it should.
    pub fn advance(&mut self, now: f64) {
        if self.running.is_empty() {
            return;
        }
        let mut shares = Vec::new();
        for &slot in self.running.values().flatten() {
            let live = &mut self.live[slot];
            let status = live.snapshot.status;
            live.shown = live
                .view
                .update(now, live.snapshot.measure, status.is_terminal());
            let weight = live.snapshot.figures.as_ref().and_then(|f| f.weight());
            shares.push(ItemShare::of(status, live.shown).weighing(weight));
        }
        let done = shares.iter().filter(|s| s.done).count();
        let shown = self.overall_view.update_overall(now, &shares);
        self.overall = Some(Overall {
            shown,
            done,
            total: shares.len(),
        });
    }

    pub fn is_running(&self) -> bool {
        !self.running.is_empty()
    }

    /// The one item of the runs going on that has not ended, when there is exactly one,
    /// with what it is doing in words (none while it waits its turn and says nothing).
    pub fn sole_runner(&self) -> Option<(ItemKey, String)> {
        let mut going = self
            .running
            .values()
            .flatten()
            .filter(|&&slot| !self.live[slot].snapshot.status.is_terminal());
        let (Some(&slot), None) = (going.next(), going.next()) else {
            return None;
        };
        let doing = self.live[slot].doing();
        let key = self.slots.iter().find(|&(_, &s)| s == slot)?.0.clone();
        (!doing.is_empty()).then_some((key, doing))
    }

    /// The live state of an item that belongs to a run still going on, or that ended while
    /// this window was open.
    pub fn live(&self, key: &ItemKey) -> Option<&LiveItem> {
        self.latest(key).filter(|live| {
            (live.snapshot.status.is_terminal() && !live.outdated)
                || live.snapshot.wait.is_some()
                || live
                    .snapshot
                    .session
                    .is_some_and(|s| self.running.contains_key(&s))
        })
    }

    /// The latest the board said of an item, whatever it was part of.
    pub fn latest(&self, key: &ItemKey) -> Option<&LiveItem> {
        self.slots.get(key).map(|&slot| &self.live[slot])
    }

    pub fn items(&self) -> impl Iterator<Item = (ItemKey, &ItemInfo)> {
        self.handlers.iter().flat_map(|handler| {
            handler.items.iter().map(|item| {
                let key = ItemKey {
                    handler: handler.id.clone(),
                    item: item.id.clone(),
                };
                (key, item)
            })
        })
    }

    pub fn item(&self, key: &ItemKey) -> Option<&ItemInfo> {
        self.handlers
            .iter()
            .find(|h| h.id == key.handler)?
            .items
            .iter()
            .find(|i| i.id == key.item)
    }

    pub fn item_name(&self, key: &ItemKey) -> String {
        self.item(key)
            .map_or_else(|| key.item.to_string(), |item| item.name.clone())
    }

    pub fn handler_name(&self, id: &HandlerId) -> String {
        self.handlers
            .iter()
            .find(|h| &h.id == id)
            .map_or_else(|| id.to_string(), |h| h.name.clone())
    }

    pub fn has_items(&self) -> bool {
        self.handlers.iter().any(|h| !h.items.is_empty())
    }

    pub fn still_listing(&self) -> bool {
        self.handlers.iter().any(|h| h.listing == Listing::Looking)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::board::ItemSnapshot;

    fn snapshot(session: u64, status: ItemStatus, measure: Option<(u64, u64)>) -> ItemSnapshot {
        ItemSnapshot {
            session: Some(SessionId(session)),
            status,
            wait: None,
            text: String::new(),
            measure,
            stage: None,
            changes_applied: 0,
            request: None,
            figures: None,
        }
    }

    #[test]
    fn the_overall_bar_counts_items_not_started_as_nothing_done() {
        let mut model = Model::new(&Registry::new());
        let (a, b) = (ItemKey::new("h", "a"), ItemKey::new("h", "b"));
        model.session_started(SessionId(1), vec![a.clone(), b.clone()]);
        model.apply_board(
            vec![
                (a.clone(), snapshot(1, ItemStatus::Updating, Some((5, 10)))),
                (b.clone(), snapshot(1, ItemStatus::Pending, None)),
            ],
            0.0,
        );
        model.advance(0.0);
        let overall = model.overall.expect("a run is going on");
        assert!(overall.shown.determinate);
        assert!((overall.shown.fraction - 0.25).abs() < 0.01);
        assert_eq!((overall.done, overall.total), (0, 2));
        model.apply_board(
            vec![(a.clone(), snapshot(1, ItemStatus::Succeeded, None))],
            1.0,
        );
        model.advance(1.0);
        assert_eq!(model.overall.map(|o| o.done), Some(1));
        model.session_finished(SessionId(1));
        assert!(model.overall.is_none());
        assert!(!model.is_running());
        // A finished item keeps showing how it ended; a pending one of no run shows nothing.
        assert!(model.live(&a).is_some());
        assert!(model.live(&b).is_none());
    }

    #[test]
    fn the_sole_item_still_running_is_named_with_what_it_does() {
        let mut model = Model::new(&Registry::new());
        let (a, b) = (ItemKey::new("h", "a"), ItemKey::new("h", "b"));
        let saying = |session, status, text: &str| ItemSnapshot {
            text: text.into(),
            ..snapshot(session, status, None)
        };
        model.session_started(SessionId(1), vec![a.clone(), b.clone()]);
        // Two going on: neither is alone.
        model.apply_board(
            vec![
                (a.clone(), saying(1, ItemStatus::Updating, "copying")),
                (b.clone(), saying(1, ItemStatus::Updating, "listing")),
            ],
            0.0,
        );
        assert_eq!(model.sole_runner(), None);
        // One ended: the other is.
        model.apply_board(
            vec![(a.clone(), saying(1, ItemStatus::Succeeded, "done"))],
            1.0,
        );
        assert_eq!(model.sole_runner(), Some((b.clone(), "listing".into())));
        // Another session's item makes two again.
        let c = ItemKey::new("h", "c");
        model.session_started(SessionId(2), vec![c.clone()]);
        model.apply_board(
            vec![(c.clone(), saying(2, ItemStatus::Updating, "up"))],
            2.0,
        );
        assert_eq!(model.sole_runner(), None);
        // Alone but saying nothing yet (pending): nothing to show.
        model.apply_board(vec![(b.clone(), saying(1, ItemStatus::Failed, "no"))], 3.0);
        model.apply_board(vec![(c.clone(), saying(2, ItemStatus::Pending, ""))], 3.0);
        assert_eq!(model.sole_runner(), None);
        model.apply_board(vec![(c.clone(), saying(2, ItemStatus::Succeeded, ""))], 4.0);
        assert_eq!(model.sole_runner(), None);
    }

    #[test]
    fn an_unknown_amount_of_work_makes_the_overall_bar_a_marquee() {
        let mut model = Model::new(&Registry::new());
        let a = ItemKey::new("h", "a");
        model.session_started(SessionId(1), vec![a.clone()]);
        model.apply_board(vec![(a, snapshot(1, ItemStatus::Indeterminate, None))], 0.0);
        model.advance(0.0);
        assert!(!model.overall.expect("running").shown.determinate);
    }
}
