//! What a reader knows of its clients: the rules of the run's lines, each client's route,
//! connection and tally, and what is left of a client at the end of a run.
//!
//! In scope: those types, shared by the reader thread (`reader`) and the handling of each
//! line (`arrival`). Out of scope: reading (`reader`) and what a line means (`arrival`).

use std::sync::Arc;
use std::time::Instant;

use hdrhistogram::Histogram;

use crate::loadgen::board::Barrier;
use crate::loadgen::check::ReceiverCheck;
use crate::loadgen::client::Naming;
use crate::loadgen::dialect::Dialect;
use crate::loadgen::payload::Codec;
use crate::loadgen::tls::Link;
use crate::loadgen::transport::Transport;

/// What every reader of a run needs to know about the lines it reads.
#[derive(Debug, Clone)]
pub struct Rules {
    /// The protocol of every connection of the run.
    pub dialect: Dialect,
    pub naming: Naming,
    pub codec: Codec,
    /// Record the latency of lines meant to be sent at or after this time (µs since the
    /// epoch); `None` records none.
    pub latency_from_us: Option<u64>,
}

/// Which senders a client hears from, and the check slot of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `ALL` lines from clients `0..senders`; the slot is the sender's index.
    Broadcast { senders: u32 },
    /// `MSG` lines from one partner, in slot 0.
    Partner(u32),
    /// `MSG #room` lines of room `room` from clients `first..first + senders`; the slot is
    /// the sender's position in the room.
    Room { room: u32, first: u32, senders: u32 },
}

impl Route {
    pub(super) fn slot(self, sender: u32) -> usize {
        match self {
            Route::Broadcast { .. } => sender as usize,
            Route::Partner(partner) if partner == sender => 0,
            Route::Room { first, senders, .. } if (first..first + senders).contains(&sender) => {
                (sender - first) as usize
            }
            // Beyond every slot: the check counts it as a line that should not be here.
            Route::Partner(_) | Route::Room { .. } => usize::MAX,
        }
    }

    pub fn slots(self) -> usize {
        match self {
            Route::Broadcast { senders } | Route::Room { senders, .. } => senders as usize,
            Route::Partner(_) => 1,
        }
    }
}

/// A registered client handed to a reader.
#[derive(Debug)]
pub struct Conn {
    pub index: u32,
    pub stream: Arc<Link>,
    /// How its lines arrive: `\n`-ended (inside TLS records over TLS), or one WebSocket text
    /// frame each.
    pub transport: Transport,
    /// Bytes read during registration that are the reader's to handle.
    pub leftover: Vec<u8>,
    /// Where deliveries are checked; `None` for a client that only counts `JOIN`s.
    pub check: Option<(Route, ReceiverCheck)>,
    /// On a peer whose `PONG` names no token (NATS): the barriers its `PING`s are for, in
    /// the order they are sent, which is the order of the answers.
    pub pongs: &'static [Barrier],
}

/// What happened on one client's connection, besides its deliveries.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    /// `JOIN`s of this run's clients.
    pub joins: u64,
    /// This run's clients announced as dropped for being slow consumers.
    pub slow_quits: Vec<u32>,
    /// Lines a run should never see: errors, departures for another reason, unknown replies.
    pub unexpected: u64,
    pub first_unexpected: Option<String>,
    /// Lines from clients of another run or another user on a shared server.
    pub foreign: u64,
    /// Why the connection ended, if it did.
    pub closed: Option<String>,
}

/// One client at the end of a run.
#[derive(Debug)]
pub struct ConnReport {
    pub index: u32,
    pub check: Option<(Route, ReceiverCheck)>,
    pub tally: Tally,
}

/// A client as its reader sees it.
pub(super) struct ConnState {
    pub conn: Conn,
    /// The start of a line (or a frame) whose end has not arrived yet.
    pub carry: Vec<u8>,
    pub tally: Tally,
    /// Bare `PONG`s so far: the next one answers `conn.pongs[pongs_seen]`.
    pub pongs_seen: usize,
}

/// Where lines end up; separate from `Reader::conns` so one line can update both.
pub(super) struct Sink {
    pub latency: Histogram<u64>,
    pub last_delivery: Option<Instant>,
    pub last_join: Option<Instant>,
    /// Deliveries since the last publication on the board.
    pub unpublished: u64,
}

impl Tally {
    pub(super) fn note_unexpected(&mut self, line: &[u8]) {
        self.unexpected += 1;
        if self.first_unexpected.is_none() {
            let shown = &line[..line.len().min(120)];
            self.first_unexpected = Some(String::from_utf8_lossy(shown).into_owned());
        }
    }
}
