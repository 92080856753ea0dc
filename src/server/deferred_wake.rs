//! Deferred writer wake-ups, for lines that may wait a moment: the lobby announcements
//! (`JOIN`, `NICK`, `QUIT`).
//!
//! In scope: the list of queues with deferred lines and the `chatd-waker` thread that wakes
//! their writers one [`WINDOW`] after the first of them was queued. Out of scope: the queues
//! themselves (`outbox`) and which lines are deferred (`registry`).
//!
//! Why: an announcement goes to every registered client, so K clients registering queue K²/2
//! lines. Waking each recipient's writer for each of them costs a context switch and a
//! `write` per line: 2,000 clients took 24 s to register. Deferred, each writer wakes about
//! once per window and writes every announcement queued meanwhile in one `writev`. Any other
//! line queued for the client (its own replies, `MSG`, `ALL`) wakes the writer at once, and the
//! queue is FIFO, so the deferred lines go out before it: order never changes, only the
//! moment a lone announcement is written.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::server::outbox::Queue;

/// How long a deferred line may wait for its writer. Invisible to a person; long enough that
/// thousands of registrations share each wake-up.
pub const WINDOW: Duration = Duration::from_millis(10);

#[derive(Debug, Default)]
pub struct DeferredWakes {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Queues with deferred lines for a parked writer, each at most once.
    due: Vec<Arc<Queue>>,
    stopping: bool,
}

impl DeferredWakes {
    /// Adds a queue whose parked writer must wake at the end of the window.
    pub(crate) fn add(&self, queue: Arc<Queue>) {
        let mut state = self.state.lock();
        state.due.push(queue);
        if state.due.len() == 1 {
            self.changed.notify_one();
        }
    }

    /// Queues waiting for the end of the window.
    #[cfg(test)]
    pub fn due(&self) -> usize {
        self.state.lock().due.len()
    }

    /// Makes [`DeferredWakes::run`] wake every writer still due and return.
    pub fn stop(&self) {
        self.state.lock().stopping = true;
        self.changed.notify_one();
    }

    /// The `chatd-waker` thread: waits for a first deferred writer, lets the window pass,
    /// then wakes every writer that became due meanwhile.
    pub fn run(&self) {
        loop {
            let mut state = self.state.lock();
            while state.due.is_empty() && !state.stopping {
                self.changed.wait(&mut state);
            }
            let window_ends = Instant::now() + WINDOW;
            while !state.stopping {
                if self.changed.wait_until(&mut state, window_ends).timed_out() {
                    break;
                }
            }
            let due = std::mem::take(&mut state.due);
            let stopping = state.stopping;
            drop(state);
            for queue in due {
                queue.wake_deferred();
            }
            if stopping {
                return;
            }
        }
    }
}
