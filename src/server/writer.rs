//! The writer threads: one per connection, draining its queue to the socket.
//!
//! In scope: a writer's loop (take everything queued, write it, park when the queue is
//! empty), its end (after the last queued line, or a cut when nothing could be written for
//! `--write-timeout`), starting writers and keeping every writer's `JoinHandle`
//! ([`WriterSet`]), which also reports the writer threads and queue sizes for the server's
//! `Stats` and hands a new write timeout to every live writer's socket; and, after each
//! batch, the fan-out latency of the oldest delivery it held (`metrics`). Out of scope: the
//! queue, its bound and waking (`outbox`), the system calls (`socket_io`), deciding what to
//! send (`session`, `registry`) and reading (`connection`).
//!
//! The write timeout is kept as the socket's `SO_SNDTIMEO`, and measured from the last byte
//! written (`socket_io::write_blocking`). A peer that keeps its receive window shut, after
//! `QUIT` or not, used to keep its writer blocked in `writev` forever (issue 13).

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::Shutdown;
use std::sync::{Arc, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::server::admission::AddressGroup;
use crate::server::conn_id::ConnId;
use crate::server::deferred_wake::DeferredWakes;
use crate::server::log_limit::{Event, LogLimit};
use crate::server::metrics::Metrics;
use crate::server::outbox::{Outbox, Queue, Taken};
use crate::server::socket_io::{self, ClientSocket};

/// Writer threads only move bytes between a queue and a socket; a small stack lets thousands
/// of them live in little memory (only touched pages count: two, as measured).
const WRITER_STACK: usize = 64 * 1024;

/// Every running writer thread, so that none is detached: finished ones are joined as they
/// end, the rest at shutdown.
pub struct WriterSet {
    /// Guards the handles of live writers. A plain mutex: touched once per connect and per
    /// disconnect, never on the message path.
    running: Mutex<HashMap<ConnId, Running>>,
    /// Writers announce their end here so the owner can join them without waiting.
    exited: ExitChannel,
    /// Where writes and batch latencies are counted.
    metrics: Arc<Metrics>,
    deferred: Arc<DeferredWakes<Queue>>,
    /// Where a cut for `--write-timeout` is logged, a line per address group and interval.
    warnings: Arc<LogLimit>,
}

struct Running {
    handle: JoinHandle<()>,
    /// The writer's queue: its size for monitoring, and its (weak) socket to cut a writer
    /// still running at the drain deadline.
    queue: Arc<Queue>,
    /// Weak, as the queue's: to give a live writer a new write timeout, never to keep the
    /// descriptor open.
    socket: Weak<ClientSocket>,
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
    /// An empty set whose outboxes leave deferred wake-ups with `deferred`, whose writers log
    /// their cuts through `warnings`, and whose queues and writers count into `metrics`.
    pub fn new(
        deferred: Arc<DeferredWakes<Queue>>,
        warnings: Arc<LogLimit>,
        metrics: Arc<Metrics>,
    ) -> WriterSet {
        WriterSet {
            running: Mutex::default(),
            exited: ExitChannel::default(),
            metrics,
            deferred,
            warnings,
        }
    }

    /// Starts the writer of connection `id` and returns the outbox that feeds it. The socket's
    /// write timeout must be set already.
    pub fn spawn(
        &self,
        id: ConnId,
        socket: Arc<ClientSocket>,
        send_queue: usize,
    ) -> io::Result<Outbox> {
        let queue = Queue::new(
            send_queue,
            Some(Arc::downgrade(&socket)),
            Some(Arc::clone(&self.deferred)),
            Some(Arc::clone(&self.metrics)),
        );
        // Before the thread starts: a writer that finds no outbox closes at once.
        let outbox = Outbox::new(&queue);
        let writer = Writer {
            id,
            socket: Arc::clone(&socket),
            queue: Arc::clone(&queue),
            metrics: Arc::clone(&self.metrics),
            warnings: Arc::clone(&self.warnings),
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
        // Before the outbox is handed out, so that every push can unpark the writer; and
        // before the connection is read, so that a TLS handshake's answer can.
        queue.set_writer(handle.thread().clone());
        socket.set_writer(handle.thread().clone());
        let running = Running {
            handle,
            queue,
            socket: Arc::downgrade(&socket),
        };
        self.running.lock().insert(id, running);
        Ok(outbox)
    }

    /// Gives every live writer's socket a new write timeout (a reload). A writer waiting for
    /// its peer keeps the old one until it has written again.
    pub fn set_write_timeout(&self, timeout: Duration) {
        let sockets: Vec<Weak<ClientSocket>> = self
            .running
            .lock()
            .values()
            .map(|running| Weak::clone(&running.socket))
            .collect();
        // The system calls without the lock: a connect or a reap may need it meanwhile.
        for socket in sockets.iter().filter_map(Weak::upgrade) {
            if let Err(error) = socket.set_write_timeout(Some(timeout)) {
                log::debug!("{}: cannot set the write timeout: {error}", socket.peer());
            }
        }
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
        let panicked = running.is_some_and(|running| running.handle.join().is_err());
        if panicked {
            log::error!("conn#{id}: writer thread panicked");
        }
    }
}

/// The thread that owns the writing half of one socket.
struct Writer {
    id: ConnId,
    socket: Arc<ClientSocket>,
    queue: Arc<Queue>,
    metrics: Arc<Metrics>,
    warnings: Arc<LogLimit>,
}

impl Writer {
    /// Writes until every outbox is gone and the queue is written (the connection has ended;
    /// e.g. `BYE` was the last line), or a write fails. The FIN is not sent here: it goes out
    /// when the last handle on the socket drops, after the connection's place is given back
    /// (`ClientSocket`).
    fn run(self) {
        let mut taken = VecDeque::new();
        loop {
            // A TLS session's ciphertext that a reader or a flush could not write (it wakes
            // this thread for it); before the queue's lines, which come after it.
            if let Err(error) = self.socket.write_left_over() {
                self.fail(&error);
                return;
            }
            let (front_written, oldest_delivery) = match self.queue.take(&mut taken) {
                Taken::Lines {
                    front_written,
                    oldest_delivery,
                } => (front_written, oldest_delivery),
                // An unpark that came first makes `park` return at once; a spurious return
                // just takes again.
                Taken::Nothing => {
                    thread::park();
                    continue;
                }
                Taken::Closed => {
                    self.socket.close_politely();
                    return;
                }
            };
            let writes = self.metrics.writes();
            match socket_io::write_blocking(&self.socket, &mut taken, front_written, writes) {
                Ok(_) => {
                    if let Some(since) = oldest_delivery {
                        self.metrics.written_since(since, Instant::now());
                    }
                }
                Err(error) => {
                    self.fail(&error);
                    return;
                }
            }
        }
    }

    /// A write failed or timed out: the queue is closed, and the reading side sees the end
    /// too, so the connection is torn down.
    fn fail(&self, error: &io::Error) {
        if error.kind() == io::ErrorKind::TimedOut {
            self.note_write_timeout();
        } else {
            log::debug!("conn#{}: write failed: {error}", self.id);
        }
        self.queue.writer_gone();
        let _ = self.socket.shutdown(Shutdown::Both);
    }

    /// The socket's write timeout (`--write-timeout`) passed without a byte written. Logged as a cut, a line per address group and interval.
    #[cold]
    fn note_write_timeout(&self) {
        self.socket.note_write_timeout();
        let peer = self.socket.peer();
        let group = AddressGroup::of(peer.ip());
        if let Some(held) = self
            .warnings
            .note(group, Event::WriteTimeout, Instant::now())
        {
            let timeout = self.socket.write_timeout().ok().flatten();
            let seconds = timeout.map_or(0.0, |timeout| timeout.as_secs_f64());
            log::warn!(
                "conn#{} {peer}: cut, nothing could be written to it for {seconds} s (it reads \
                 nothing){}",
                self.id,
                held.suffix()
            );
        }
    }
}
