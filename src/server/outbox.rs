//! A client's outbound queue: the [`Outbox`] that sessions and the registry push lines into,
//! and the end its writer thread takes them from.
//!
//! In scope: the byte bound (`--send-queue`), waking the writer (at once or deferred), the
//! [`Flush`] of an idle writer's queue by the thread that pushed, cutting a slow consumer's
//! socket, knowing when the last outbox is gone, and what `STATS` learns here: the bytes that
//! leave the queues, and when the oldest delivery a batch holds was read (`metrics`). Out of
//! scope: the writer thread (`writer`), the system calls (`socket_io`), deciding what to send
//! (`session`, `registry`), and counting queued bytes in (the pusher's, batched per fan-out).
//!
//! Children: `state` holds the queue's state and every change to it (pure: each critical
//! section here is one call there), `model_check` runs every interleaving of those calls.
//! [`Outbox::enqueue`] never makes a system call; [`Outbox::send_reply`] and [`Flush::run`]
//! do, without blocking.
//!
//! Why a `VecDeque` under a mutex rather than a channel. Measured with the load benchmark,
//! crossbeam's unbounded channel allocated a 31-slot block for every 31 lines queued to each
//! recipient, and the writers freed those blocks into glibc's per-thread caches, where they
//! stayed: about 3.5 KiB per idle client after 2,000 registrations. Its bounded flavour
//! allocates and touches every slot up front, which costs more than the client's socket. Here
//! a push appends to a deque whose capacity is reused, and the writer takes every queued line
//! in one lock by swapping the deque with its own empty one: no allocation per line, one lock
//! per batch. Why bytes rather than lines: the bound says what an operator cares about, how
//! much memory one stalled client can pin.
//!
//! So a line counts what it costs the server's memory, not its text alone ([`footprint`]):
//! counted as text, 190,000 unread `PONG`s (5 bytes each) passed for 780 KB of a 1 MiB queue
//! while they took 7.3 MiB (issue 13).

use std::cell::RefCell;
use std::collections::VecDeque;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::Thread;
use std::time::Instant;

use parking_lot::Mutex;

use crate::server::deferred_wake::{DeferredWakes, WakeDeferred, Window};
use crate::server::line::Line;
use crate::server::metrics::{Metrics, TurnClock};
use crate::server::socket_io::{self, ClientSocket};

mod state;

use state::{FlushStep, PushAction, State};
pub use state::{PushError, Taken, Wake, footprint};

/// The sending end of one client's queue. Cheap to clone; the writer ends once every clone
/// is dropped and the queue is drained.
#[derive(Debug)]
pub struct Outbox {
    queue: Arc<Queue>,
}

/// The state one client's outboxes and its writer share.
#[derive(Debug)]
pub struct Queue {
    state: Mutex<State>,
    limit: usize,
    /// The socket, to cut a slow consumer off even while its writer is blocked in `write`.
    /// Weak: only the connection and the writer keep the descriptor open. `None` for a
    /// detached queue.
    socket: Option<Weak<ClientSocket>>,
    /// Set by [`Outbox::cut`], so the session stops executing what the client still sent.
    cut: AtomicBool,
    /// Where deferred wake-ups go; `None` for a detached queue (it wakes nobody).
    deferred_wakes: Option<Arc<DeferredWakes<Queue>>>,
    /// The writer thread, to unpark it. Set once, right after it is spawned.
    writer: OnceLock<Thread>,
    /// Where writes, bytes leaving the queue and batch latencies are counted; `None` for a
    /// detached queue.
    metrics: Option<Arc<Metrics>>,
}

/// The right, claimed by a push, to write an idle client's queue from the pushing thread with
/// non-blocking sends, while the writer stays parked. Waking a writer thread costs a context
/// switch (on this kind of 2-core virtual machine, about 10 µs with its `write`); at 100,000
/// deliveries a second to idle clients that was more than one core. Whatever the socket does
/// not take at once goes back to the front of the queue and the writer is woken for it.
///
/// Run it as soon as no lock is held (the table lock must not wait on system calls).
/// A flush dropped without running (an unwinding worker, say) hands the queue to the writer,
/// so a claim can never leave a writer asleep with lines queued.
#[must_use = "run the flush; dropped, it leaves the writing to the writer thread"]
#[derive(Debug)]
pub struct Flush {
    /// `None` once run.
    queue: Option<Arc<Queue>>,
}

impl Drop for Flush {
    fn drop(&mut self) {
        if let Some(queue) = self.queue.take() {
            let unpark = queue.state.lock().end_flush(Instant::now);
            queue.unpark_writer_if(unpark);
        }
    }
}

