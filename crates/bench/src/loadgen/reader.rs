//! Reader threads: each owns many client sockets, waits for them with `polling` (epoll,
//! level-triggered), reads into one large buffer per thread, and checks every line.
//!
//! In scope: the read loop, splitting bytes into lines (a socket keeps only the carry-over of
//! a partial line) or, on a WebSocket client, into text frames (split by `websocket`, each
//! read where it lies), on a TLS client its lines once the whole read is decrypted (`tls`:
//! one lock of its session per read), feeding each line to `arrival`, and the end-of-run report of each
//! client. On a peer, the same for its frames (split by `dialect`).
//! Out of scope: connecting and registering (`client`, `transport`), sending (`sender`), a
//! peer's spelling (`dialect`), what a line means (`arrival`), and judging the results
//! (`workload`, `outcome`).
//!
//! Which protocol and transport a reader reads is one match per read, not per line: a chatd
//! run's lines never go near a peer's code, nor a TCP client's near the WebSocket framing.
//!
//! On a peer the sender of a delivery is the one its payload names (the channel only says
//! where it was published), and a Redis client's copies of its own messages are dropped:
//! Redis sends a message to its publisher too when it is subscribed to the channel.

mod arrival;
mod conn;

use std::io;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use hdrhistogram::Histogram;
use polling::{Event, Events, PollMode, Poller};

use self::arrival::{Arrival, find_newline};
use self::conn::{ConnState, Sink};
use crate::loadgen::board::{Board, Notice};
use crate::loadgen::client;
use crate::loadgen::dialect::frame;
use crate::loadgen::dialect::{Dialect, Peer};
use crate::loadgen::meter::GeneratorCpu;
use crate::loadgen::outcome::latency_histogram;
use crate::loadgen::transport::Transport;
use crate::loadgen::websocket::{self, WsEvent};

pub use self::conn::{Conn, ConnReport, Route, Rules, Tally};

/// One read takes up to this much; shared by all sockets of a reader thread.
const READ_BUFFER: usize = 256 * 1024;
/// A server line is at most `--max-line` + 38 bytes (protocol.md); a carry-over far beyond
/// means garbage.
const MAX_CARRY: usize = 2 * 1024 * 1024;
/// Readers are woken to stop; this only bounds each wait.
const WAIT_SLICE: Duration = Duration::from_millis(500);

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

/// The state of one reader thread.
struct Reader {
    rules: Arc<Rules>,
    board: Arc<Board>,
    notices: Sender<Notice>,
    /// Indexed by the poller key.
    conns: Vec<ConnState>,
    buffer: Vec<u8>,
    /// The plaintext of one read of a TLS client, reused read after read.
    plain: Vec<u8>,
    sink: Sink,
}

