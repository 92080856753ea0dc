//! Reader threads: each owns many client sockets, waits for them with `polling` (epoll,
//! level-triggered), reads into one large buffer per thread, and checks every line.
//!
//! In scope: the read loop, splitting bytes into lines (a socket keeps only the carry-over of
//! a partial line), recognising the lines a run produces, feeding deliveries to each client's
//! [`ReceiverCheck`], latency samples, and the end-of-run report of each client.
//! Out of scope: connecting and registering (`client`), sending (`sender`), and judging the
//! results (`workload`, `outcome`).
//!
//! `ALL`, `MSG` and room `MSG` deliveries are matched on bytes here rather than with
//! `protocol::Reply::parse`, which allocates two strings a line: the generator must cost far
//! less than the server per line. The unit test below holds the two in agreement. Every
//! other line is rare and goes through `Reply::parse`.

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
use crate::loadgen::meter::GeneratorCpu;
use crate::loadgen::outcome::latency_histogram;
use crate::loadgen::payload::Codec;
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
    /// The start of a line whose end has not arrived yet.
    carry: Vec<u8>,
    tally: Tally,
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
        };
        if let Err(error) = added {
            state.tally.closed = Some(format!("cannot watch the socket: {error}"));
            let _ = self.notices.send(Notice::Closed(state.conn.index));
            self.conns.push(state);
            return;
        }
        let leftover = std::mem::take(&mut state.conn.leftover);
        self.conns.push(state);
        self.consume(key, &leftover, Instant::now());
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
                self.consume(key, &buffer[..n], Instant::now());
                self.buffer = buffer;
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

    /// Handles every complete line in `bytes` (after the socket's carry-over) and keeps the
    /// partial line at the end.
    fn consume(&mut self, key: usize, bytes: &[u8], now: Instant) {
        let now_us = self.board.now_us(now);
        let mut at = Arrival {
            rules: &self.rules,
            notices: &self.notices,
            sink: &mut self.sink,
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
        if let Some((_, check)) = &state.conn.check {
            self.board.set_received(state.conn.index, check.received());
        }
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
            Ok(stamp) if stamp.sender == from => {
                check.delivery(route.slot(from), stamp.seq);
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
            _ => check.corrupt(),
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
mod tests {
    use super::*;
    use chatd_proto::Nick;

    #[test]
    fn newlines_are_found_where_a_plain_search_finds_them() {
        let mut bytes = Vec::new();
        // A cheap deterministic mix of newlines, bytes just around '\n', and high bytes.
        let mut x = 12345u32;
        for _ in 0..4000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            bytes.push([b'\n', 9, 11, 0, 0x8a, b'a', 0xff, b'\n' + 0x80][(x >> 16) as usize % 8]);
        }
        for start in 0..bytes.len() {
            for len in [0, 1, 7, 8, 9, 15, 16, 17, 64] {
                let slice = &bytes[start..(start + len).min(bytes.len())];
                let plain = slice.iter().position(|&b| b == b'\n');
                assert_eq!(find_newline(slice), plain, "{slice:?}");
            }
        }
        assert_eq!(find_newline(b"ALL b000001n3 0003....\nALL"), Some(22));
    }

    /// The byte matching of deliveries agrees with `Reply::parse` on what `Reply` formats.
    #[test]
    fn deliveries_are_matched_as_the_protocol_spells_them() {
        let from = Nick::parse("b00000an3").unwrap();
        let text = "0003000000010000000000aa5b......".to_owned();
        for reply in [
            Reply::All {
                from: from.clone(),
                text: text.clone(),
            },
            Reply::Msg {
                from: from.clone(),
                text: text.clone(),
            },
        ] {
            let line = reply.to_line();
            let line = line.trim_end_matches('\n').as_bytes();
            let rest = line
                .strip_prefix(b"ALL ")
                .or_else(|| line.strip_prefix(b"MSG "))
                .expect("a delivery");
            let space = rest.iter().position(|&b| b == b' ').unwrap();
            assert_eq!(&rest[..space], from.as_str().as_bytes());
            assert_eq!(&rest[space + 1..], text.as_bytes());
            assert_eq!(Reply::parse(std::str::from_utf8(line).unwrap()), Ok(reply));
        }
    }

    /// A room's lines count for a member of that room only, from the room's senders only.
    #[test]
    fn room_lines_are_checked_against_the_receiver_s_room() {
        let naming = Naming::with_tag(0xa);
        let codec = Codec::new(32).unwrap();
        let rules = Arc::new(Rules {
            naming: naming.clone(),
            codec,
            latency_from_us: None,
        });
        let board = Arc::new(Board::new(8, Instant::now()));
        let (notices, _) = crossbeam_channel::unbounded();
        let mut reader = Reader::new(&rules, &board, &notices);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        // Client 6 is in room 1 (clients 4..8), whose senders are clients 4 and 5.
        let route = Route::Room {
            room: 1,
            first: 4,
            senders: 2,
        };
        reader.conns.push(ConnState {
            conn: Conn {
                index: 6,
                stream: Arc::new(stream),
                leftover: Vec::new(),
                check: Some((route, ReceiverCheck::new(route.slots(), true))),
            },
            carry: Vec::new(),
            tally: Tally::default(),
        });
        let line = |room: u32, from: u32, seq: u32| {
            let mut text = String::new();
            let stamp = crate::loadgen::payload::Stamp {
                sender: from,
                seq,
                sent_us: 0,
            };
            codec.encode(stamp, &mut text);
            Reply::RoomMsg {
                room: chatd_proto::Room::parse(&naming.room(room)).unwrap(),
                from: Nick::parse(&naming.nick(from)).unwrap(),
                text,
            }
            .to_line()
        };
        let stranger = Nick::parse("alice").unwrap();
        let room1 = chatd_proto::Room::parse(&naming.room(1)).unwrap();
        let bytes = [
            line(1, 4, 0),
            line(1, 5, 0),
            line(1, 4, 1),
            // Another room's line, and a member of the room that is not a sender.
            line(0, 4, 2),
            line(1, 7, 0),
            format!("MSG {room1} alice hi\n"),
            Reply::RoomJoin {
                room: room1.clone(),
                nick: stranger,
            }
            .to_line(),
            Reply::RoomJoin {
                room: room1,
                nick: Nick::parse(&naming.nick(7)).unwrap(),
            }
            .to_line(),
        ]
        .concat();
        reader.consume(0, bytes.as_bytes(), Instant::now());
        let state = reader.conns.pop().unwrap();
        let (_, check) = state.conn.check.unwrap();
        let (counts, order) = check.finish(|_| 2);
        assert_eq!(counts.received, 3);
        assert_eq!(counts.corrupt, 2);
        assert_eq!(counts.lost, 1);
        let ids = [(0, 0), (1, 0), (0, 1)].map(|(s, q)| crate::loadgen::check::message_id(s, q));
        assert_eq!(order.unwrap(), ids);
        assert_eq!(state.tally.foreign, 2);
        // This run's own clients join no room during a run.
        assert_eq!(state.tally.unexpected, 1);
    }
}
