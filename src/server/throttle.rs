//! The `chatd-throttle` thread: brings back connections that flood control paused.
//!
//! A connection over its `--rate` ends its turn without reading further and without re-arming
//! the poller, so its unread bytes stay in the kernel and TCP pushes back on the sender; no
//! worker waits for it. It hands itself here with the instant its bucket holds tokens again,
//! and this thread queues its next turn then.
//!
//! In scope: keeping the paused connections in order of resumption and waking on time. Out of
//! scope: the bucket arithmetic (`token_bucket`) and the turn itself (`connection`).

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, select};

use crate::server::connection::Connection;
use crate::server::{Shared, poller};

/// A paused connection and when to resume it.
pub struct Resume {
    pub at: Instant,
    pub conn: Arc<Connection>,
}

/// Where turns hand their paused connections.
pub type Resumes = Sender<Resume>;

/// Runs until `stop` receives or disconnects. Paused connections still held then are
/// dropped: the server is shutting down and ends them itself.
pub fn run(shared: Arc<Shared>, resumes: Receiver<Resume>, stop: Receiver<()>) {
    let mut paused = BinaryHeap::new();
    loop {
        // A channel that fires at the earliest resumption, or never when nobody is paused.
        let timer = paused
            .peek()
            .map_or_else(crossbeam_channel::never, |next: &Earliest| {
                crossbeam_channel::at(next.0.at)
            });
        select! {
            recv(stop) -> _ => return,
            recv(resumes) -> resume => match resume {
                Ok(resume) => paused.push(Earliest(resume)),
                Err(_) => return,
            },
            recv(timer) -> _ => {}
        }
        let now = Instant::now();
        while paused.peek().is_some_and(|next| next.0.at <= now) {
            let Earliest(resume) = paused.pop().expect("peeked");
            poller::schedule(&shared, resume.conn);
        }
    }
}

/// Orders the heap (a max-heap) so the earliest resumption is on top.
struct Earliest(Resume);

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
