//! Reader threads: each owns many client sockets, waits for them with `polling` (epoll,
//! level-triggered), reads into one large buffer per thread, and checks every line.
//!
//! In scope: the read loop, splitting bytes into lines (a socket keeps only the carry-over of
//! a partial line), recognising the lines a run produces, feeding deliveries to each client's
//! [`ReceiverCheck`], latency samples, and the end-of-run report of each client. On a peer,
//! the same for its frames (split by `dialect`), and answering the server's own `PING`s.
//! Out of scope: connecting and registering (`client`), sending (`sender`), a peer's spelling
//! (`dialect`), and judging the results (`workload`, `outcome`).
//!
//! `ALL`, `MSG` and room `MSG` deliveries are matched on bytes here rather than with
//! `protocol::Reply::parse`, which allocates two strings a line: the generator must cost far
//! less than the server per line. A unit test holds the two in agreement. Every other line
//! is rare and goes through `Reply::parse`. Which protocol a reader reads is one match per
//! read, not per line: a chatd run's lines never go near a peer's code.
//!
//! On a peer the sender of a delivery is the one its payload names (the channel only says
//! where it was published), and a Redis client's copies of its own messages are dropped:
//! Redis sends a message to its publisher too when it is subscribed to the channel.

use std::io;
use std::net::TcpStream;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;
use polling::{Event, Events, PollMode, Poller};

use crate::loadgen::board::{Barrier, Board, Notice};
use crate::loadgen::check::ReceiverCheck;
use crate::loadgen::client::{self, Naming};
use crate::loadgen::dialect::frame::Event as PeerEvent;
use crate::loadgen::dialect::{Dialect, Peer};
use crate::loadgen::meter::GeneratorCpu;
use crate::loadgen::outcome::latency_histogram;
use crate::loadgen::payload::{Codec, Stamp};
use chatd_proto::{Reply, reason};