thread_local! {
    /// The lines a thread's flush is writing: one deque per worker or waker, reused.
    static FLUSHING: RefCell<VecDeque<Line>> = const { RefCell::new(VecDeque::new()) };
}

impl Flush {
    /// Writes what the queue holds, without blocking, until it is empty or the socket is
    /// full; then hands the rest, if any, to the writer.
    pub fn run(mut self) {
        let Some(queue) = self.queue.take() else {
            return;
        };
        let queue = &*queue;
        let (Some(socket), Some(metrics)) = (queue.socket(), queue.metrics.as_ref()) else {
            // Nothing to write to: the writer takes over (and finds no socket either).
            let unpark = queue.state.lock().end_flush(Instant::now);
            queue.unpark_writer_if(unpark);
            return;
        };
        FLUSHING.with_borrow_mut(|lines| {
            let mut written = 0;
            // When the last send that emptied the queue ended, if the clock was read for it.
            let mut written_at = None;
            loop {
                let mut state = queue.state.lock();
                let (step, unqueued) =
                    state.flush_next(written, lines, || written_at.unwrap_or_else(Instant::now));
                drop(state);
                queue.unqueued(unqueued);
                let (front_written, oldest) = match step {
                    FlushStep::Done { unpark_writer } => {
                        queue.unpark_writer_if(unpark_writer);
                        return;
                    }
                    FlushStep::Send {
                        front_written,
                        oldest_delivery,
                    } => (front_written, oldest_delivery),
                };
                let sent = socket_io::send_without_blocking(
                    &socket,
                    lines,
                    front_written,
                    metrics.writes(),
                );
                // A line partly sent stays counted whole until its end is written.
                written = lines.drain(..sent.lines).map(|line| footprint(&line)).sum();
                if lines.is_empty() {
                    // Recorded before anything queued meanwhile is sent: a client that got
                    // the delivery and then a `PONG` finds it counted.
                    written_at = oldest.map(|since| {
                        let now = Instant::now();
                        metrics.written_since(since, now);
                        now
                    });
                    continue;
                }
                // The socket is full (or failing): the writer takes over, with the oldest
                // delivery's instant, which may be among what is left.
                let (unpark, unqueued) = queue.state.lock().flush_stopped(
                    written,
                    lines,
                    sent.front_written,
                    oldest,
                    Instant::now,
                );
                queue.unqueued(unqueued);
                queue.unpark_writer_if(unpark);
                return;
            }
        });
    }
}

impl Outbox {
    /// A queue with no socket and no writer: the returned end is the test's to read.
    #[cfg(test)]
    pub fn detached(limit: usize) -> (Outbox, DetachedQueue) {
        let queue = Queue::new(limit, None, None, None);
        let outbox = Outbox::new(&queue);
        (outbox, DetachedQueue { queue })
    }

    /// An outbox of `queue`, counted: the writer closes once the last one is dropped.
    pub fn new(queue: &Arc<Queue>) -> Outbox {
        queue.state.lock().outboxes += 1;
        Outbox {
            queue: Arc::clone(queue),
        }
    }

    /// Queues a reply without ever waiting, and writes it: from this thread, with system calls
    /// that do not block, if the writer is idle; else the writer does. Call it with no lock
    /// held.
    pub fn send_reply(&self, line: Line) -> Result<(), PushError> {
        let cost = footprint(&line);
        let flush = self.enqueue(line, Wake::Reply)?;
        if let Some(metrics) = &self.queue.metrics {
            metrics.queued(cost);
        }
        if let Some(flush) = flush {
            flush.run();
        }
        Ok(())
    }

    /// Queues a line without ever waiting or making a system call, and says who writes it:
    /// the writer, woken as `wake` says, or, if it is idle and the line should go now, the
    /// caller, with the returned [`Flush`], once it holds no lock.
    ///
    /// The caller counts the line's [`footprint`] as queued (`Metrics::queued`): a fan-out
    /// adds up its pushes and counts them once, not once per recipient.
    pub fn enqueue(&self, line: Line, wake: Wake) -> Result<Option<Flush>, PushError> {
        let queue = &*self.queue;
        let action = queue.state.lock().push(
            line,
            wake,
            queue.limit,
            TurnClock::turn_started,
            Instant::now,
        )?;
        match action {
            PushAction::Queued => Ok(None),
            PushAction::Flush => Ok(Some(Flush {
                queue: Some(Arc::clone(&self.queue)),
            })),
            PushAction::List(window) => {
                if let Some(deferred) = &queue.deferred_wakes {
                    deferred.add(Arc::clone(&self.queue), window);
                }
                Ok(None)
            }
        }
    }

