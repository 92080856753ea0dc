//! The writer threads: one per connection, draining its queue to the socket.
//!
//! In scope: batching queued lines into `writev` calls, the clean close (FIN after the last
//! queued line), keeping every writer's `JoinHandle`, and the write counters. Out of scope:
//! the queue itself and its bound (`outbox`), deciding what to send (`session`, `registry`)
//! and reading (`connection`).

use std::collections::{HashMap, VecDeque};
use std::io::{self, IoSlice, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;
use socket2::SockRef;

use crate::server::ConnId;
use crate::server::connection::discard_pending_input;
use crate::server::deferred_wake::DeferredWakes;
use crate::server::outbox::{Line, Outbox, Queue, Taken};

/// Writer threads only move bytes between a queue and a socket; a small stack lets thousands
/// of them live in little memory (only touched pages count: two, as measured).
const WRITER_STACK: usize = 64 * 1024;
/// At most this many lines (and `MAX_BATCH_BYTES`) go into one `writev`. Small enough that
/// the `iovec`s fit on the stack (1 KiB), large enough that a busy writer makes one call per
/// 64 lines.
const MAX_BATCH_LINES: usize = 64;
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Every running writer thread, so that none is detached: finished ones are joined as they
/// end, the rest at shutdown.
pub struct WriterSet {
    /// Guards the handles of live writers. A plain mutex: touched once per connect and per
    /// disconnect, never on the message path.
    running: Mutex<HashMap<ConnId, Running>>,
    /// Writers announce their end here so the owner can join them without waiting.
    exited: ExitChannel,
    totals: Arc<WriteTotals>,
    deferred: Arc<DeferredWakes>,
}

/// Counts over every writer (and flush), running or gone, for [`crate::server::Stats`]: the
/// load benchmark divides them by the lines it received.
#[derive(Debug, Default)]
pub(crate) struct WriteTotals {
    /// `writev` calls that wrote something.
    calls: AtomicU64,
    lines: AtomicU64,
}

struct Running {
    handle: JoinHandle<()>,
    /// The writer's queue: its size for monitoring, and its (weak) socket to cut a writer
    /// still running at the drain deadline.
    queue: Arc<Queue>,
}

struct ExitChannel {
    tx: Sender<ConnId>,
    rx: Receiver<ConnId>,
}

impl Default for ExitChannel {
    fn default() -> ExitChannel {
        let (tx, rx) = crossbeam_channel::unbounded();
        ExitChannel { tx, rx }
    }
}

impl WriteTotals {
    pub(crate) fn count(&self, calls: u64, lines: usize) {
        if calls > 0 {
            self.calls.fetch_add(calls, Ordering::Relaxed);
        }
        if lines > 0 {
            self.lines.fetch_add(lines as u64, Ordering::Relaxed);
        }
    }
}

impl WriterSet {
    /// An empty set whose outboxes leave deferred wake-ups with `deferred`.
    pub fn new(deferred: Arc<DeferredWakes>) -> WriterSet {
        WriterSet {
            running: Mutex::default(),
            exited: ExitChannel::default(),
            totals: Arc::default(),
            deferred,
        }
    }

    /// Starts the writer of connection `id` and returns the outbox that feeds it.
    pub fn spawn(
        &self,
        id: ConnId,
        socket: Arc<TcpStream>,
        send_queue: usize,
    ) -> io::Result<Outbox> {
        let queue = Queue::new(
            send_queue,
            Some(Arc::downgrade(&socket)),
            Some(Arc::clone(&self.deferred)),
            Some(Arc::clone(&self.totals)),
        );
        // Before the thread starts: a writer that finds no outbox closes at once.
        let outbox = Outbox::new(&queue);
        let writer = Writer {
            id,
            socket: Arc::clone(&socket),
            queue: Arc::clone(&queue),
            totals: Arc::clone(&self.totals),
        };
        let exited = self.exited.tx.clone();
        let handle = thread::Builder::new()
            .name(format!("chatd-writer-{id}"))
            .stack_size(WRITER_STACK)
            .spawn(move || {
                writer.run();
                // The set may already be gone at the very end of a shutdown; nothing to tell.
                let _ = exited.send(id);
            })?;
        // Before the outbox is handed out, so that every push can unpark the writer.
        queue.set_writer(handle.thread().clone());
        let running = Running { handle, queue };
        self.running.lock().insert(id, running);
        Ok(outbox)
    }

    /// Joins the writers that have ended so far. Cheap when none has.
    pub fn reap(&self) {
        for id in self.exited.rx.try_iter() {
            self.join(id);
        }
    }

    /// Live writer threads.
    pub fn len(&self) -> usize {
        self.running.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `writev` calls made and lines written, by every writer so far.
    pub fn write_totals(&self) -> (u64, u64) {
        let totals = &self.totals;
        (
            totals.calls.load(Ordering::Relaxed),
            totals.lines.load(Ordering::Relaxed),
        )
    }

    /// The fullest queue right now, in bytes (for monitoring and tests).
    pub fn max_queued_bytes(&self) -> usize {
        let running = self.running.lock();
        running
            .values()
            .map(|r| r.queue.queued_bytes())
            .max()
            .unwrap_or(0)
    }

    /// Waits until every writer has drained its queue and ended, or the deadline passes; then
    /// cuts the sockets of the ones still writing and joins them all. Call only once nothing
    /// can start a writer any more and every outbox has been dropped. Returns how many had to
    /// be cut.
    pub fn join_all(&self, deadline: Instant) -> usize {
        self.reap();
        while !self.is_empty() {
            match self.exited.rx.recv_deadline(deadline) {
                Ok(id) => self.join(id),
                Err(_) => break,
            }
        }
        let late: Vec<(ConnId, Running)> = self.running.lock().drain().collect();
        for (_, running) in &late {
            running.queue.cut();
        }
        let cut = late.len();
        for (id, running) in late {
            if running.handle.join().is_err() {
                log::error!("conn#{id}: writer thread panicked");
            }
        }
        cut
    }

    fn join(&self, id: ConnId) {
        let running = self.running.lock().remove(&id);
        if let Some(running) = running
            && running.handle.join().is_err()
        {
            log::error!("conn#{id}: writer thread panicked");
        }
    }
}

/// The thread that owns the writing half of one socket.
struct Writer {
    id: ConnId,
    socket: Arc<TcpStream>,
    queue: Arc<Queue>,
    totals: Arc<WriteTotals>,
}

impl Writer {
    fn run(self) {
        let mut taken = VecDeque::new();
        let mut written = 0;
        loop {
            let front_written = match self.queue.take(&mut taken, std::mem::take(&mut written)) {
                Taken::Lines { front_written } => front_written,
                // An unpark that came first makes `park` return at once; a spurious return
                // just takes again.
                Taken::Nothing => {
                    thread::park();
                    continue;
                }
                // Every outbox is gone and the queue is empty: this comes after the last
                // queued line (e.g. `BYE`).
                Taken::Closed => break,
            };
            match self.write_lines(&mut taken, front_written) {
                Ok(bytes) => written = bytes,
                Err(error) => {
                    log::debug!("conn#{}: write failed: {error}", self.id);
                    self.queue.writer_gone();
                    // Make the reading side see the end too, so the connection is torn down.
                    let _ = self.socket.shutdown(Shutdown::Both);
                    return;
                }
            }
        }
        self.close_cleanly();
    }

    /// Writes and removes every line of `lines`, `MAX_BATCH_LINES` per `writev` at most, the
    /// first from byte `front_written` on; returns the bytes written.
    fn write_lines(&self, lines: &mut VecDeque<Line>, front_written: usize) -> io::Result<usize> {
        let mut total = 0;
        let mut skip = front_written;
        while !lines.is_empty() {
            let mut iovecs = [IoSlice::new(&[]); MAX_BATCH_LINES];
            let (count, bytes) = fill_batch(&mut iovecs, lines.iter(), skip);
            let written = write_all(&self.socket, &mut iovecs[..count]);
            let lines_written = if written.result.is_ok() { count } else { 0 };
            self.totals.count(written.calls, lines_written);
            written.result?;
            lines.drain(..count);
            total += bytes;
            skip = 0;
        }
        Ok(total)
    }

    /// Sends FIN after the last line.
    // Out of line: its 4 KiB discard buffer would otherwise sit in `run`'s frame and make
    // every idle writer keep a third stack page resident.
    #[inline(never)]
    #[cold]
    fn close_cleanly(&self) {
        discard_pending_input(&self.socket);
        let _ = self.socket.shutdown(Shutdown::Write);
    }
}

struct Written {
    /// `writev` calls that wrote something.
    calls: u64,
    result: io::Result<()>,
}

/// Writes all of `slices`, blocking, with as few `writev` calls as the socket allows.
fn write_all(mut socket: &TcpStream, mut slices: &mut [IoSlice<'_>]) -> Written {
    let mut calls = 0;
    while !slices.is_empty() {
        let error = match socket.write_vectored(slices) {
            Ok(0) => io::ErrorKind::WriteZero.into(),
            Ok(n) => {
                calls += 1;
                IoSlice::advance_slices(&mut slices, n);
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => e,
        };
        return Written {
            calls,
            result: Err(error),
        };
    }
    Written {
        calls,
        result: Ok(()),
    }
}

/// What [`send_without_blocking`] got out.
pub(crate) struct Sent {
    /// Lines written in full.
    pub lines: usize,
    pub bytes: usize,
    /// Bytes written of the line after those, if the socket took part of it.
    pub front_written: usize,
}

/// Writes as many of `lines` (the first from byte `front_written` on) as the socket takes
/// without blocking. Used by a [`crate::server::outbox::Flush`], on the pushing thread.
pub(crate) fn send_without_blocking(
    socket: &TcpStream,
    lines: &VecDeque<Line>,
    front_written: usize,
    totals: &WriteTotals,
) -> Sent {
    let socket = SockRef::from(socket);
    let mut sent = Sent {
        lines: 0,
        bytes: 0,
        front_written,
    };
    let mut calls = 0;
    while sent.lines < lines.len() {
        let mut iovecs = [IoSlice::new(&[]); MAX_BATCH_LINES];
        let batch = lines.range(sent.lines..);
        let (count, bytes) = fill_batch(&mut iovecs, batch, sent.front_written);
        let n = match socket.send_vectored_with_flags(&iovecs[..count], SEND_NOW) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Full (`WouldBlock`) or failing: the writer takes over, and meets any error
            // itself.
            Err(_) => break,
        };
        calls += 1;
        sent.bytes += n;
        // Which lines that covered, and how far into the next one.
        let mut left = n + sent.front_written;
        for line in lines.range(sent.lines..sent.lines + count) {
            if left < line.len() {
                break;
            }
            left -= line.len();
            sent.lines += 1;
        }
        sent.front_written = left;
        if n < bytes {
            break;
        }
    }
    // Once per flush: the totals are shared by every thread that writes.
    totals.count(calls, sent.lines);
    sent
}

/// `send` flags of a flush: never block; a closed peer gives `EPIPE`, not `SIGPIPE`.
const SEND_NOW: i32 = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;

/// Points `iovecs` at the first `lines` (the first from byte `skip` on), at most
/// `MAX_BATCH_BYTES` of them unless one line is longer; returns how many and their bytes.
fn fill_batch<'a>(
    iovecs: &mut [IoSlice<'a>; MAX_BATCH_LINES],
    lines: impl Iterator<Item = &'a Line>,
    skip: usize,
) -> (usize, usize) {
    let mut bytes = 0;
    let mut count = 0;
    for (iovec, line) in iovecs.iter_mut().zip(lines) {
        let rest = &line.as_bytes()[if count == 0 { skip } else { 0 }..];
        if count > 0 && bytes + rest.len() > MAX_BATCH_BYTES {
            break;
        }
        *iovec = IoSlice::new(rest);
        bytes += rest.len();
        count += 1;
    }
    (count, bytes)
}
