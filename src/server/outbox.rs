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

use parking_lot::{Mutex, MutexGuard};

use crate::server::deferred_wake::{DeferredWakes, WakeDeferred, Window};
use crate::server::line::Line;
use crate::server::metrics::{Metrics, TurnClock};
use crate::server::socket_io::{self, ClientSocket};

/// What one queued line costs, beyond its text: its `Arc` header (two reference counts), the
/// allocator's header, and its slot in the queue. A slot is a fat pointer; the queue grows by
/// doubling, so it may hold up to as many empty slots again: two slots per line.
const ARC_HEADER: usize = 2 * std::mem::size_of::<usize>();
const MALLOC_HEADER: usize = std::mem::size_of::<usize>();
/// glibc's allocations come in 16-byte steps, at least 32 bytes.
const MALLOC_ALIGN: usize = 16;
const MALLOC_MIN: usize = 32;
const QUEUE_SLOTS: usize = 2 * std::mem::size_of::<Line>();

/// The bytes a queued line is counted for against `--send-queue`: its allocation (text, `Arc`
/// header and allocator header, rounded up to the allocator's 16-byte step, at least 32) plus
/// two queue slots. On 64-bit Linux: `"PONG\n"` counts 64, a 4,096-byte line 4,160. A line
/// shared by many queues (a broadcast) is counted whole in each, so the bound errs on the
/// safe side.
pub fn footprint(line: &Line) -> usize {
    let allocation = (line.len() + ARC_HEADER + MALLOC_HEADER).next_multiple_of(MALLOC_ALIGN);
    allocation.max(MALLOC_MIN) + QUEUE_SLOTS
}

/// The earlier of two instants, either of which may be missing.
fn older(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A writer going idle shrinks its deques to this many lines (1 KiB each): thousands of idle
/// clients each keeping the high-water mark of a burst would add up. Not smaller, or a
/// stream of batches would regrow them after every pause.
const IDLE_CAPACITY: usize = 64;

/// Why a line could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The line does not fit in `--send-queue` bytes (counted as [`footprint`]s): the client
    /// is a slow consumer.
    Full,
    /// The writer has stopped (the peer is gone); the connection is being torn down.
    Closed,
}

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

#[derive(Debug, Default)]
struct State {
    lines: VecDeque<Line>,
    /// The [`footprint`]s of the lines queued and not yet written, including the batch the
    /// writer is writing and the lines a flush holds.
    bytes: usize,
    /// The footprints of the batch the writer took last: given back when it takes again,
    /// which it does only once it has written the whole batch.
    in_flight: usize,
    /// Live [`Outbox`]es. At zero nothing more can be queued: the writer drains and closes.
    outboxes: usize,
    /// The writer has stopped (write error or detached reader dropped): pushes fail.
    writer_gone: bool,
    /// The writer found the queue empty and parked (or is about to): a push must unpark it,
    /// now or through the waker. The writer parks itself rather than blocking in a channel's
    /// `recv`, which spins and calls `sched_yield` first: with thousands of writers woken by
    /// each broadcast, that yielding took a third of the server's CPU time.
    parked: bool,
    /// When the queue was last written empty, by the writer before it parked or by a flush: a
    /// delivery that comes sooner than a burst window later is part of a stream, and waits
    /// for the waker to be written with the lines after it.
    emptied_at: Option<Instant>,
    /// The queue is on the waker's list for that window (indexed like `Window`), so it is
    /// put there once.
    listed: [bool; 2],
    /// A pusher is writing the queue itself ([`Flush`]). The writer stays parked meanwhile,
    /// and nobody else writes the socket or wakes the writer.
    flushing: bool,
    /// Bytes of the front line already written by a flush that could not write all of it.
    front_written: usize,
    /// When the turn that queued the oldest delivery still queued here started (see
    /// `metrics`): whoever writes the batch holding it records the fan-out latency. `None`
    /// when no delivery is queued, or none pushed during a turn.
    oldest_delivery: Option<Instant>,
}

