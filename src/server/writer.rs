//! Outbound side of a connection: the bounded [`Outbox`] everyone enqueues into, and the
//! writer thread that drains it to the socket.
//!
//! In scope: the queue and its byte bound, batching queued lines into one `writev`, the clean
//! close (FIN after the last queued line), and keeping every writer's `JoinHandle`.
//! Out of scope: deciding what to send (`session`, `registry`) and reading (`connection`).
//!
//! Why bytes and an unbounded channel under a counter, rather than `crossbeam::bounded(n)`:
//! a bounded channel allocates and touches all `n` slots up front, which for thousands of idle
//! clients costs more memory than their sockets; a byte bound also says what an operator cares
//! about (how much memory one stalled client can pin).

use std::collections::HashMap;
use std::io::{self, IoSlice, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use parking_lot::Mutex;

use crate::server::ConnId;
use crate::server::connection::discard_pending_input;

/// A line ready for the wire, `\n` included. Shared by every recipient of a broadcast, so a
/// delivery costs a reference count, not a copy.
pub type Line = Arc<str>;

/// Writer threads only move bytes between a queue and a socket; a small stack lets thousands
/// of them live in little memory (only touched pages count).
const WRITER_STACK: usize = 64 * 1024;
/// At most this many lines (and `MAX_BATCH_BYTES`) go into one `writev`.
const MAX_BATCH_LINES: usize = 512;
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Why a line could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError {
    /// The queue holds `--send-queue` bytes already: the client is a slow consumer.
    Full,
    /// The writer has stopped (the peer is gone); the connection is being torn down.
    Closed,
}

/// The sending end of one client's queue. Cheap to clone; the writer ends once every clone
/// is dropped and the queue is drained.
#[derive(Debug, Clone)]
pub struct Outbox {
    tx: Sender<Line>,
    shared: Arc<OutboxShared>,
}

#[derive(Debug)]
struct OutboxShared {
    /// Bytes queued and not yet written. Added by pushers, taken off by the writer after a
    /// write, so it also counts the batch being written.
    queued: AtomicUsize,
    limit: usize,
    /// The socket, to cut a slow consumer off even while its writer is blocked in `write`.
    /// Weak: only the connection and the writer keep the descriptor open. `None` in tests
    /// that use a queue without a socket.
    socket: Option<Weak<TcpStream>>,
    /// Set by [`Outbox::cut`], so the session stops executing what the client still sent.
    cut: AtomicBool,
}

impl Outbox {
    /// A queue with no socket and no writer: the receiver is the test's to read.
    pub fn detached(limit: usize) -> (Outbox, Receiver<Line>) {
        Outbox::new(limit, None)
    }

    fn new(limit: usize, socket: Option<Weak<TcpStream>>) -> (Outbox, Receiver<Line>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(OutboxShared {
            queued: AtomicUsize::new(0),
            limit,
            socket,
            cut: AtomicBool::new(false),
        });
        (Outbox { tx, shared }, rx)
    }

    /// Queues a line without ever waiting.
    pub fn push(&self, line: Line) -> Result<(), PushError> {
        let len = line.len();
        let before = self.shared.queued.fetch_add(len, Ordering::Relaxed);
        if before + len > self.shared.limit {
            self.shared.queued.fetch_sub(len, Ordering::Relaxed);
            return Err(PushError::Full);
        }
        self.tx.send(line).map_err(|_| {
            self.shared.queued.fetch_sub(len, Ordering::Relaxed);
            PushError::Closed
        })
    }

    /// Bytes queued and not yet written.
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }

    /// Cuts the connection now, queued lines or not: wakes a writer blocked on a stalled
    /// peer and makes the reader see the end of the stream.
    pub fn cut(&self) {
        self.shared.cut();
    }

    /// The peer's address, for log lines about this client (`None` without a socket).
    pub fn peer_addr(&self) -> Option<std::net::SocketAddr> {
        self.socket()?.peer_addr().ok()
    }

    fn socket(&self) -> Option<Arc<TcpStream>> {
        self.shared.socket()
    }

    /// Whether [`Outbox::cut`] was called.
    pub fn is_cut(&self) -> bool {
        self.shared.cut.load(Ordering::Relaxed)
    }
}

