//! Whether the instance has a window, and what a wish to show one does. Pure: `W` is the
//! open window's handle (egui's context in the instance).
//!
//! The main thread opens a window for each `ShowWindow` it receives, and a wish is sent
//! only when no window is open or coming. A wish that arrives while the window closes is
//! kept, and a new window opens once the old one is gone, so no `Activate` is answered
//! without a window to show for it. Once Sync Center decided to end, wishes are refused.

/// Where the window is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum State<W> {
    /// No window, and none asked for.
    Closed,
    /// The main thread was asked for a window and has not made it yet.
    Opening,
    /// A window is open.
    Open(W),
    /// The window is closing; `again` when a new one was asked for meanwhile.
    Closing { again: bool },
    /// Sync Center is ending: no more windows.
    Ending,
}

/// What to do about a wish to see the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Show<W> {
    /// Ask the main thread for a window.
    Open,
    /// Raise this open window.
    Raise(W),
    /// A window is on its way already.
    Coming,
    /// Sync Center is ending.
    Refused,
}

/// What the main thread does once a window is gone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gone {
    /// Someone asked for a window while it closed: open a new one.
    OpenAgain,
    /// No window is wanted.
    Closed,
}

#[derive(Clone, Debug)]
pub struct Presence<W> {
    state: State<W>,
}

impl<W> Default for Presence<W> {
    fn default() -> Self {
        Presence {
            state: State::Closed,
        }
    }
}

impl<W: Clone> Presence<W> {
    /// Someone wants to see the window (Activate, the tray, a dialog).
    pub fn want(&mut self) -> Show<W> {
        match &mut self.state {
            State::Closed => {
                self.state = State::Opening;
                Show::Open
            }
            State::Opening => Show::Coming,
            State::Open(window) => Show::Raise(window.clone()),
            State::Closing { again } => {
                *again = true;
                Show::Coming
            }
            State::Ending => Show::Refused,
        }
    }

    /// The window opened; false when Sync Center is ending and it is to close at once.
    pub fn opened(&mut self, window: W) -> bool {
        if matches!(self.state, State::Ending) {
            return false;
        }
        self.state = State::Open(window);
        true
    }

    /// The window started closing (the user closed it, or Quit).
    pub fn closing(&mut self) {
        if matches!(self.state, State::Open(_) | State::Opening) {
            self.state = State::Closing { again: false };
        }
    }

    /// The window is gone.
    pub fn gone(&mut self) -> Gone {
        match self.state {
            State::Closing { again: true } => {
                self.state = State::Opening;
                Gone::OpenAgain
            }
            State::Ending => Gone::Closed,
            _ => {
                self.state = State::Closed;
                Gone::Closed
            }
        }
    }

    /// Ends Sync Center unless a window was asked for since the last one closed; returns
    /// whether it ends.
    pub fn end_unless_wanted(&mut self) -> bool {
        match self.state {
            State::Closed | State::Ending => {
                self.state = State::Ending;
                true
            }
            _ => false,
        }
    }

    /// Sync Center ends (Quit): the open window, if any, to close.
    pub fn end(&mut self) -> Option<W> {
        match std::mem::replace(&mut self.state, State::Ending) {
            State::Open(window) => Some(window),
            _ => None,
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.state, State::Open(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Steps of the main thread and of others, in any order.
    #[derive(Clone, Copy, Debug)]
    enum Step {
        Want,
        Opened,
        Closing,
        Gone,
        EndUnlessWanted,
        End,
    }

    #[test]
    fn every_wish_gets_a_window_unless_sync_center_is_ending() {
        use Step::*;
        // (steps, what the last step answers, open at the end?)
        let cases: Vec<(Vec<Step>, &str, bool)> = vec![
            (vec![Want], "Open", false),
            (vec![Want, Want], "Coming", false),
            (vec![Want, Opened, Want], "Raise(7)", true),
            // Activate while the window closes: a new window opens once it is gone.
            (vec![Want, Opened, Closing, Want], "Coming", false),
            (vec![Want, Opened, Closing, Want, Gone], "OpenAgain", false),
            (
                vec![Want, Opened, Closing, Want, Gone, EndUnlessWanted],
                "false",
                false,
            ),
            (vec![Want, Opened, Closing, Gone], "Closed", false),
            (vec![Want, Opened, Closing, Gone, Want], "Open", false),
            // Closed and not wanted: Sync Center ends, and a late wish is refused.
            (
                vec![Want, Opened, Closing, Gone, EndUnlessWanted],
                "true",
                false,
            ),
            (
                vec![Want, Opened, Closing, Gone, EndUnlessWanted, Want],
                "Refused",
                false,
            ),
            // A wish between the window going and the decision keeps Sync Center.
            (
                vec![Want, Opened, Closing, Gone, Want, EndUnlessWanted],
                "false",
                false,
            ),
            // Quit with a window open: it is handed back to be closed; no more windows.
            (vec![Want, Opened, End], "Some(7)", false),
            (vec![Want, Opened, End, Want], "Refused", false),
            (vec![Want, Opened, End, Closing, Gone], "Closed", false),
            (vec![End, Opened], "false", false),
            (vec![End, Opened, Want], "Refused", false),
            // A window that closes before it was drawn.
            (vec![Want, Closing, Gone], "Closed", false),
        ];
        for (steps, answer, open) in cases {
            let mut presence = Presence::<u32>::default();
            let mut last = String::new();
            for step in &steps {
                last = match step {
                    Want => format!("{:?}", presence.want()),
                    Opened => presence.opened(7).to_string(),
                    Closing => {
                        presence.closing();
                        String::new()
                    }
                    Gone => format!("{:?}", presence.gone()),
                    EndUnlessWanted => presence.end_unless_wanted().to_string(),
                    End => format!("{:?}", presence.end()),
                };
            }
            assert_eq!(last, answer, "{steps:?}");
            assert_eq!(presence.is_open(), open, "{steps:?}");
        }
    }
}