/// What kind of line is pushed, which says when its writer should wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A reply to the client's own command: at once, so that request and response (a `PING`
    /// barrier, say) never wait for a window.
    Reply,
    /// A line from someone else (`MSG`, `ALL`): at once, unless the queue was emptied less
    /// than a burst window (1 ms) ago, i.e. it is in the middle of a stream; then within that
    /// window, with the rest of the stream.
    Delivery,
    /// A lobby announcement: within the announcement window (100 ms), or with the next line that
    /// wakes the writer, so that a burst of registrations does not cost every client a
    /// wake-up and a `write` per line.
    Announcement,
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
            queue.end_flush(queue.state.lock(), None);
        }
    }
}

thread_local! {
    /// The lines a worker's flush is writing: one deque per worker, reused.
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
        let socket = queue.socket();
        FLUSHING.with_borrow_mut(|lines| {
            let mut written = 0;
            // When the last send that emptied the queue ended, if the clock was read for it.
            let mut written_at = None;
            loop {
                let mut state = queue.state.lock();
                queue.give_back(&mut state, written);
                if state.lines.is_empty() || state.writer_gone {
                    queue.end_flush(state, written_at);
                    return;
                }
                let (Some(socket), Some(metrics)) = (&socket, &queue.metrics) else {
                    queue.end_flush(state, None);
                    return;
                };
                let front_written = std::mem::take(&mut state.front_written);
                let oldest = state.oldest_delivery.take();
                std::mem::swap(&mut state.lines, lines);
                drop(state);
                let writes = metrics.writes();
                let sent = socket_io::send_without_blocking(socket, lines, front_written, writes);
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
                // The socket is full (or failing): what is left goes back in front of what
                // was queued meanwhile, and the writer takes over, with the oldest delivery's
                // instant, which may be among what is left.
                let mut state = queue.state.lock();
                queue.give_back(&mut state, written);
                lines.append(&mut state.lines);
                std::mem::swap(&mut state.lines, lines);
                state.front_written = sent.front_written;
                state.oldest_delivery = older(oldest, state.oldest_delivery);
                queue.end_flush(state, None);
                return;
            }
        });
    }
}

/// What the writer gets from [`Queue::take`].
pub enum Taken {
    /// Lines were moved into the writer's deque; the first has this many bytes written
    /// already. Once they are written, the fan-out latency is recorded from
    /// `oldest_delivery`, if given (see `metrics`).
    Lines {
        front_written: usize,
        oldest_delivery: Option<Instant>,
    },
    /// Nothing queued; the writer was marked parked and must park, then take again.
    Nothing,
    /// Nothing queued and no outbox left: write nothing more, close.
    Closed,
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

    /// Queues a reply without ever waiting, and has it written now: by this thread if the
    /// writer is idle and the socket takes it at once, else by the writer. Call it with no
    /// lock held.
    pub fn push(&self, line: Line) -> Result<(), PushError> {
        let cost = footprint(&line);
        let flush = self.push_waking(line, Wake::Reply)?;
        if let Some(metrics) = &self.queue.metrics {
            metrics.queued(cost);
        }
        if let Some(flush) = flush {
            flush.run();
        }
        Ok(())
    }

    /// Queues a line without ever waiting. The writer wakes as `wake` says; or, if it is idle
    /// and the line should go now, the caller gets the [`Flush`] to write it itself.
    ///
    /// The caller counts the line's [`footprint`] as queued (`Metrics::queued`): a fan-out
    /// adds up its pushes and counts them once, not once per recipient.
    pub fn push_waking(&self, line: Line, wake: Wake) -> Result<Option<Flush>, PushError> {
        let queue = &*self.queue;
        let mut state = queue.state.lock();
        if state.writer_gone {
            return Err(PushError::Closed);
        }
        let cost = footprint(&line);
        if state.bytes + cost > queue.limit {
            return Err(PushError::Full);
        }
        state.bytes += cost;
        state.lines.push_back(line);
        if wake == Wake::Delivery && state.oldest_delivery.is_none() {
            state.oldest_delivery = TurnClock::turn_started();
        }
        if !state.parked || state.flushing {
            // The writer, or a flush, is busy and takes this line with the others.
            return Ok(None);
        }
        if state.listed[Window::Burst.index()] && wake != Wake::Reply {
            // Woken within a millisecond anyway.
            return Ok(None);
        }
        let window = match wake {
            Wake::Announcement => Window::Announcement,
            Wake::Delivery if state.emptied_recently() => Window::Burst,
            Wake::Delivery | Wake::Reply => {
                state.flushing = true;
                return Ok(Some(Flush {
                    queue: Some(Arc::clone(&self.queue)),
                }));
            }
        };
        if !std::mem::replace(&mut state.listed[window.index()], true) {
            drop(state);
            if let Some(deferred) = &queue.deferred_wakes {
                deferred.add(Arc::clone(&self.queue), window);
            }
        }
        Ok(None)
    }

