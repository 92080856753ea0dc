//! The `chatd-throttle` thread: brings back connections that flood control paused.
//!
//! A connection over its flood control (its lines, its bytes, or its address's budget; see
//! `flood`) ends its turn without reading further and without re-arming its read interest,
//! so its unread bytes stay in the kernel and TCP pushes back on the sender; no worker waits
//! for it. It is handed here with the instant its buckets hold tokens again, and this thread
//! ends its pause then, unless its peer hanging up ended it first.
//!
//! In scope: keeping the paused connections in order of resumption and waking on time. Out of
//! scope: the bucket arithmetic (`token_bucket`, `flood`), the pause and the turn (`connection`),
//! queueing the turn (the `resume` the wiring passes in: `Turns::resume`).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Weak};
use std::time::Instant;

use crossbeam_channel::{Receiver, select};

use crate::server::connection::Connection;

/// A paused connection and when its tokens are back.
pub struct Paused {
    pub at: Instant,
    /// Weak: a connection that ends while paused (its peer hung up, a timeout) is freed at
    /// once, its descriptor with it, not when its tokens would have come back.
    pub conn: Weak<Connection>,
}

/// Runs until `stop` receives or disconnects, calling `resume` with each paused connection
/// still open when its instant comes. Paused connections still held when it stops are
/// dropped: the server is shutting down and ends them itself.
pub fn run(paused: Receiver<Paused>, stop: Receiver<()>, resume: impl Fn(Arc<Connection>)) {
    let mut waiting = BinaryHeap::new();
    loop {
        // A channel that fires at the earliest resumption, or never when nobody is paused.
        let timer = waiting
            .peek()
            .map_or_else(crossbeam_channel::never, |next: &Earliest| {
                crossbeam_channel::at(next.0.at)
            });
        select! {
            recv(stop) -> _ => return,
            recv(paused) -> one => match one {
                Ok(one) => waiting.push(Earliest(one)),
                Err(_) => return,
            },
            recv(timer) -> _ => {}
        }
        let now = Instant::now();
        while waiting.peek().is_some_and(|next| next.0.at <= now) {
            let Earliest(due) = waiting.pop().expect("peeked");
            if let Some(conn) = due.conn.upgrade() {
                resume(conn);
            }
        }
    }
}

/// Orders the heap (a max-heap) so the earliest resumption is on top.
struct Earliest(Paused);

impl PartialEq for Earliest {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Earliest {}

impl PartialOrd for Earliest {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Earliest {
    fn cmp(&self, other: &Self) -> Ordering {
        other.0.at.cmp(&self.0.at)
    }
}
