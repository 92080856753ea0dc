//! [`History`]: the recent lines of one conversation (the lobby, or one room), kept in memory
//! for `HISTORY`, and the pages a request reads from it.
//!
//! In scope: a bounded ring of lines (id, queued-at time, the v1 line as delivered: a copy
//! of a short one, see [`Kept`]), recording one line, and paging (the latest n, n before an
//! id, n after an id; always oldest first).
//!
//! Out of scope: where a line is recorded and under which lock (the registry: the lobby's
//! ring is its `fan_out` lock's data, a room's ring its `order` lock's, so a line is recorded
//! in the critical section that takes its id and orders it), who may read a history (the
//! registry and `rooms`), the wire spelling (`chatd_proto`), and the database (`store`).
//!
//! The ring is the recent part of what the store holds: [`History::record`], the one call
//! every line of a conversation passes, puts it in both; [`History::page`] answers from the
//! ring and says what the store must add, which [`Paged::finish`] reads after the locks.

use std::collections::VecDeque;
use std::sync::Arc;

use chatd_proto::{MAX_HISTORY, MessageId, Page, Room, UtcMillis};

use crate::server::line::Line;
use crate::server::store::{Link, Range, Store, StoreRead, Text};

pub use crate::server::history_entry::{Entry, now};

/// The lines the lobby keeps in memory (and a room without a store behind it). As many as one
/// `HISTORY` may ask for, so a page from the latest line back is always answered in full
/// from memory: about 150 KB with lines of a hundred bytes.
pub const HISTORY_RING: usize = MAX_HISTORY as usize;

/// The lines a room keeps in memory when a store holds the rest: a client joining asks for
/// 50, and a short absence misses fewer than this; older pages come from the disk. Rooms are
/// many (up to `--max-rooms`), so a room's ring is what bounds the server's memory: about
/// 20 KB a room with lines of a hundred bytes, where a thousand lines would cost 150 KB.
pub const ROOM_RING: usize = 128;

/// Where a conversation's lines older than its ring are read when no store of this server's
/// holds them: a node of a cluster reads its lobby's from the cluster's stream.
pub trait OlderLines: Send + Sync {
    /// At most `count` lines of `range`, oldest first. May wait (for the disk, the network).
    fn read(&self, count: usize, range: Range) -> Vec<Entry>;
}

/// Where a node of a cluster reads a room's lines older than what it delivered: the room's
/// subject in the cluster's stream, from after the sequence `since` that made the room.
pub trait RoomStreams: Send + Sync {
    fn older(&self, room: &Room, since: u64) -> Arc<dyn OlderLines>;
}

/// How every conversation keeps its history: the settings and the store. One per server;
/// the registry makes the lobby's history with it and the rooms theirs.
#[derive(Clone)]
pub struct Keeping {
    /// Lines per ring: `--history-lines` up to [`HISTORY_RING`]; 0 keeps nothing.
    ring: usize,
    /// `--history-lines`.
    lines: usize,
    /// `--history-days` (0: no limit): older lines are left out of pages.
    days: u32,
    store: Store,
    /// On a node of a cluster: where a room taken from another node's image reads the
    /// lines it did not deliver.
    room_streams: Option<Arc<dyn RoomStreams>>,
}

impl Default for Keeping {
    /// Rings of [`HISTORY_RING`] lines, no store, no age limit.
    fn default() -> Keeping {
        Keeping::new(HISTORY_RING, 0, Store::default())
    }
}

impl Keeping {
    /// `lines` per conversation (capped at [`HISTORY_RING`] in memory), kept `days` (0: no
    /// limit), and the store beyond the rings.
    pub fn new(lines: usize, days: u32, store: Store) -> Keeping {
        Keeping {
            ring: lines.min(HISTORY_RING),
            lines,
            days,
            store,
            room_streams: None,
        }
    }