impl Reader {
    fn new(rules: &Arc<Rules>, board: &Arc<Board>, notices: &Sender<Notice>) -> Reader {
        Reader {
            rules: Arc::clone(rules),
            board: Arc::clone(board),
            notices: notices.clone(),
            conns: Vec::new(),
            buffer: vec![0; READ_BUFFER],
            plain: Vec::new(),
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
                let _ = poller.delete(state.conn.stream.stream());
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
        let added = unsafe {
            poller.add_with_mode(conn.stream.stream(), Event::readable(key), PollMode::Level)
        };
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
        match client::recv_now(state.conn.stream.stream(), &mut self.buffer) {
            Ok(0) => self.close(key, poller, "closed by the server".to_owned()),
            Ok(n) if state.conn.stream.is_tls() => {
                let consumed = self.consume_tls(key, n, Instant::now());
                if let Err(why) = consumed {
                    self.close(key, poller, why);
                }
            }
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
        let _ = poller.delete(state.conn.stream.stream());
        state.tally.closed = Some(why);
        let _ = self.notices.send(Notice::Closed(state.conn.index));
    }

    /// Handles every complete line or frame in `bytes` (after the socket's carry-over) and
    /// keeps the partial one at the end. Fails, saying why, when the bytes cannot be
    /// followed any further (a peer's stream that is not its protocol, a WebSocket that is
    /// not chatd's or that the server closed).
    fn consume(&mut self, key: usize, bytes: &[u8], now: Instant) -> Result<(), String> {
        let consumed = match (self.rules.dialect, self.conns[key].conn.transport) {
            (Dialect::Chatd, Transport::Tcp | Transport::Tls) => {
                self.consume_lines(key, bytes, now);
                Ok(())
            }
            (Dialect::Chatd, Transport::WebSocket) => self.consume_websocket(key, bytes, now),
            (Dialect::Peer(peer), _) => self.consume_frames(peer, key, bytes, now),
        };
        let state = &self.conns[key];
        if let Some((_, check)) = &state.conn.check {
            self.board.set_received(state.conn.index, check.received());
        }
        consumed
    }

    /// [`Reader::consume`] of the first `n` bytes of the buffer, TLS records: the whole read
    /// is decrypted at once (one lock of the session), then its lines are handled as TCP's.
    fn consume_tls(&mut self, key: usize, n: usize, now: Instant) -> Result<(), String> {
        let mut plain = std::mem::take(&mut self.plain);
        plain.clear();
        let opened = self.conns[key]
            .conn
            .stream
            .decrypt(&self.buffer[..n], &mut plain);
        let consumed = match opened {
            Ok(closed) => self.consume(key, &plain, now).and_then(|()| {
                if closed {
                    Err("the server ended the TLS session".to_owned())
                } else {
                    Ok(())
                }
            }),
            Err(e) => Err(format!("TLS: {e}")),
        };
        self.plain = plain;
        consumed
    }

    /// The context of the lines of one read, and the clients they are for.
    fn arrival(&mut self, now: Instant) -> (Arrival<'_>, &mut [ConnState]) {
        let arrival = Arrival {
            rules: &self.rules,
            notices: &self.notices,
            sink: &mut self.sink,
            board: &self.board,
            now,
            now_us: self.board.now_us(now),
        };
        (arrival, &mut self.conns)
    }

    /// [`Reader::consume`] of chatd's lines over TCP.
    fn consume_lines(&mut self, key: usize, bytes: &[u8], now: Instant) {
        let (mut at, conns) = self.arrival(now);
        let ConnState {
            conn, carry, tally, ..
        } = &mut conns[key];
        let mut rest = bytes;
        if !carry.is_empty() {
            let Some(end) = find_newline(rest) else {
                carry.extend_from_slice(rest);
                if carry.len() > MAX_CARRY {
                    carry.clear();
                    tally.note_unexpected(b"(a line longer than 2 MiB)");
                }
                return;
            };
            let mut line = std::mem::take(carry);
            line.extend_from_slice(&rest[..end]);
            at.line(conn, tally, &line);
            line.clear();
            *carry = line;
            rest = &rest[end + 1..];
        }
        while let Some(end) = find_newline(rest) {
            at.line(conn, tally, &rest[..end]);
            rest = &rest[end + 1..];
        }
        carry.extend_from_slice(rest);
    }

    /// [`Reader::consume`] of chatd's lines over WebSocket: each text frame is one line, read
    /// where it lies in the buffer (only a frame split between two reads is copied).
    fn consume_websocket(&mut self, key: usize, bytes: &[u8], now: Instant) -> Result<(), String> {
        let (mut at, conns) = self.arrival(now);
        let ConnState {
            conn, carry, tally, ..
        } = &mut conns[key];
        let mut closed = None;
        frame::split::<websocket::Frames>(carry, bytes, |event| match event {
            WsEvent::Text(line) => at.line(conn, tally, line),
            WsEvent::Close { code, reason } => closed = Some(websocket::closed(code, reason)),
            WsEvent::Other(what) => tally.note_unexpected(what.as_bytes()),
        })
        .map_err(|why| format!("the server sent what is not chatd's WebSocket: {why}"))?;
        closed.map_or(Ok(()), Err)
    }

    /// [`Reader::consume`] of a peer's frames.
    fn consume_frames(
        &mut self,
        peer: Peer,
        key: usize,
        bytes: &[u8],
        now: Instant,
    ) -> Result<(), String> {
        let (mut at, conns) = self.arrival(now);
        let ConnState {
            conn,
            carry,
            tally,
            pongs_seen,
        } = &mut conns[key];
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

#[cfg(test)]
mod tests;
