//! [`History`]: the recent lines of one conversation (the lobby, or one room), kept in memory
//! for `HISTORY`, and the pages a request reads from it.
//!
//! In scope: a bounded ring of [`Entry`]s (id, queued-at time, the v1 line as delivered,
//! shared with the recipients' queues: a reference count, never a copy), recording one line,
//! and paging (the latest n, n before an id, n after an id; always oldest first).
//!
//! Out of scope: where a line is recorded and under which lock (the registry: the lobby's
//! ring is its `fan_out` lock's data, a room's ring its `order` lock's, so a line is recorded
//! in the critical section that takes its id and orders it), who may read a history (the
//! registry and `rooms`), and the wire spelling (`chatd_proto`). Storing lines beyond the
//! ring and across restarts is the store's job, a later step: this ring is meant to stay the
//! recent part of what the store holds, answering most requests without it, so the store
//! plugs in behind [`History::page`] and beside [`History::record`], the one call per
//! conversation that every line passes.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use chatd_proto::{MAX_HISTORY, MessageId, Page, UtcMillis};

use crate::server::line::Line;

/// The lines a conversation keeps. As many as one `HISTORY` may ask for, so a page from the
/// latest line back is always answered in full from memory; and few enough that a room costs
/// at most about 32 KB of entries plus the lines themselves (which its members' queues
/// mostly shared anyway): with `--max-rooms` rooms the memory stays bounded.
pub const HISTORY_RING: usize = MAX_HISTORY as usize;

/// One line of a history.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: MessageId,
    /// When the line was queued for its recipients.
    pub time: UtcMillis,
    /// The line as a client without capabilities got it (`ALL`, `MSG #room`, and for an
    /// action its `/me` form), `\n` included, without its id.
    pub line: Line,
}

/// The recent lines of one conversation, oldest first, at most [`HISTORY_RING`].
#[derive(Debug, Default)]
pub struct History {
    /// Ids grow from front to back: each line is recorded under the lock that takes its id.
    /// Grows as lines come (an idle room costs nothing), then its storage is reused: once
    /// full, recording a line allocates nothing.
    ring: VecDeque<Entry>,
}

impl History {
    /// Records a line just queued with id `id` at `time`. Called in the critical section
    /// that took the id, so the ring's ids grow. `time` is read before that section (a
    /// clock read under the lock would lengthen it); a line never shows an earlier time than
    /// the one before it.
    pub fn record(&mut self, id: MessageId, time: UtcMillis, line: &Line) {
        let time = self.ring.back().map_or(time, |last| time.max(last.time));
        if self.ring.len() == HISTORY_RING {
            self.ring.pop_front();
        }
        self.ring.push_back(Entry {
            id,
            time,
            line: Arc::clone(line),
        });
    }

    /// At most `count` lines as `page` asks, oldest first: reference counts, so the caller
    /// formats them after releasing the lock.
    pub fn page(&self, count: usize, page: Page) -> Vec<Entry> {
        let len = self.ring.len();
        let (start, end) = match page {
            Page::Latest => (len.saturating_sub(count), len),
            Page::Before(id) => {
                let end = self.ring.partition_point(|entry| entry.id < id);
                (end.saturating_sub(count), end)
            }
            Page::After(id) => {
                let start = self.ring.partition_point(|entry| entry.id <= id);
                (start, len.min(start.saturating_add(count)))
            }
        };
        self.ring.range(start..end).cloned().collect()
    }
}

/// The time to record a line with: now, to the millisecond.
pub fn now() -> UtcMillis {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    UtcMillis::saturating(millis)
}

#[cfg(test)]
mod tests;
