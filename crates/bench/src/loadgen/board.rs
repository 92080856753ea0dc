//! What the generator threads of one run share: per-client counters that flow control and
//! the progress display read, the stop signal for readers, and the notices readers send the
//! coordinator.
//!
//! In scope: those shared values, the `PING` tokens of the run's barriers, and the write
//! gates of a peer run's clients. Out of scope: who updates them how (`reader`, `sender`,
//! `workload`).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use parking_lot::Mutex;

/// The counters of one run, indexed by client.
#[derive(Debug)]
pub struct Board {
    /// When the run started: payload times are microseconds since this instant, the same
    /// for every generator thread.
    pub epoch: Instant,
    /// New lines each client has received, published after every read.
    received: Box<[AtomicU64]>,
    /// Lines each client has sent, published after every write.
    sent: Box<[AtomicU64]>,
    /// Lines delivered to all clients: `ALL`/`MSG` deliveries, or `JOIN`s in the idle run.
    deliveries: AtomicU64,
    stopping: AtomicBool,
    /// One lock per client, held for each whole write to its socket, when more than one
    /// thread may write to it: a NATS client's reader answers the server's `PING`s while a
    /// sender thread writes its messages, and a `write_all` that blocks halfway (a full
    /// socket buffer) would let the `PONG` into the middle of a `PUB`. A chatd run has none:
    /// only one thread writes to a client at a time.
    gates: Option<Box<[Mutex<()>]>>,
}

impl Board {
    pub fn new(clients: usize, epoch: Instant) -> Board {
        let zeroes = || (0..clients).map(|_| AtomicU64::new(0)).collect();
        Board {
            epoch,
            received: zeroes(),
            sent: zeroes(),
            deliveries: AtomicU64::new(0),
            stopping: AtomicBool::new(false),
            gates: None,
        }
    }

    /// A board whose clients' writes go through [`Board::write`] one at a time.
    pub fn with_write_gates(clients: usize, epoch: Instant) -> Board {
        Board {
            gates: Some((0..clients).map(|_| Mutex::new(())).collect()),
            ..Board::new(clients, epoch)
        }
    }

    /// Runs `write`, one whole write to `client`'s connection, as one write among the
    /// client's writers if the board has write gates. (A TLS client orders its own writers:
    /// `tls`.)
    pub fn write(&self, client: u32, write: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        let _gate = self
            .gates
            .as_ref()
            .map(|gates| gates[client as usize].lock());
        write()
    }

    pub fn clients(&self) -> usize {
        self.received.len()
    }

    /// Microseconds since the epoch.
    pub fn now_us(&self, now: Instant) -> u64 {
        u64::try_from(now.saturating_duration_since(self.epoch).as_micros()).unwrap_or(u64::MAX)
    }

    pub fn received(&self, client: u32) -> u64 {
        self.received[client as usize].load(Ordering::Relaxed)
    }

    pub fn set_received(&self, client: u32, lines: u64) {
        self.received[client as usize].store(lines, Ordering::Relaxed);
    }

    pub fn sent(&self, client: u32) -> u64 {
        self.sent[client as usize].load(Ordering::Relaxed)
    }

    pub fn set_sent(&self, client: u32, lines: u64) {
        self.sent[client as usize].store(lines, Ordering::Relaxed);
    }

    pub fn add_deliveries(&self, lines: u64) {
        if lines > 0 {
            self.deliveries.fetch_add(lines, Ordering::Relaxed);
        }
    }

    pub fn deliveries(&self) -> u64 {
        self.deliveries.load(Ordering::Relaxed)
    }

    /// Asks readers to stop; they also need a wake-up (`Readers::stop` does both).
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// What a reader tells the coordinator as it happens. Everything else waits for the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The client got its `OK NICK`, or on a peer the answer to its
    /// [`Barrier::Registered`] `PING` (idle run, where clients register while readers run).
    Registered(u32),
    /// The client got the `PONG` of a barrier.
    Pong { client: u32, barrier: Barrier },
    /// The client's connection ended; it will answer no barrier.
    Closed(u32),
}

/// The barriers of a run, told apart by their `PING` token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Barrier {
    /// On a peer, a client's session is open and its subscriptions are in place (chatd
    /// says so with `OK NICK`).
    Registered,
    /// A sender sent its last line: its deliveries are queued for every recipient.
    Sent,
    /// A receiver's final barrier: everything queued for it before has arrived.
    Drain,
}

impl Barrier {
    pub fn token(self) -> &'static str {
        match self {
            Barrier::Registered => "bench-registered",
            Barrier::Sent => "bench-sent",
            Barrier::Drain => "bench-drain",
        }
    }

    pub fn from_token(token: &str) -> Option<Barrier> {
        [Barrier::Registered, Barrier::Sent, Barrier::Drain]
            .into_iter()
            .find(|b| b.token() == token)
    }
}
