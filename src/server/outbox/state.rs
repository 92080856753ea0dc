//! What one client's queue and everyone who writes it share, and every change to it.
//!
//! In scope: [`State`], the lines queued, their byte count ([`footprint`]) against the bound,
//! the kinds of line ([`Wake`]), and who holds the right to write the socket ([`Writing`]);
//! each critical section of `outbox` is one method here. Pure: no
//! lock, no system call, no clock read (the caller passes the instants), no metrics (a
//! method returns the bytes that left the queue and the caller counts them). That is what lets
//! `model_check` run every interleaving of these methods. Out of scope: the lock around it,
//! the socket, the writer thread and the waker threads (`outbox`, `writer`, `deferred_wake`).
//!
//! The right to write: exactly one of the writer thread, a [`Writing::Flush`] (a pusher's or
//! a waker's non-blocking write), or nobody (the writer is parked) may write the socket. A line
//! is queued by anyone; it is written by whoever holds the right, who looks at the queue again
//! under the lock before giving the right up. Giving it up with lines left, or with no outbox
//! left (the writer must close), hands it to the writer thread, which must then be unparked.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::server::deferred_wake::Window;
use crate::server::line::Line;

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

/// Why a line could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The line does not fit in `--send-queue` bytes (counted as [`footprint`]s): the client
    /// is a slow consumer.
    Full,
    /// The writer has stopped (the peer is gone); the connection is being torn down.
    Closed,
}

/// What kind of line is pushed, which says when its writer should wake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// A reply to the client's own command: at once, so that request and response (a `PING`
    /// barrier, say) never wait for a window.
    Reply,
    /// A line from someone else (`MSG`, `ALL`): at once, unless the queue was emptied less
    /// than [`STREAM_GAP`] ago, i.e. it is in the middle of a stream; then within the burst
    /// window, with the rest of the stream.
    Delivery,
    /// A lobby announcement: within the announcement window (100 ms), or with the next line that
    /// wakes the writer, so that a burst of registrations does not cost every client a
    /// wake-up and a `write` per line.
    Announcement,
}

/// A delivery this soon after its queue was written empty is taken to be part of a stream,
/// and waits for the burst window to be written with the lines after it.
pub const STREAM_GAP: Duration = Duration::from_millis(1);

/// A writer going idle shrinks its deques to this many lines (1 KiB each): thousands of idle
/// clients each keeping the high-water mark of a burst would add up. Not smaller, or a
/// stream of batches would regrow them after every pause.
pub(super) const IDLE_CAPACITY: usize = 64;

/// Who may write the socket now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Writing {
    /// Nobody: the writer found the queue empty and parked (or is about to). A push either
    /// claims the right for a [`Writing::Flush`] or lists the queue for a waker.
    Nobody,
    /// The writer thread: running, or unparked and about to run. A new queue starts here,
    /// since its writer thread starts by looking at the queue.
    #[default]
    Writer,
    /// A pusher or a waker writes the queue without blocking. The writer stays parked; a
    /// spurious return from `park` must neither write nor close.
    Flush,
}

/// What a successful push asks of the caller, who holds no lock by then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushAction {
    /// Nothing: whoever writes takes the line with the others, or a waker is due anyway.
    Queued,
    /// The caller now holds the right to write ([`Writing::Flush`]) and must run the flush.
    Flush,
    /// The queue must go on this window's waker list (it was not on it).
    List(Window),
}

/// What the writer thread finds when it looks at its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// Lines were moved into the writer's deque; the first has this many bytes written
    /// already. Once they are written, the fan-out latency is recorded from
    /// `oldest_delivery`, if given (see `metrics`).
    Lines {
        front_written: usize,
        oldest_delivery: Option<Instant>,
    },
    /// Nothing to write (or a flush holds the right): park, then look again.
    Nothing,
    /// Nothing queued and no outbox left: write nothing more, close.
    Closed,
}

/// The next step of a flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushStep {
    /// Send the lines moved into the flush's deque, the first from this byte on.
    Send {
        front_written: usize,
        oldest_delivery: Option<Instant>,
    },
    /// The flush is over; unpark the writer if `unpark_writer` (lines are left for it, or it
    /// must close).
    Done { unpark_writer: bool },
}

