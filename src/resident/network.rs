//! "Sync when the network comes back": NetworkManager's `StateChanged` signal on the system
//! bus. When the state rises from not connected to connected (a site or the internet), the
//! checked items sync, for the pairs whose other side is elsewhere. Nothing polls: a thread
//! sleeps on the signal.
//!
//! NetworkManager states: 10 asleep, 20 disconnected, 30 disconnecting, 40 connecting,
//! 50 connected (local only), 60 connected (site), 70 connected (global).

use crossbeam_channel::{Receiver, Sender};
use zbus::MatchRule;
use zbus::blocking::{Connection, MessageIterator, Proxy};
use zbus::message::Type as MessageType;

const NM_NAME: &str = "org.freedesktop.NetworkManager";
const NM_PATH: &str = "/org/freedesktop/NetworkManager";
/// `NM_STATE_CONNECTED_SITE`: reaches more than this machine.
const CONNECTED: u32 = 60;

/// Whether a state change brings the network back. Pure: a rise from a known state that
/// was not connected to one that is.
pub fn comes_back(before: Option<u32>, now: u32) -> bool {
    now >= CONNECTED && before.is_some_and(|before| before < CONNECTED)
}

/// NetworkManager's states as they change, from a thread of its own; the first is the
/// state when listening began. Fails when the system bus cannot be reached.
pub fn states() -> Result<(Receiver<u32>, bool), String> {
    let bus =
        Connection::system().map_err(|e| format!("the system bus cannot be reached ({e})"))?;
    let rule = MatchRule::builder()
        .msg_type(MessageType::Signal)
        .sender(NM_NAME)
        .and_then(|r| r.path(NM_PATH))
        .and_then(|r| r.interface(NM_NAME))
        .and_then(|r| r.member("StateChanged"))
        .map_err(|e| e.to_string())?
        .build();
    let signals = MessageIterator::for_match_rule(rule, &bus, None).map_err(|e| e.to_string())?;
    let (tx, rx) = crossbeam_channel::unbounded();
    // Listening first, then asking, so no change falls in between.
    let present = match Proxy::new(&bus, NM_NAME, NM_PATH, NM_NAME)
        .and_then(|nm| nm.get_property::<u32>("State"))
    {
        Ok(state) => {
            let _ = tx.send(state);
            true
        }
        Err(_) => false,
    };
    std::thread::Builder::new()
        .name("network".into())
        .spawn(move || forward(signals, tx))
        .expect("spawn the network listener");
    Ok((rx, present))
}

fn forward(signals: MessageIterator, tx: Sender<u32>) {
    for message in signals.flatten() {
        if let Ok(state) = message.body().deserialize::<u32>()
            && tx.send(state).is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_network_comes_back_on_a_rise_to_connected() {
        // (state before, state now, comes back?)
        let cases = [
            (None, 70, false),
            (Some(20), 70, true),
            (Some(20), 60, true),
            (Some(40), 70, true),
            (Some(10), 70, true),
            (Some(20), 50, false),
            (Some(50), 70, true),
            (Some(60), 70, false),
            (Some(70), 70, false),
            (Some(70), 20, false),
            (Some(20), 40, false),
        ];
        for (before, now, back) in cases {
            assert_eq!(comes_back(before, now), back, "{before:?} → {now}");
        }
    }
}
