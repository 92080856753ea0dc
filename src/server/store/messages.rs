//! What the registry's side of the store hands the store thread: lines ([`Stored`]) and
//! everything else ([`Control`]), each naming its [`Conversation`].
//!
//! Its own file so that the thread (`writer`) and the handle (`mod.rs`) share these without
//! importing each other. Out of scope: sending (`mod.rs`), writing (`writer`).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use crate::server::line::Line;

/// Lines that may wait for the store thread. At the fastest fan-out this server reaches
/// (about 200,000 lines a second) a tenth of a second's lines, so a store that keeps up never
/// fills it; one that falls behind (a slow or failing disk) costs at most this many lines of
/// memory before lines are counted as not stored.
pub const CHANNEL_LINES: usize = 65_536;

/// Which conversation a line belongs to, as the database numbers it. The lobby is 0; each
/// room gets a fresh number when it is created, so a room created again under an old name
/// never sees the old room's lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conversation(pub u64);

impl Conversation {
    pub const LOBBY: Conversation = Conversation(0);
}

/// A line on its way to the database.
pub struct Stored {
    pub conversation: Conversation,
    pub id: u64,
    pub time: u64,
    pub line: Line,
}

/// What the registry asks of the store thread besides lines, on a channel of its own that
/// never refuses (forgetting a room must not be lost to a full line channel).
pub enum Control {
    /// A conversation starts: lines for it are written from now on, and its counter moves.
    Open(Conversation, Arc<AtomicU64>),
    /// A room was forgotten: its lines are deleted, and lines still on their way dropped.
    Forget(Conversation),
    /// The server is stopping: write every line waiting, then end.
    Stop,
}