#[derive(Debug, Default)]
#[cfg_attr(test, derive(Clone))]
pub struct State {
    pub(super) lines: VecDeque<Line>,
    /// The [`footprint`]s of the lines queued and not yet written, including the batch the
    /// writer is writing and the lines a flush holds.
    pub(super) bytes: usize,
    /// The footprints of the batch the writer took last: given back when it takes again,
    /// which it does only once it has written the whole batch.
    in_flight: usize,
    /// Live outboxes. At zero nothing more can be queued: the writer drains and closes.
    pub(super) outboxes: usize,
    /// The writer has stopped (write error or detached reader dropped): pushes fail.
    writer_gone: bool,
    pub(super) writing: Writing,
    /// When the queue was last written empty, by the writer before it parked or by a flush: a
    /// delivery that comes sooner than [`STREAM_GAP`] later is part of a stream, and waits
    /// for the waker to be written with the lines after it.
    pub(super) emptied_at: Option<Instant>,
    /// The queue is on the waker's list for that window (indexed like `Window`), so it is
    /// put there once.
    pub(super) listed: [bool; 2],
    /// Bytes of the front line already written by a flush that could not write all of it.
    front_written: usize,
    /// When the turn that queued the oldest delivery still queued here started (see
    /// `metrics`): whoever writes the batch holding it records the fan-out latency. `None`
    /// when no delivery is queued, or none pushed during a turn.
    oldest_delivery: Option<Instant>,
}

