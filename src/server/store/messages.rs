//! What the registry's side of the store hands the store thread: full chunks of lines
//! (`batch::Chunk`), everything else ([`Control`]), each naming its [`Conversation`], and the
//! direct lines kept for accounts ([`Direct`]), on a channel of their own; and [`Text`], a
//! line as a history ring keeps it.
//!
//! Its own file so that the thread (`writer`) and the handle (`mod.rs`) share these without
//! importing each other. Out of scope: sending (`mod.rs`), writing (`writer`, `direct`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use chatd_proto::NickKey;
use crossbeam_channel::Sender;

use super::batch::{Conversation, Pending};
use super::rooms::RoomRecord;
use crate::server::line::Line;

/// Full chunks that may wait for the store thread: 65,536 lines. At the fastest this server
/// records lines (about 500,000 a second, in the rooms benchmark) over a tenth of a second's,
/// so a store that keeps up never fills it; one that falls behind (a slow or failing disk)
/// costs at most this many chunks of memory (a few megabytes) before lines are counted as
/// not stored.
pub const CHANNEL_CHUNKS: usize = 256;

/// Bytes of a line copied into a ring's entry rather than shared: most chat lines.
pub const INLINE_TEXT: usize = 104;

/// A line's text in a history ring: a copy when it is short, else the shared line.
///
/// Why a copy: a shared line's reference count is the one its recipients' writers count
/// down as they write it. Taking one more reference for the ring, and dropping it when the
/// ring lets the line go, made that count's cache line travel between cores once more per
/// line; a copy of a short line moves no line of cache another core writes.
#[derive(Clone)]
pub enum Text {
    Inline { len: u8, bytes: [u8; INLINE_TEXT] },
    Shared(Line),
}

impl Text {
    /// `line`'s text, copied if short.
    pub fn of(line: &Line) -> Text {
        match u8::try_from(line.len()) {
            Ok(len) if line.len() <= INLINE_TEXT => {
                let mut bytes = [0; INLINE_TEXT];
                bytes[..line.len()].copy_from_slice(line.as_bytes());
                Text::Inline { len, bytes }
            }
            _ => Text::Shared(Arc::clone(line)),
        }
    }

    /// The text as a line of its own (shared as it was, or a new one from the copy).
    pub fn line(&self) -> Line {
        match self {
            Text::Inline { .. } => Arc::from(self.as_str()),
            Text::Shared(line) => Arc::clone(line),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Text::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).expect("copied from a str, whole")
            }
            Text::Shared(line) => line,
        }
    }
}

/// What the registry asks of the store thread besides lines, on a channel of its own that
/// never refuses (forgetting a room must not be lost to a full line channel).
pub enum Control {
    /// A conversation starts (or, `existing`, goes on from a previous run: a registered
    /// room): lines for it are written from now on, its pending chunk is swept each flush
    /// window, and its counter moves.
    Open {
        conversation: Conversation,
        handled: Arc<AtomicU64>,
        pending: Arc<Pending>,
        existing: bool,
    },
    /// A room was forgotten: its lines are deleted, and lines still on their way dropped.
    Forget(Conversation),
    /// A registered room was registered or changed: its row.
    SaveRoom(RoomRecord),
    /// A room is not registered any more: its row goes (its lines when it is forgotten).
    DropRoom(String),
    /// The server is stopping: write every line waiting, then end.
    Stop,
}

/// Direct lines that may wait for the store thread. Only account holders' direct lines come
/// this way, far fewer than the lobby's and rooms': a few seconds of a busy server's. A
/// channel of its own, so the lobby's and rooms' channel stays as it is.
pub const CHANNEL_DIRECT: usize = 4_096;

/// What the registry's side hands the store thread about direct messages, in one order: a
/// barrier is answered once every line sent before it is written.
pub enum Direct {
    /// Boxed: a bounded channel allocates all its slots at once, and a slot that holds a
    /// pointer is a fifth of one that holds the line's fields.
    Line(Box<DirectLine>),
    /// Answered (or dropped, which also wakes the reader) once everything before it in the
    /// channel is on disk: the reader's guarantee that its page misses no line handed over
    /// before its request.
    Barrier(Sender<()>),
}

/// A direct line kept for one party: the account `owner` talking with the nick `peer`.
pub struct DirectLine {
    pub owner: NickKey,
    pub peer: NickKey,
    pub id: u64,
    pub time: u64,
    /// The v1 line as the recipient got it, without its `\n`.
    pub line: String,
}
