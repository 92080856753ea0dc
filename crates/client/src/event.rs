//! The one event type of the client's loop: what the terminal, the network threads, the file
//! threads and the clock tell the app; and the file jobs the app asks of the file threads
//! ([`FileJob`], carried by an effect), since they cross the same boundary the other way.
//!
//! In scope: the values. Out of scope: producing them (`net`, `terminal`, `transfer`) and
//! what they do to the state (`app`).

use std::path::PathBuf;
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
    /// A file job (`/send`, `/save`) moved on.
    File(FileEvent),
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

/// What the file threads (`transfer`) report about the job numbered `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEvent {
    /// The file `/send` names was looked at: what it is, or why it cannot be sent.
    Opened {
        id: u64,
        result: Result<LocalFile, String>,
    },
    /// Bytes sent or saved so far: at most a few times a second, and once all are.
    Progress { id: u64, done: u64 },
    /// An upload's `PUT` ended: the server took every byte (and answered with the file's
    /// download URL, if it did), or why not, in plain words.
    Uploaded {
        id: u64,
        result: Result<Option<String>, String>,
    },
    /// A download ended: where the file was saved, or why it was not.
    Saved {
        id: u64,
        result: Result<PathBuf, String>,
    },
}

/// A file on this machine that `/send` can send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalFile {
    /// Where it is, `~` expanded.
    pub path: PathBuf,
    /// Its base name, which the `UPLOAD` gives it.
    pub name: String,
    pub size: u64,
}

/// What the app asks of the file threads (as an effect). Every job ends with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileJob {
    /// Look at the file `/send` names (as typed: `~` is expanded there): [`FileEvent::Opened`].
    Open { id: u64, path: String },
    /// `PUT` `size` bytes of the file at `path` to the upload URL `url`, streamed from
    /// disk: [`FileEvent::Progress`], then [`FileEvent::Uploaded`].
    Upload {
        id: u64,
        path: PathBuf,
        url: String,
        size: u64,
    },
    /// `GET` `url` into a temporary file, renamed once complete, never over a file:
    /// [`FileEvent::Progress`], then [`FileEvent::Saved`]. `to` is what `/save` was given
    /// (a folder, or a file's path; `None`: the current folder); `name`, the server's name
    /// made safe, is used in a folder (`None`: it had none usable).
    Download {
        id: u64,
        url: String,
        size: u64,
        name: Option<String>,
        to: Option<String>,
    },
}
