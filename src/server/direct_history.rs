//! [`DirectHistory`]: the direct messages kept for accounts, for `HISTORY <nick>` (issue 16),
//! in the history store's database, or in memory without one (`--ephemeral`).
//!
//! In scope: keeping one line for one party (an account, the `owner`, talking with a nick, the
//! `peer`), a page of an owner's lines with a peer (the latest n, n before an id, n after an
//! id; always oldest first, none older than `--history-days`), and, in memory, the bounds and
//! dropping an account's lines. One interface whichever keeps them, so the registry does not
//! care. On a node of a cluster that starts, a page waits while the lines sent before it
//! started are kept ([`DirectHistory::catching_up`]).
//!
//! Out of scope: who is an account and which lines are kept for whom (the registry, from the
//! `identity` of its clients), the disk and its barrier (`store`), the wire (`chatd_proto`).
//!
//! In memory, bounded: per owner at most [`MEMORY_PEERS`] peers (the pair used least
//! recently goes), per pair at most `--history-lines` up to [`MEMORY_LINES`] lines, sorted by
//! id. The two parties' lines are kept in two senders' turns and may come out of id order,
//! so a line is inserted in its place, not appended.

use std::collections::{HashMap, VecDeque};

use std::time::Duration;

use chatd_proto::{MessageId, NickKey, Page, UtcMillis};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;

use crate::server::history_entry::Entry;
use crate::server::line::Line;
use crate::server::store::{Store, cutoff};

/// Peers an account keeps lines with in memory.
pub const MEMORY_PEERS: usize = 64;

/// Lines a pair keeps in memory, at most: 64 peers of 128 lines of a hundred bytes are about
/// a megabyte per account.
pub const MEMORY_LINES: usize = 128;

/// The accounts' direct messages, wherever they are kept.
pub struct DirectHistory {
    keeper: Keeper,
    /// `--history-days` (0: no limit): older lines are left out of pages.
    days: u32,
    /// While a node of a cluster keeps the direct lines sent before it started: disconnected
    /// when it is done ([`CatchingUp`] dropped), which a page waits for.
    catching_up: Mutex<Option<Receiver<()>>>,
}

/// Held while lines of the past are being kept ([`DirectHistory::catching_up`]); dropping it
/// tells the pages waiting that they are all kept.
pub struct CatchingUp {
    _done: Sender<()>,
}

/// The longest a page waits for the past to be kept: the stream gives a node thousands of
/// lines a second, and a page had better come without them than not at all.
const CATCH_UP_WAIT: Duration = Duration::from_secs(5);

enum Keeper {
    /// `--history-lines 0`: nothing is kept.
    Off,
    /// No store (`--ephemeral`). A mutex: a keep is a short insert, under the registry's
    /// read lock (see the registry), and pages are rare.
    Memory(Mutex<Memory>),
    /// In the store's database: a keep is a `try_send` to its thread.
    Store(Store),
}

#[derive(Default)]
struct Memory {
    owners: HashMap<NickKey, Vec<Pair>>,
    /// Lines per pair.
    lines: usize,
}

/// One account's lines with one peer.
struct Pair {
    peer: NickKey,
    /// Oldest first.
    lines: VecDeque<Entry>,
}

impl DirectHistory {
    /// `lines` per pair (`--history-lines`; 0 keeps nothing), none older than `days`, in
    /// `store`'s database, or in memory when there is none.
    pub fn new(lines: usize, days: u32, store: &Store) -> DirectHistory {
        let keeper = if lines == 0 {
            Keeper::Off
        } else if store.is_open() {
            Keeper::Store(store.clone())
        } else {
            Keeper::Memory(Mutex::new(Memory {
                owners: HashMap::new(),
                lines: lines.min(MEMORY_LINES),
            }))
        };
        DirectHistory {
            keeper,
            days,
            catching_up: Mutex::new(None),
        }
    }

    /// Lines from the past are about to be kept: pages wait until the [`CatchingUp`]
    /// returned is dropped (or [`CATCH_UP_WAIT`]), so that a page answers with them.
    pub fn catching_up(&self) -> CatchingUp {
        let (done, wait) = crossbeam_channel::bounded(0);
        *self.catching_up.lock() = Some(wait);
        CatchingUp { _done: done }
    }

