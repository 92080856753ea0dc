//! Deferred writer wake-ups: the `chatd-waker-*` threads wake parked writers a short window
//! after a line was queued for them, so that many lines share one wake-up and one `writev`.
//!
//! In scope: the lists of queues due a wake-up, one per [`Window`], and the threads that wake
//! them (`chatd-waker-announce`, `chatd-waker-burst`). Out of scope: the queues themselves, the
//! choice of window and what waking means (`outbox`, which implements [`WakeDeferred`] for
//! its queue), and which lines are announcements (`registry`).
//!
//! Why: waking a writer costs a context switch and a `write`. Two kinds of traffic made the
//! server pay that per line:
//! - announcements go to every registered client, so K clients registering queue K²/2 lines;
//!   woken per line, 2,000 clients took 24 s to register (and with a 10 ms window, the rounds
//!   of wake-ups still kept the CPU busy);
//! - a fan-out at full speed gives each writer a line every few microseconds; woken per line,
//!   writers wrote 3 lines per `writev` and the server spent 5 µs of CPU per delivered line.
//!
//! A line that may wait is queued without waking the writer, and the queue goes on a list. One
//! window after the list's first entry the waker has everything on it written: from its own
//! thread, without blocking, where the socket takes it all, and by the writer, woken, where it
//! does not (issue 14: a wake-up cost a context switch and a `writev` of 1.7 lines). The queue is
//! FIFO and any other wake-up writes the deferred lines too, so order never changes: only the
//! moment a line is written, by at most its window.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// How long a deferred wake-up may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// Lobby announcements: hardly noticeable to a person, long enough that thousands of
    /// registrations share each wake-up.
    Announcement,
    /// A line for a queue written empty less than a millisecond ago, i.e. one in the middle of
    /// a stream: adds at most this much latency, and batches a busy stream. 0.2 ms rather
    /// than the 1 ms it was (issue 14): paced at 100,000 deliveries/s, p99 2.12 -> 1.23 ms at
    /// the same CPU per delivery; fan-out and direct lost 5-7 % of their throughput (3 runs
    /// each, alternated; with no wait at all, direct lost 20 %).
    Burst,
}

impl Window {
    pub const fn length(self) -> Duration {
        match self {
            Window::Announcement => Duration::from_millis(100),
            Window::Burst => Duration::from_micros(200),
        }
    }

    /// For the thread's name.
    pub const fn name(self) -> &'static str {
        match self {
            Window::Announcement => "announce",
            Window::Burst => "burst",
        }
    }

    pub const ALL: [Window; 2] = [Window::Announcement, Window::Burst];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// What a list holds: something to wake at the end of its window.
pub trait WakeDeferred {
    /// Called by the window's thread, with no lock of the list held.
    fn wake_deferred(self: Arc<Self>, window: Window);
}

/// One list per window, each with its own thread: a round that wakes thousands of writers
/// for announcements must not hold up the burst window's fraction of a millisecond. Generic so that the
/// queues it wakes (`outbox`) can name it without it naming them; `Q` is always the outbox's
/// queue.
#[derive(Debug)]
pub struct DeferredWakes<Q> {
    lists: [Waker<Q>; 2],
}

#[derive(Debug)]
struct Waker<Q> {
    state: Mutex<List<Q>>,
    changed: Condvar,
}

#[derive(Debug)]
struct List<Q> {
    /// Queues whose parked writer must wake, each at most once (the queue keeps a flag).
    due: Vec<Arc<Q>>,
    /// When the first of them was listed: the list is woken one window later.
    since: Option<Instant>,
    stopping: bool,
}

impl<Q> Default for DeferredWakes<Q> {
    fn default() -> Self {
        let waker = || Waker {
            state: Mutex::new(List {
                due: Vec::new(),
                since: None,
                stopping: false,
            }),
            changed: Condvar::new(),
        };
        DeferredWakes {
            lists: [waker(), waker()],
        }
    }
}

impl<Q: WakeDeferred> DeferredWakes<Q> {
    /// Lists a queue whose parked writer must wake within `window`.
    pub fn add(&self, queue: Arc<Q>, window: Window) {
        let waker = &self.lists[window.index()];
        let mut list = waker.state.lock();
        list.due.push(queue);
        if list.since.is_none() {
            list.since = Some(Instant::now());
            waker.changed.notify_one();
        }
    }

    /// Queues listed for `window` and not yet woken.
    #[cfg(test)]
    pub fn due(&self, window: Window) -> usize {
        self.lists[window.index()].state.lock().due.len()
    }

    /// Makes every [`DeferredWakes::run`] wake the writers still listed and return.
    pub fn stop(&self) {
        for waker in &self.lists {
            waker.state.lock().stopping = true;
            waker.changed.notify_one();
        }
    }

    /// The thread of one window: sleeps until a queue is listed, lets the window pass, wakes
    /// every writer listed meanwhile, and so on until stopped.
    pub fn run(&self, window: Window) {
        let waker = &self.lists[window.index()];
        // Reused, so that a round allocates nothing once it has grown.
        let mut due: Vec<Arc<Q>> = Vec::new();
        let mut list = waker.state.lock();
        loop {
            match list.since {
                None if list.stopping => return,
                None => waker.changed.wait(&mut list),
                Some(since) => {
                    let ends = since + window.length();
                    if !list.stopping && Instant::now() < ends {
                        waker.changed.wait_until(&mut list, ends);
                        continue;
                    }
                    list.since = None;
                    std::mem::swap(&mut list.due, &mut due);
                    // A write or an unpark is a system call per queue: not under the lock
                    // pushes take.
                    drop(list);
                    for queue in due.drain(..) {
                        queue.wake_deferred(window);
                    }
                    list = waker.state.lock();
                }
            }
        }
    }
}
