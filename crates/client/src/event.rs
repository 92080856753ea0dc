//! The one event type of the client's loop: what the terminal, the network threads and the
//! clock tell the app.
//!
//! In scope: the event values. Out of scope: producing them (`net`, `terminal`) and what they
//! do to the state (`app`).

use std::time::Duration;

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use chatd_proto::{MessageId, Reply};

/// Everything that can change the client's state. Threads send these into one channel; the
/// loop hands them to [`crate::app::update`] one by one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A key press from the terminal (raw mode: Ctrl-C arrives here, not as a signal).
    Key(KeyEvent),
    /// Text pasted into a terminal that brackets pastes: the whole paste at once, its line
    /// breaks included. (Other terminals send a paste as keys.)
    Paste(String),
    /// A mouse event; only the wheel is used.
    Mouse(MouseEvent),
    /// The terminal now has this many columns and rows.
    Resize { width: u16, height: u16 },
    /// Something happened on the connection.
    Net(NetEvent),
    /// About once a second: counts down the reconnect delay and the quit deadline.
    Tick,
    /// SIGTERM, SIGHUP or SIGINT arrived: leave now, restoring the terminal.
    Signal,
}

/// What the network side reports, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEvent {
    /// A connection attempt starts (1 for the first attempt after a loss).
    Connecting { attempt: u32 },
    /// The TCP connection is up; nothing has been sent on it yet.
    Connected,
    /// One line from the server, parsed by the protocol module.
    Line(Reply),
    /// A chat line that came with its message id (`@<id> <line>`, after `CAP ids`).
    IdLine(MessageId, Reply),
    /// A line the protocol module could not parse, as received.
    Unparsed(String),
    /// The connection ended (or an attempt failed); the next attempt starts after `retry_in`.
    Lost { reason: String, retry_in: Duration },
}