impl OutboxShared {
    fn socket(&self) -> Option<Arc<TcpStream>> {
        self.socket.as_ref()?.upgrade()
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::Relaxed);
        if let Some(socket) = self.socket() {
            // An error here means the socket is already shut down, which is what we want.
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

/// Every running writer thread, so that none is detached: finished ones are joined as they
/// end, the rest at shutdown.
#[derive(Default)]
pub struct WriterSet {
    /// Guards the handles of live writers. A plain mutex: touched once per connect and per
    /// disconnect, never on the message path.
    running: Mutex<HashMap<ConnId, Running>>,
    /// Writers announce their end here so the owner can join them without waiting.
    exited: ExitChannel,
    totals: Arc<WriteTotals>,
}

/// Counts over every writer, running or gone, for [`crate::server::Stats`]: the load benchmark
/// divides them by the lines it received. Added to once per `writev`, never per line.
#[derive(Debug, Default)]
struct WriteTotals {
    /// `writev` calls that wrote something.
    calls: AtomicU64,
    lines: AtomicU64,
}

struct Running {
    handle: JoinHandle<()>,
    /// The writer's queue state: its size for monitoring, and its (weak) socket to cut a
    /// writer still running at the drain deadline.
    outbox: Arc<OutboxShared>,
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

impl WriterSet {
    /// Starts the writer of connection `id` and returns the outbox that feeds it.
    pub fn spawn(
        &self,
        id: ConnId,
        socket: Arc<TcpStream>,
        send_queue: usize,
    ) -> io::Result<Outbox> {
        let (outbox, rx) = Outbox::new(send_queue, Some(Arc::downgrade(&socket)));
        let writer = Writer {
            id,
            socket: Arc::clone(&socket),
            rx,
            shared: Arc::clone(&outbox.shared),
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
        let running = Running {
            handle,
            outbox: Arc::clone(&outbox.shared),
        };
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
            .map(|r| r.outbox.queued.load(Ordering::Relaxed))
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
            running.outbox.cut();
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
    rx: Receiver<Line>,
    shared: Arc<OutboxShared>,
    totals: Arc<WriteTotals>,
}

impl Writer {
    fn run(self) {
        let mut batch: Vec<Line> = Vec::new();
        // `recv` fails only once every `Outbox` is dropped and the queue is empty: that is
        // the signal to close, and it comes after the last queued line (e.g. BYE).
        while let Ok(first) = self.rx.recv() {
            batch.push(first);
            let mut bytes = batch[0].len();
            while batch.len() < MAX_BATCH_LINES && bytes < MAX_BATCH_BYTES {
                match self.rx.try_recv() {
                    Ok(line) => {
                        bytes += line.len();
                        batch.push(line);
                    }
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            let written = write_all_lines(&self.socket, &batch);
            self.shared.queued.fetch_sub(bytes, Ordering::Relaxed);
            let lines = batch.len() as u64;
            batch.clear();
            let calls = match written {
                Ok(calls) => calls,
                Err(WriteFailed { calls, error }) => {
                    self.totals.calls.fetch_add(calls, Ordering::Relaxed);
                    log::debug!("conn#{}: write failed: {error}", self.id);
                    // Make the reading side see the end too, so the connection is torn down.
                    let _ = self.socket.shutdown(Shutdown::Both);
                    return;
                }
            };
            self.totals.calls.fetch_add(calls, Ordering::Relaxed);
            self.totals.lines.fetch_add(lines, Ordering::Relaxed);
        }
        self.close_cleanly();
    }

    /// Sends FIN after the last line.
    fn close_cleanly(&self) {
        discard_pending_input(&self.socket);
        let _ = self.socket.shutdown(Shutdown::Write);
    }
}

struct WriteFailed {
    /// Calls that wrote something before the failure.
    calls: u64,
    error: io::Error,
}

/// Writes every line, with as few `writev` calls as the socket allows; returns how many.
fn write_all_lines(mut socket: &TcpStream, lines: &[Line]) -> Result<u64, WriteFailed> {
    let mut slices: Vec<IoSlice<'_>> = lines.iter().map(|l| IoSlice::new(l.as_bytes())).collect();
    let mut slices = &mut slices[..];
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
        return Err(WriteFailed { calls, error });
    }
    Ok(calls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> Line {
        Arc::from(text)
    }

    #[test]
    fn outbox_refuses_past_its_byte_limit() {
        let (outbox, rx) = Outbox::detached(10);
        assert_eq!(outbox.push(line("12345\n")), Ok(()));
        assert_eq!(outbox.push(line("1234\n")), Err(PushError::Full));
        assert_eq!(outbox.push(line("123\n")), Ok(()));
        assert_eq!(outbox.queued_bytes(), 10);
        assert_eq!(rx.len(), 2);
    }

    #[test]
    fn outbox_reports_a_closed_queue() {
        let (outbox, rx) = Outbox::detached(10);
        drop(rx);
        assert_eq!(outbox.push(line("x\n")), Err(PushError::Closed));
        assert_eq!(outbox.queued_bytes(), 0);
    }
}