    /// Bytes queued and not yet written, counted as [`footprint`]s.
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
        let mut state = self.queue.state.lock();
        state.outboxes -= 1;
        // A flush in progress wakes the writer itself when it ends.
        if state.outboxes == 0 && state.parked && !state.flushing {
            // The writer must see that it is done.
            state.parked = false;
            drop(state);
            self.queue.unpark_writer();
        }
    }
}

impl State {
    fn emptied_recently(&self) -> bool {
        self.emptied_at
            .is_some_and(|at| at.elapsed() < Window::Burst.length())
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

    /// The writer's side: first gives back the count of its previous batch (it takes again
    /// only once it has written all of it), then swaps everything queued into `into` (which
    /// must be empty), or marks the writer parked.
    pub fn take(&self, into: &mut VecDeque<Line>) -> Taken {
        let mut state = self.state.lock();
        let written = std::mem::take(&mut state.in_flight);
        self.give_back(&mut state, written);
        if state.flushing {
            // A worker is writing the queue, and a spurious return from `park` brought the
            // writer here: it must neither write nor close now. The flush wakes it when it
            // ends, if anything is left to do.
            return Taken::Nothing;
        }
        if !state.lines.is_empty() {
            std::mem::swap(&mut state.lines, into);
            // No flush runs (checked above), so everything counted is in this batch.
            state.in_flight = state.bytes;
            let front_written = std::mem::take(&mut state.front_written);
            return Taken::Lines {
                front_written,
                oldest_delivery: state.oldest_delivery.take(),
            };
        }
        if state.outboxes == 0 {
            return Taken::Closed;
        }
        state.lines.shrink_to(IDLE_CAPACITY);
        into.shrink_to(IDLE_CAPACITY);
        state.parked = true;
        state.emptied_at = Some(Instant::now());
        Taken::Nothing
    }

    /// The writer stopped early: nothing more can be queued, and what was is dropped.
    pub fn writer_gone(&self) {
        let mut state = self.state.lock();
        state.writer_gone = true;
        let dropped = state.bytes;
        self.give_back(&mut state, dropped);
        state.in_flight = 0;
        state.front_written = 0;
        state.oldest_delivery = None;
        state.lines = VecDeque::new();
    }

    /// Takes `bytes` that left the queue (written or dropped) off its count and the
    /// server's.
    fn give_back(&self, state: &mut State, bytes: usize) {
        state.bytes -= bytes;
        if let Some(metrics) = &self.metrics {
            metrics.unqueued(bytes);
        }
    }

    /// Ends a flush: the writer wakes if lines are left for it, or if it must close.
    /// `written_at` is when the flush's last send ended, if the clock was read then: the
    /// instant the queue was emptied, without reading the clock again.
    fn end_flush(&self, mut state: MutexGuard<'_, State>, written_at: Option<Instant>) {
        state.flushing = false;
        if state.lines.is_empty() {
            state.emptied_at = Some(written_at.unwrap_or_else(Instant::now));
        }
        if !state.lines.is_empty() || state.outboxes == 0 {
            state.parked = false;
            drop(state);
            self.unpark_writer();
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

    fn unpark_writer(&self) {
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
        let mut state = self.state.lock();
        state.listed[window.index()] = false;
        if state.parked && !state.flushing && !state.lines.is_empty() {
            state.flushing = true;
            drop(state);
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
mod tests;