    /// Bytes queued and not yet written, counted as [`footprint`]s.
    /// The most bytes (footprints) the queue holds before its client is a slow consumer
    /// (`--send-queue`): a long answer (`HISTORY`) is cut to fit well within it.
    pub fn limit(&self) -> usize {
        self.queue.limit
    }

    pub fn queued_bytes(&self) -> usize {
        self.queue.queued_bytes()
    }

    /// Cuts the connection now, queued lines or not: wakes a writer blocked on a stalled
    /// peer and makes the reader see the end of the stream. Returns whether this was the
    /// first cut, so a cut is counted once.
    pub fn cut(&self) -> bool {
        self.queue.cut()
    }

    /// Whether [`Outbox::cut`] was called.
    pub fn is_cut(&self) -> bool {
        self.queue.cut.load(Ordering::Relaxed)
    }

    /// The peer's address, for log lines about this client (`None` without a socket).
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.queue.socket()?.peer_addr().ok()
    }
}

impl Clone for Outbox {
    fn clone(&self) -> Outbox {
        Outbox::new(&self.queue)
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let unpark = self.queue.state.lock().drop_outbox();
        self.queue.unpark_writer_if(unpark);
    }
}

impl Queue {
    /// A queue of at most `limit` bytes. Only a detached queue (tests) goes without socket,
    /// waker list and totals.
    pub fn new(
        limit: usize,
        socket: Option<Weak<ClientSocket>>,
        deferred_wakes: Option<Arc<DeferredWakes<Queue>>>,
        metrics: Option<Arc<Metrics>>,
    ) -> Arc<Queue> {
        Arc::new(Queue {
            state: Mutex::default(),
            limit,
            socket,
            cut: AtomicBool::new(false),
            deferred_wakes,
            writer: OnceLock::new(),
            metrics,
        })
    }

    /// Records the writer thread, before any outbox is handed out.
    pub fn set_writer(&self, writer: Thread) {
        let _ = self.writer.set(writer);
    }

    /// The writer's side, once it has written all it took before: swaps everything queued
    /// into `into` (which must be empty), or says why there is nothing to write.
    pub fn take(&self, into: &mut VecDeque<Line>) -> Taken {
        let (taken, unqueued) = self.state.lock().take(into, Instant::now());
        self.unqueued(unqueued);
        taken
    }

    /// The writer stopped early: nothing more can be queued, and what was is dropped.
    pub fn writer_gone(&self) {
        let dropped = self.state.lock().writer_gone();
        self.unqueued(dropped);
    }

    /// Counts `bytes` that left the queue (written or dropped) off the server's total.
    fn unqueued(&self, bytes: usize) {
        if let Some(metrics) = &self.metrics {
            metrics.unqueued(bytes);
        }
    }

    pub fn queued_bytes(&self) -> usize {
        self.state.lock().bytes
    }

    /// Shuts the socket down both ways (an error means it already is) and marks the queue
    /// cut. Returns whether it was not cut before.
    pub fn cut(&self) -> bool {
        let first = !self.cut.swap(true, Ordering::Relaxed);
        if let Some(socket) = self.socket() {
            let _ = socket.shutdown(Shutdown::Both);
        }
        first
    }

    fn socket(&self) -> Option<Arc<ClientSocket>> {
        self.socket.as_ref()?.upgrade()
    }

    /// Unparks the writer if a change to the state handed it the right to write.
    fn unpark_writer_if(&self, unpark: bool) {
        if !unpark {
            return;
        }
        if let Some(writer) = self.writer.get() {
            writer.unpark();
        }
    }
}

impl WakeDeferred for Queue {
    /// At the end of `window`: if the writer still sleeps on queued lines, writes them from
    /// this thread without blocking, as a push to an idle writer does ([`Flush`]); the writer
    /// wakes only if the socket does not take them all.
    fn wake_deferred(self: Arc<Self>, window: Window) {
        if self.state.lock().wake_deferred(window) {
            Flush { queue: Some(self) }.run();
        }
    }
}

/// The reading end of a queue without a writer, for tests.
#[cfg(test)]
#[derive(Debug)]
pub struct DetachedQueue {
    queue: Arc<Queue>,
}

#[cfg(test)]
impl DetachedQueue {
    /// Takes every queued line, as the writer would after writing them.
    pub fn drain(&self) -> Vec<Line> {
        let mut state = self.queue.state.lock();
        state.bytes = 0;
        state.lines.drain(..).collect()
    }

    /// Lines queued.
    pub fn len(&self) -> usize {
        self.queue.state.lock().lines.len()
    }
}

#[cfg(test)]
impl Drop for DetachedQueue {
    fn drop(&mut self) {
        self.queue.writer_gone();
    }
}

#[cfg(test)]
mod model_check;
#[cfg(test)]
mod tests;