    /// What a conversation records of `line`, made before its lock is taken (a copy is
    /// work the critical section need not do); `None` when history is off.
    pub fn text(&self, line: Option<&Line>) -> Option<Text> {
        line.filter(|_| self.ring > 0).map(Text::of)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The lobby's history, starting from the lines a previous run stored (`complete`: they
    /// are all the database holds).
    pub fn lobby(&self, recovered: VecDeque<Entry>, complete: bool) -> History {
        let mut history = self.history(self.store.link(true), self.ring);
        history.ring = recovered.iter().map(Kept::of).collect();
        history.complete = complete || history.keeps_all;
        history
    }

    /// The lobby's history on a node of a cluster: its ring fills with the lines this node
    /// delivers, and what is older is read from `older`, the stream they all came from.
    pub fn clustered_lobby(&self, older: Arc<dyn OlderLines>) -> History {
        let mut history = self.history(None, self.ring);
        // With history off (`--history-lines 0`) nothing is read back either.
        if self.ring > 0 {
            history.older = Some(older);
            history.complete = false;
            history.keeps_all = false;
        }
        history
    }

    /// A new room's history: empty, with a conversation number of its own in the store.
    /// Its ring is [`ROOM_RING`] lines when the store holds the rest.
    pub fn room(&self) -> History {
        let link = self.store.link(false);
        let ring = if link.is_some() {
            self.ring.min(ROOM_RING)
        } else {
            self.ring
        };
        self.history(link, ring)
    }

    /// On a node of a cluster: rooms taken from another node read what they did not deliver
    /// from `streams`.
    pub fn with_room_streams(mut self, streams: Arc<dyn RoomStreams>) -> Keeping {
        self.room_streams = Some(streams);
        self
    }

    /// The history of a room this node of a cluster took from another's image: its ring
    /// fills with what this node delivers, and what is older (from the stream's `since`,
    /// which made the room) is read from the room's subject. A plain room's without a
    /// cluster.
    pub fn taken_room(&self, room: &Room, since: u64) -> History {
        let Some(streams) = &self.room_streams else {
            return self.room();
        };
        let mut history = self.history(None, self.ring);
        if self.ring > 0 {
            history.older = Some(streams.older(room, since));
            history.complete = false;
            history.keeps_all = false;
        }
        history
    }

    /// A registered room's history, going on from what a previous run stored under
    /// `conversation`: its ring starts empty, and pages older than this run's lines come
    /// from the disk.
    pub fn registered_room(&self, conversation: u64) -> History {
        let link = self.store.link_registered(conversation);
        let mut history = self.history(link, self.ring.min(ROOM_RING));
        // With history off nothing is read back either.
        history.complete = history.link.is_none() || history.capacity == 0;
        history
    }

    fn history(&self, link: Option<Link>, ring: usize) -> History {
        History {
            ring: VecDeque::new(),
            capacity: ring,
            days: self.days,
            // Kept with history off too: a registered room's number is its link's.
            link,
            complete: true,
            keeps_all: ring == self.lines,
            let_go: 0,
            older: None,
        }
    }
}

/// The recent lines of one conversation, oldest first, at most its capacity, and its tie to
/// the store.
pub struct History {
    /// Ids grow from front to back: each line is recorded under the lock that takes its id.
    /// Grows as lines come (an idle room costs nothing), then its storage is reused: once
    /// full, recording a line allocates nothing.
    ring: VecDeque<Kept>,
    capacity: usize,
    days: u32,
    /// `None` without a store: what leaves the ring is gone.
    link: Option<Link>,
    /// Whether the ring holds every line history keeps of this conversation: true until the
    /// ring lets a stored line go (or, for the lobby, a previous run left more than it holds).
    complete: bool,
    /// Whether the ring holds as many lines as history keeps (`--history-lines` at most
    /// [`HISTORY_RING`]): then what it lets go of is past retention, and it stays complete.
    keeps_all: bool,
    /// The id of the newest line the ring let go of that went to the store: the store must
    /// have dealt with it before a page older than the ring is read from the disk.
    let_go: u64,
    /// Where lines older than the ring are read without a `link`: the cluster's stream.
    older: Option<Arc<dyn OlderLines>>,
}

/// A line in a ring: its text copied when short ([`Text`]), not a reference to the line its
/// recipients share: a reference would be one more count on the cache line their writers
/// count down, taken and dropped on other cores.
#[derive(Clone)]
struct Kept {
    id: MessageId,
    time: UtcMillis,
    text: Text,
    /// Whether the line went to the store (a full store channel refuses lines).
    stored: bool,
}

impl Kept {
    fn of(entry: &Entry) -> Kept {
        Kept {
            id: entry.id,
            time: entry.time,
            text: Text::of(&entry.line),
            stored: entry.stored,
        }
    }