/// One read takes up to this much; shared by all sockets of a reader thread.
const READ_BUFFER: usize = 256 * 1024;
/// A server line is at most `--max-line` + 38 bytes (protocol.md); a carry-over far beyond
/// means garbage.
const MAX_CARRY: usize = 2 * 1024 * 1024;
/// Readers are woken to stop; this only bounds each wait.
const WAIT_SLICE: Duration = Duration::from_millis(500);

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
    fn slot(self, sender: u32) -> usize {
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
    pub stream: Arc<TcpStream>,
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

/// One reader thread at the end of a run.
#[derive(Debug)]
pub struct ReaderReport {
    pub conns: Vec<ConnReport>,
    /// Latency in microseconds.
    pub latency: Histogram<u64>,
    pub last_delivery: Option<Instant>,
    pub last_join: Option<Instant>,
}

/// The reader threads of a run.
pub struct Readers {
    board: Arc<Board>,
    adopter: Adopter,
    threads: Vec<std::thread::JoinHandle<io::Result<ReaderReport>>>,
}

/// Hands clients to reader threads: client `i` goes to reader `i % readers`. Cloneable, for
/// connector threads.
#[derive(Clone)]
pub struct Adopter {
    inboxes: Vec<(Sender<Conn>, Arc<Poller>)>,
}

impl Adopter {
    pub fn adopt(&self, conn: Conn) -> io::Result<()> {
        let (inbox, poller) = &self.inboxes[conn.index as usize % self.inboxes.len()];
        inbox
            .send(conn)
            .map_err(|_| io::Error::other("a reader thread has stopped"))?;
        poller.notify()
    }
}

impl Readers {
    pub fn start(
        count: usize,
        rules: &Arc<Rules>,
        board: &Arc<Board>,
        notices: &Sender<Notice>,
        meter: &Arc<GeneratorCpu>,
    ) -> io::Result<Readers> {
        let mut readers = Readers {
            board: Arc::clone(board),
            adopter: Adopter {
                inboxes: Vec::new(),
            },
            threads: Vec::new(),
        };
        for id in 0..count.max(1) {
            let started = Poller::new().and_then(|poller| {
                let poller = Arc::new(poller);
                let (inbox, arrivals) = crossbeam_channel::unbounded();
                let reader = Reader::new(rules, board, notices);
                let waker = Arc::clone(&poller);
                let thread = meter.spawn(&format!("reader-{id}"), move || {
                    reader.run(&waker, &arrivals)
                })?;
                Ok((inbox, poller, thread))
            });
            match started {
                Ok((inbox, poller, thread)) => {
                    readers.adopter.inboxes.push((inbox, poller));
                    readers.threads.push(thread);
                }
                Err(error) => {
                    // Those already running are stopped and joined, not left behind.
                    let _ = readers.stop();
                    return Err(error);
                }
            }
        }
        Ok(readers)
    }

    pub fn adopter(&self) -> Adopter {
        self.adopter.clone()
    }

    /// Stops and joins every reader thread.
    pub fn stop(self) -> io::Result<Vec<ReaderReport>> {
        self.board.stop();
        for (_, poller) in &self.adopter.inboxes {
            poller.notify()?;
        }
        let mut reports = Vec::new();
        for thread in self.threads {
            let report = thread
                .join()
                .map_err(|_| io::Error::other("a reader thread panicked"))??;
            reports.push(report);
        }
        Ok(reports)
    }
}

/// A client as its reader sees it.
struct ConnState {
    conn: Conn,
    /// The start of a line (or a peer's frame) whose end has not arrived yet.
    carry: Vec<u8>,
    tally: Tally,
    /// Bare `PONG`s so far: the next one answers `conn.pongs[pongs_seen]`.
    pongs_seen: usize,
}

/// The state of one reader thread.
struct Reader {
    rules: Arc<Rules>,
    board: Arc<Board>,
    notices: Sender<Notice>,
    /// Indexed by the poller key.
    conns: Vec<ConnState>,
    buffer: Vec<u8>,
    sink: Sink,
}

/// Where lines end up; separate from `Reader::conns` so one line can update both.
struct Sink {
    latency: Histogram<u64>,
    last_delivery: Option<Instant>,
    last_join: Option<Instant>,
    /// Deliveries since the last publication on the board.
    unpublished: u64,
}

impl Reader {
    fn new(rules: &Arc<Rules>, board: &Arc<Board>, notices: &Sender<Notice>) -> Reader {
        Reader {
            rules: Arc::clone(rules),
            board: Arc::clone(board),
            notices: notices.clone(),
            conns: Vec::new(),
            buffer: vec![0; READ_BUFFER],
            sink: Sink {
                latency: latency_histogram(),
                last_delivery: None,
                last_join: None,
                unpublished: 0,
            },
        }
    }

    fn run(mut self, poller: &Poller, arrivals: &Receiver<Conn>) -> io::Result<ReaderReport> {
        let capacity = NonZeroUsize::new(1024).expect("not zero");
        let mut events = Events::with_capacity(capacity);
        let result = loop {
            for conn in arrivals.try_iter() {
                self.adopt(conn, poller);
            }
            if self.board.is_stopping() {
                break Ok(());
            }
            events.clear();
            match poller.wait(&mut events, Some(WAIT_SLICE)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
            for event in events.iter() {
                self.on_readable(event.key, poller);
            }
            self.board
                .add_deliveries(std::mem::take(&mut self.sink.unpublished));
        };
        // `polling` needs every source deleted before its descriptor can close.
        for state in &self.conns {
            if state.tally.closed.is_none() {
                let _ = poller.delete(&*state.conn.stream);
            }
        }
        result.map(|()| self.into_report())
    }

    /// Starts watching a client; a failure ends the client (its tally says why).
    fn adopt(&mut self, conn: Conn, poller: &Poller) {
        let key = self.conns.len();
        // SAFETY: `polling` needs the source deleted before its descriptor closes. The
        // descriptor is kept open by `conn.stream`, which this reader holds until `run`
        // returns, and `run` deletes every source it added before returning.
        #[allow(unsafe_code)]
        let added =
            unsafe { poller.add_with_mode(&*conn.stream, Event::readable(key), PollMode::Level) };
        let mut state = ConnState {
            conn,
            carry: Vec::new(),
            tally: Tally::default(),
            pongs_seen: 0,
        };
        if let Err(error) = added {
            state.tally.closed = Some(format!("cannot watch the socket: {error}"));
            let _ = self.notices.send(Notice::Closed(state.conn.index));
            self.conns.push(state);
            return;
        }
        let leftover = std::mem::take(&mut state.conn.leftover);
        self.conns.push(state);
        if let Err(why) = self.consume(key, &leftover, Instant::now()) {
            self.close(key, poller, why);
        }
    }

    fn on_readable(&mut self, key: usize, poller: &Poller) {
        let Some(state) = self.conns.get(key) else {
            return;
        };
        if state.tally.closed.is_some() {
            return;
        }
        match client::recv_now(&state.conn.stream, &mut self.buffer) {
            Ok(0) => self.close(key, poller, "closed by the server".to_owned()),
            Ok(n) => {
                let buffer = std::mem::take(&mut self.buffer);
                let consumed = self.consume(key, &buffer[..n], Instant::now());
                self.buffer = buffer;
                if let Err(why) = consumed {
                    self.close(key, poller, why);
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => self.close(key, poller, e.to_string()),
        }
    }

    fn close(&mut self, key: usize, poller: &Poller, why: String) {
        let state = &mut self.conns[key];
        let _ = poller.delete(&*state.conn.stream);
        state.tally.closed = Some(why);
        let _ = self.notices.send(Notice::Closed(state.conn.index));
    }

    /// Handles every complete line or frame in `bytes` (after the socket's carry-over) and
    /// keeps the partial one at the end. Fails, saying why, when the bytes cannot be
    /// followed any further (a peer's stream that is not its protocol).
    fn consume(&mut self, key: usize, bytes: &[u8], now: Instant) -> Result<(), String> {
        let consumed = match self.rules.dialect {
            Dialect::Chatd => {
                self.consume_lines(key, bytes, now);
                Ok(())
            }
            Dialect::Peer(peer) => self.consume_frames(peer, key, bytes, now),
        };
        let state = &self.conns[key];
        if let Some((_, check)) = &state.conn.check {
            self.board.set_received(state.conn.index, check.received());
        }
        consumed
    }

    /// [`Reader::consume`] of chatd's lines.
    fn consume_lines(&mut self, key: usize, bytes: &[u8], now: Instant) {
        let now_us = self.board.now_us(now);
        let mut at = Arrival {
            rules: &self.rules,
            notices: &self.notices,
            sink: &mut self.sink,
            board: &self.board,
            now,
            now_us,
        };
        let state = &mut self.conns[key];
        let mut rest = bytes;
        if !state.carry.is_empty() {
            let Some(end) = find_newline(rest) else {
                state.carry.extend_from_slice(rest);
                if state.carry.len() > MAX_CARRY {
                    state.carry.clear();
                    state.tally.note_unexpected(b"(a line longer than 2 MiB)");
                }
                return;
            };
            let mut line = std::mem::take(&mut state.carry);
            line.extend_from_slice(&rest[..end]);
            at.line(state, &line);
            line.clear();
            state.carry = line;
            rest = &rest[end + 1..];
        }
        while let Some(end) = find_newline(rest) {
            at.line(state, &rest[..end]);
            rest = &rest[end + 1..];
        }
        state.carry.extend_from_slice(rest);
    }

    /// [`Reader::consume`] of a peer's frames.
    fn consume_frames(
        &mut self,
        peer: Peer,
        key: usize,
        bytes: &[u8],
        now: Instant,
    ) -> Result<(), String> {
        let now_us = self.board.now_us(now);
        let mut at = Arrival {
            rules: &self.rules,
            notices: &self.notices,
            sink: &mut self.sink,
            board: &self.board,
            now,
            now_us,
        };
        let ConnState {
            conn,
            carry,
            tally,
            pongs_seen,
        } = &mut self.conns[key];
        peer.split(carry, bytes, |event| {
            at.event(peer, conn, tally, pongs_seen, event);
        })
        .map_err(|why| format!("{peer} sent what is not its protocol: {why}"))
    }

    fn into_report(self) -> ReaderReport {
        ReaderReport {
            conns: self
                .conns
                .into_iter()
                .map(|state| ConnReport {
                    index: state.conn.index,
                    check: state.conn.check,
                    tally: state.tally,
                })
                .collect(),
            latency: self.sink.latency,
            last_delivery: self.sink.last_delivery,
            last_join: self.sink.last_join,
        }
    }
}

/// The context of the lines from one read.
struct Arrival<'a> {
    rules: &'a Rules,
    notices: &'a Sender<Notice>,
    sink: &'a mut Sink,
    /// Where a peer's `PING` is answered.
    board: &'a Board,
    now: Instant,
    now_us: u64,
}

impl Arrival<'_> {
    fn line(&mut self, state: &mut ConnState, line: &[u8]) {
        if let Some(rest) = line.strip_prefix(b"ALL ") {
            self.delivery(state, rest);
        } else if let Some(rest) = line.strip_prefix(b"MSG ") {
            // Nicks never start with `#`.
            if rest.first() == Some(&b'#') {
                self.room_delivery(state, rest);
            } else {
                self.delivery(state, rest);
            }
        } else {
            self.control(state, line);
        }
    }

    /// `#room <from> <payload>` of a room's `MSG` line: the room must be the receiver's.
    fn room_delivery(&mut self, state: &mut ConnState, rest: &[u8]) {
        let Some((route, check)) = &mut state.conn.check else {
            state.tally.note_unexpected(rest);
            return;
        };
        let space = rest.iter().position(|&b| b == b' ');
        let room = space.and_then(|space| self.rules.naming.room_index_of(&rest[..space]));
        match (space, *route) {
            (Some(space), Route::Room { room: mine, .. }) if room == Some(mine) => {
                self.delivery(state, &rest[space + 1..]);
            }
            _ => check.corrupt(),
        }
    }

    /// `<from> <payload>` of an `ALL` or `MSG` line.
    fn delivery(&mut self, state: &mut ConnState, rest: &[u8]) {
        let Some((route, check)) = &mut state.conn.check else {
            state.tally.note_unexpected(rest);
            return;
        };
        let Some(space) = rest.iter().position(|&b| b == b' ') else {
            check.corrupt();
            return;
        };
        let (nick, payload) = (&rest[..space], &rest[space + 1..]);
        let Some(from) = self.rules.naming.index_of(nick) else {
            state.tally.foreign += 1;
            return;
        };
        match self.rules.codec.decode(payload) {
            Ok(stamp) if stamp.sender == from => self.record(*route, check, stamp),
            _ => check.corrupt(),
        }
    }

    /// A delivery that decoded: checked, counted, and timed.
    fn record(&mut self, route: Route, check: &mut ReceiverCheck, stamp: Stamp) {
        check.delivery(route.slot(stamp.sender), stamp.seq);
        self.sink.unpublished += 1;
        self.sink.last_delivery = Some(self.now);
        if self
            .rules
            .latency_from_us
            .is_some_and(|from| stamp.sent_us >= from)
        {
            let latency = self.now_us.saturating_sub(stamp.sent_us);
            self.sink.latency.saturating_record(latency);
        }
    }

    /// One frame from a peer.
    fn event(
        &mut self,
        peer: Peer,
        conn: &mut Conn,
        tally: &mut Tally,
        pongs_seen: &mut usize,
        event: PeerEvent<'_>,
    ) {
        match event {
            PeerEvent::Delivery { channel, payload } => {
                self.published(peer, conn, tally, channel, payload);
            }
            PeerEvent::Pong(token) => {
                let barrier = match token {
                    Some(token) => std::str::from_utf8(token)
                        .ok()
                        .and_then(Barrier::from_token),
                    None => {
                        *pongs_seen += 1;
                        conn.pongs.get(*pongs_seen - 1).copied()
                    }
                };
                let client = conn.index;
                let _ = match barrier {
                    Some(Barrier::Registered) => self.notices.send(Notice::Registered(client)),
                    Some(barrier) => self.notices.send(Notice::Pong { client, barrier }),
                    None => {
                        tally.note_unexpected(b"PONG (no PING of a barrier was waiting)");
                        Ok(())
                    }
                };
            }
            PeerEvent::ServerPing => {
                // A write that fails shows on the read side as the connection's end.
                if let Some(pong) = peer.pong() {
                    let _ = self.board.write(conn.index, &conn.stream, pong);
                }
            }
            PeerEvent::Subscribed | PeerEvent::Ignored => {}
            PeerEvent::Error(text) | PeerEvent::Other(text) => tally.note_unexpected(text),
        }
    }

    /// A peer's message on `channel`: it must be one the receiver's route listens on.
    fn published(
        &mut self,
        peer: Peer,
        conn: &mut Conn,
        tally: &mut Tally,
        channel: &[u8],
        payload: &[u8],
    ) {
        let Some((route, check)) = &mut conn.check else {
            tally.note_unexpected(payload);
            return;
        };
        let naming = &self.rules.naming;
        let heard = match *route {
            Route::Broadcast { .. } => channel == naming.lobby_channel().as_bytes(),
            Route::Partner(_) => naming.index_of(channel) == Some(conn.index),
            Route::Room { room, .. } => naming.room_index_of_channel(channel) == Some(room),
        };
        if !heard {
            check.corrupt();
            return;
        }
        match self.rules.codec.decode(payload) {
            Ok(stamp) if stamp.sender == conn.index && peer.echoes_own_messages() => {}
            Ok(stamp) => self.record(*route, check, stamp),
            Err(_) => check.corrupt(),
        }
    }

    /// Every line that is not a delivery.
    fn control(&mut self, state: &mut ConnState, line: &[u8]) {
        let Ok(text) = std::str::from_utf8(line) else {
            state.tally.note_unexpected(line);
            return;
        };
        let ours = |nick: &chatd_proto::Nick| self.rules.naming.index_of(nick.as_str().as_bytes());
        match Reply::parse(text) {
            Ok(Reply::Hello { .. }) => {}
            Ok(Reply::OkNick(nick)) if ours(&nick) == Some(state.conn.index) => {
                let _ = self.notices.send(Notice::Registered(state.conn.index));
            }
            Ok(Reply::Join(nick)) => match ours(&nick) {
                Some(_) => {
                    state.tally.joins += 1;
                    self.sink.unpublished += 1;
                    self.sink.last_join = Some(self.now);
                }
                None => state.tally.foreign += 1,
            },
            Ok(Reply::Pong { token: Some(token) }) if Barrier::from_token(&token).is_some() => {
                let barrier = Barrier::from_token(&token).expect("checked in the guard");
                let client = state.conn.index;
                let _ = self.notices.send(Notice::Pong { client, barrier });
            }
            // Someone else's client in one of this run's rooms, on a shared server.
            Ok(Reply::RoomJoin { nick, .. } | Reply::RoomPart { nick, .. })
                if ours(&nick).is_none() =>
            {
                state.tally.foreign += 1;
            }
            Ok(Reply::Quit { nick, reason }) => match ours(&nick) {
                Some(index) if reason.as_deref() == Some(reason::SLOW_CONSUMER) => {
                    state.tally.slow_quits.push(index);
                }
                Some(_) => state.tally.note_unexpected(line),
                None => state.tally.foreign += 1,
            },
            _ => state.tally.note_unexpected(line),
        }
    }
}

/// The position of the first `\n`, eight bytes at a time: every byte read is scanned once,
/// the hottest loop of a reader. On `word ^ "\n\n\n\n\n\n\n\n"`, `(x - 0x01..) & !x & 0x80..` marks
/// the zero bytes; a borrow can also mark bytes after a zero, never before, so the lowest
/// mark is the first newline.
fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ NEWLINES;
        let marks = word.wrapping_sub(ONES) & !word & HIGHS;
        if marks != 0 {
            return Some(at + (marks.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks.remainder().iter().position(|&b| b == b'\n');
    tail.map(|i| at + i)
}

impl Tally {
    fn note_unexpected(&mut self, line: &[u8]) {
        self.unexpected += 1;
        if self.first_unexpected.is_none() {
            let shown = &line[..line.len().min(120)];
            self.first_unexpected = Some(String::from_utf8_lossy(shown).into_owned());
        }
    }
}

#[cfg(test)]
mod tests;