/// The earlier of two instants, either of which may be missing.
fn older(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl State {
    /// Queues `line` if it fits in `limit` bytes, and says who writes it when. `turn_started`
    /// is the current turn's start, for a delivery's latency; `now` is read only when the
    /// answer depends on how long ago the queue was emptied.
    pub fn push(
        &mut self,
        line: Line,
        wake: Wake,
        limit: usize,
        turn_started: impl FnOnce() -> Option<Instant>,
        now: impl FnOnce() -> Instant,
    ) -> Result<PushAction, PushError> {
        if self.writer_gone {
            return Err(PushError::Closed);
        }
        let cost = footprint(&line);
        if self.bytes + cost > limit {
            return Err(PushError::Full);
        }
        self.bytes += cost;
        self.lines.push_back(line);
        if wake == Wake::Delivery && self.oldest_delivery.is_none() {
            self.oldest_delivery = turn_started();
        }
        if self.writing != Writing::Nobody {
            // The writer, or a flush, is busy and takes this line with the others.
            return Ok(PushAction::Queued);
        }
        if self.listed[Window::Burst.index()] && wake != Wake::Reply {
            // Written within the burst window anyway.
            return Ok(PushAction::Queued);
        }
        let window = match wake {
            Wake::Announcement => Window::Announcement,
            Wake::Delivery if self.emptied_within(STREAM_GAP, now()) => Window::Burst,
            Wake::Delivery | Wake::Reply => {
                self.writing = Writing::Flush;
                return Ok(PushAction::Flush);
            }
        };
        if std::mem::replace(&mut self.listed[window.index()], true) {
            return Ok(PushAction::Queued);
        }
        Ok(PushAction::List(window))
    }

    fn emptied_within(&self, gap: Duration, now: Instant) -> bool {
        self.emptied_at
            .is_some_and(|at| now.saturating_duration_since(at) < gap)
    }

    /// The writer thread looks at its queue, having written all it took before: moves
    /// everything queued into `into` (which must be empty), or says why there is nothing.
    /// Returns what it found and the bytes that left the queue (its previous batch).
    pub fn take(&mut self, into: &mut VecDeque<Line>, now: Instant) -> (Taken, usize) {
        let written = std::mem::take(&mut self.in_flight);
        self.bytes -= written;
        if self.writing == Writing::Flush {
            // A flush holds the right to write, and a spurious return from `park` brought the
            // writer here: it must neither write nor close now. The flush hands it the right
            // when it ends, if anything is left to do.
            return (Taken::Nothing, written);
        }
        if !self.lines.is_empty() {
            // Also after a spurious return from `park` with lines that wait for a waker: the
            // writer writes them, so nobody else may.
            self.writing = Writing::Writer;
            std::mem::swap(&mut self.lines, into);
            // No flush runs (checked above), so everything counted is in this batch.
            self.in_flight = self.bytes;
            let taken = Taken::Lines {
                front_written: std::mem::take(&mut self.front_written),
                oldest_delivery: self.oldest_delivery.take(),
            };
            return (taken, written);
        }
        if self.outboxes == 0 {
            return (Taken::Closed, written);
        }
        self.lines.shrink_to(IDLE_CAPACITY);
        into.shrink_to(IDLE_CAPACITY);
        self.writing = Writing::Nobody;
        self.emptied_at = Some(now);
        (Taken::Nothing, written)
    }

    /// A flush (holding the right) looks at the queue, `written` bytes of its last batch
    /// sent: moves everything queued into `into` (which must be empty) to send next, or ends.
    /// `emptied_at` is when the last send that emptied a batch ended, if known. Returns the
    /// step and the bytes that left the queue.
    pub fn flush_next(
        &mut self,
        written: usize,
        into: &mut VecDeque<Line>,
        emptied_at: impl FnOnce() -> Instant,
    ) -> (FlushStep, usize) {
        debug_assert_eq!(self.writing, Writing::Flush);
        self.bytes -= written;
        if self.lines.is_empty() || self.writer_gone {
            let unpark_writer = self.end_flush(emptied_at);
            return (FlushStep::Done { unpark_writer }, written);
        }
        std::mem::swap(&mut self.lines, into);
        let step = FlushStep::Send {
            front_written: std::mem::take(&mut self.front_written),
            oldest_delivery: self.oldest_delivery.take(),
        };
        (step, written)
    }

    /// A flush could not send all of `rest` (the socket is full or failing), `written` bytes
    /// of its batch sent: `rest` goes back in front of what was queued meanwhile, with the
    /// bytes of its first line already sent and the oldest delivery's instant, and the right
    /// to write goes to the writer. Returns whether to unpark it (always) and the bytes that
    /// left the queue.
    pub fn flush_stopped(
        &mut self,
        written: usize,
        rest: &mut VecDeque<Line>,
        front_written: usize,
        oldest_delivery: Option<Instant>,
        now: impl FnOnce() -> Instant,
    ) -> (bool, usize) {
        debug_assert_eq!(self.writing, Writing::Flush);
        self.bytes -= written;
        rest.append(&mut self.lines);
        std::mem::swap(&mut self.lines, rest);
        self.front_written = front_written;
        self.oldest_delivery = older(oldest_delivery, self.oldest_delivery);
        (self.end_flush(now), written)
    }

    /// A flush ends, whoever ran it (or it was dropped unrun): the right goes to the writer if
    /// lines are left for it or it must close, else to nobody, the queue emptied at
    /// `emptied_at`. Returns whether to unpark the writer.
    pub fn end_flush(&mut self, emptied_at: impl FnOnce() -> Instant) -> bool {
        debug_assert_eq!(self.writing, Writing::Flush);
        if !self.lines.is_empty() || self.outboxes == 0 {
            self.writing = Writing::Writer;
            return true;
        }
        self.writing = Writing::Nobody;
        self.emptied_at = Some(emptied_at());
        false
    }

    /// At the end of `window`: takes the queue off that list, and claims the right to write
    /// for a flush if the writer sleeps on queued lines. Returns whether to run the flush.
    pub fn wake_deferred(&mut self, window: Window) -> bool {
        self.listed[window.index()] = false;
        if self.writing == Writing::Nobody && !self.lines.is_empty() {
            self.writing = Writing::Flush;
            return true;
        }
        false
    }

    /// An outbox was dropped. Returns whether to unpark the writer: the last one hands it the
    /// right, so that it sees it must close. (A flush in progress does that when it ends.)
    pub fn drop_outbox(&mut self) -> bool {
        self.outboxes -= 1;
        if self.outboxes == 0 && self.writing == Writing::Nobody {
            self.writing = Writing::Writer;
            return true;
        }
        false
    }

    /// The writer stopped early: nothing more can be queued, and what was is dropped.
    /// Returns the bytes that left the queue.
    pub fn writer_gone(&mut self) -> usize {
        self.writer_gone = true;
        let dropped = std::mem::take(&mut self.bytes);
        self.in_flight = 0;
        self.front_written = 0;
        self.oldest_delivery = None;
        self.lines = VecDeque::new();
        dropped
    }
}

/// What `model_check` compares states by: every field but the instants, which it reduces to
/// whether they are set.
#[cfg(test)]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    pub lines: Vec<Line>,
    pub bytes: usize,
    pub in_flight: usize,
    pub outboxes: usize,
    pub writer_gone: bool,
    pub writing: Writing,
    pub emptied: bool,
    pub listed: [bool; 2],
    pub front_written: usize,
    pub oldest_delivery: bool,
}

#[cfg(test)]
impl State {
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint {
            lines: self.lines.iter().cloned().collect(),
            bytes: self.bytes,
            in_flight: self.in_flight,
            outboxes: self.outboxes,
            writer_gone: self.writer_gone,
            writing: self.writing,
            emptied: self.emptied_at.is_some(),
            listed: self.listed,
            front_written: self.front_written,
            oldest_delivery: self.oldest_delivery.is_some(),
        }
    }
}