    /// Waits, while the past is being kept, until it is.
    fn wait_for_the_past(&self) {
        let Some(wait) = self.catching_up.lock().clone() else {
            return;
        };
        match wait.recv_timeout(CATCH_UP_WAIT) {
            Err(RecvTimeoutError::Disconnected) | Ok(()) => *self.catching_up.lock() = None,
            Err(RecvTimeoutError::Timeout) => log::warn!(
                "a HISTORY of direct messages was answered before this node kept the lines                  sent before it started; it may miss some"
            ),
        }
    }

    /// Keeps `line` (a v1 line, `\n` included) with id `id`, queued at `time`, for the
    /// account `owner` talking with `peer`. Never waits for the disk.
    pub fn keep(
        &self,
        owner: &NickKey,
        peer: &NickKey,
        id: MessageId,
        time: UtcMillis,
        line: &Line,
    ) {
        match &self.keeper {
            Keeper::Off => {}
            Keeper::Memory(memory) => memory.lock().keep(owner, peer, id, time, line),
            Keeper::Store(store) => {
                // A full channel counts the line as not stored; chat goes on.
                store.keep_direct(owner, peer, id, time, line);
            }
        }
    }

    /// At most `count` lines of `owner` with `peer` as `page` asks, oldest first. From the
    /// store, every line kept before the call is in it (the store's barrier).
    pub fn page(&self, owner: &NickKey, peer: &NickKey, count: usize, page: Page) -> Vec<Entry> {
        self.wait_for_the_past();
        let mut entries = match &self.keeper {
            Keeper::Off => Vec::new(),
            Keeper::Memory(memory) => memory.lock().page(owner, peer, count, page),
            Keeper::Store(store) => store.read_direct(owner, peer, count, page),
        };
        if let Some(cutoff) = cutoff(self.days) {
            entries.retain(|entry| entry.time.millis() >= cutoff);
        }
        entries
    }

    /// The account `owner` was deleted: its lines go. On disk a trigger deletes them with
    /// the account; in memory, here.
    pub fn forget(&self, owner: &NickKey) {
        if let Keeper::Memory(memory) = &self.keeper {
            memory.lock().owners.remove(owner);
        }
    }

    /// Returns once every line kept before is on disk (or failed to be), waiting at most the
    /// store's longest read wait: before an account is made, so that a line kept for an old
    /// account of its name is written before the trigger that clears the name runs. In
    /// memory, every keep is done when it returns.
    pub fn settle(&self) {
        if let Keeper::Store(store) = &self.keeper {
            store.settle_direct();
        }
    }
}

impl Memory {
    fn keep(
        &mut self,
        owner: &NickKey,
        peer: &NickKey,
        id: MessageId,
        time: UtcMillis,
        line: &Line,
    ) {
        let capacity = self.lines;
        let pairs = self.owners.entry(owner.clone()).or_default();
        let pair = take_pair(pairs, peer).unwrap_or_else(|| Pair {
            peer: peer.clone(),
            lines: VecDeque::new(),
        });
        if pairs.len() == MEMORY_PEERS {
            pairs.remove(0);
        }
        pairs.push(pair);
        let lines = &mut pairs.last_mut().expect("just pushed").lines;
        let at = lines.partition_point(|entry| entry.id < id);
        if lines.get(at).is_some_and(|entry| entry.id == id) {
            return;
        }
        lines.insert(
            at,
            Entry {
                id,
                time,
                line: Line::clone(line),
                stored: false,
            },
        );
        if lines.len() > capacity {
            lines.pop_front();
        }
    }

    fn page(&mut self, owner: &NickKey, peer: &NickKey, count: usize, page: Page) -> Vec<Entry> {
        let Some(pairs) = self.owners.get_mut(owner) else {
            return Vec::new();
        };
        let Some(pair) = take_pair(pairs, peer) else {
            return Vec::new();
        };
        let lines = &pair.lines;
        let (start, end) = match page {
            Page::Latest => (lines.len().saturating_sub(count), lines.len()),
            Page::Before(id) => {
                let end = lines.partition_point(|entry| entry.id < id);
                (end.saturating_sub(count), end)
            }
            Page::After(id) => {
                let start = lines.partition_point(|entry| entry.id <= id);
                (start, lines.len().min(start.saturating_add(count)))
            }
        };
        let entries = lines.range(start..end).cloned().collect();
        // Read, it is the pair used most recently.
        pairs.push(pair);
        entries
    }
}

/// Takes `peer`'s pair out of `pairs` (least recently used first), if there.
fn take_pair(pairs: &mut Vec<Pair>, peer: &NickKey) -> Option<Pair> {
    let at = pairs.iter().position(|pair| pair.peer == *peer)?;
    Some(pairs.remove(at))
}

#[cfg(test)]
mod tests;