    fn entry(&self) -> Entry {
        Entry {
            id: self.id,
            time: self.time,
            line: self.text.line(),
            stored: self.stored,
        }
    }
}

/// A page as the ring answers it, and what the store must add to it: made under the
/// conversation's lock, finished after it ([`Paged::finish`]), since the store may read the
/// disk.
pub struct Paged {
    kept: Vec<Kept>,
    days: u32,
    from_store: Option<(Older, Range, usize)>,
}

/// Where a page's older part is read.
enum Older {
    Store(StoreRead),
    Elsewhere(Arc<dyn OlderLines>),
}

impl History {
    /// Records a line just queued with id `id` at `time` (its text made before the lock,
    /// [`Keeping::text`]), and hands it to the store. Called in the critical section that
    /// took the id, so the ring's ids grow and the store gets
    /// each conversation's lines in id order. `time` is read before that section (a clock
    /// read under the lock would lengthen it); a line never shows an earlier time than the
    /// one before it.
    pub fn record(&mut self, id: MessageId, time: UtcMillis, text: Text) {
        if self.capacity == 0 {
            return;
        }
        let time = self.ring.back().map_or(time, |last| time.max(last.time));
        let stored = self
            .link
            .as_ref()
            .is_some_and(|link| link.record(id, time, text.as_str()));
        if self.ring.len() == self.capacity {
            let old = self.ring.pop_front().expect("the ring is full");
            if self.link.is_some() && !self.keeps_all {
                self.complete = false;
            }
            if old.stored {
                self.let_go = old.id.get();
            }
        }
        self.ring.push_back(Kept {
            id,
            time,
            text,
            stored,
        });
    }

    /// The conversation's number in the store, if a store is behind it.
    pub fn conversation(&self) -> Option<u64> {
        self.link.as_ref().map(Link::conversation)
    }

    /// Whether the conversation's stored lines outlive this history (a registered room's
    /// do) or go with it.
    pub fn keep_on_disk(&mut self, kept: bool) {
        if let Some(link) = &mut self.link {
            link.keep(kept);
        }
    }

    /// At most `count` lines as `page` asks, oldest first: the ring's part as copies (made
    /// into lines after the lock), and what the store must add for lines older than the
    /// ring holds.
    pub fn page(&self, count: usize, page: Page) -> Paged {
        let len = self.ring.len();
        let front = self.ring.front().map_or(u64::MAX, |entry| entry.id.get());
        let (start, end, before_ring) = match page {
            Page::Latest => {
                let start = len.saturating_sub(count);
                (start, len, Range::Newest { below: front })
            }
            Page::Before(id) => {
                let end = self.ring.partition_point(|entry| entry.id < id);
                let below = front.min(id.get());
                (end.saturating_sub(count), end, Range::Newest { below })
            }
            Page::After(id) => {
                let start = self.ring.partition_point(|entry| entry.id <= id);
                let end = len.min(start.saturating_add(count));
                let range = Range::Oldest {
                    above: id.get(),
                    below: front,
                };
                (start, end, range)
            }
        };
        let kept: Vec<Kept> = self.ring.range(start..end).cloned().collect();
        let wanted = match (page, &before_ring) {
            // Lines after the id but before the ring come first: a whole page may be there.
            (Page::After(id), _) if id.get() < front => count,
            (Page::After(_), _) => 0,
            _ => count - kept.len(),
        };
        let from_store = match (&self.link, &self.older) {
            _ if self.complete || wanted == 0 => None,
            (Some(link), _) => Some((Older::Store(link.read(self.let_go)), before_ring, wanted)),
            (None, Some(older)) => Some((Older::Elsewhere(Arc::clone(older)), before_ring, wanted)),
            (None, None) => None,
        };
        Paged {
            kept,
            days: self.days,
            from_store,
        }
    }
}

impl Paged {
    /// The page: the store's older lines (read now, from the disk) before the ring's, at
    /// most `count` in all, and none older than `--history-days`.
    pub fn finish(self, count: usize) -> Vec<Entry> {
        let Paged {
            kept,
            days,
            from_store,
        } = self;
        let mut entries: Vec<Entry> = kept.iter().map(Kept::entry).collect();
        if let Some((read, range, wanted)) = from_store {
            let mut older = match read {
                Older::Store(read) => read.read(wanted, range),
                Older::Elsewhere(older) => older.read(wanted, range),
            };
            let room = count.saturating_sub(older.len());
            entries.truncate(room);
            older.append(&mut entries);
            entries = older;
        }
        if let Some(cutoff) = crate::server::store::cutoff(days) {
            entries.retain(|entry| entry.time.millis() >= cutoff);
        }
        entries
    }
}

#[cfg(test)]
mod tests;
