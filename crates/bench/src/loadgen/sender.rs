//! Sender threads: each writes the message streams of several clients, many lines per
//! `write_all`, then ends each client's stream with the `PING` of the [`Barrier::Sent`] barrier.
//!
//! In scope: closed-loop sending (fan-out, direct, rooms), paced open-loop sending on a
//! [`Schedule`], and the flow-control window of closed-loop senders, in chatd's protocol
//! (a line over TCP, or a text frame over WebSocket, through `transport`) or a peer's (a
//! `PUBLISH` or `PUB` per line, through `dialect`).
//! Out of scope: registering clients (`client`), reading (`reader`), and the shape of each
//! workload (`workload`).
//!
//! Why closed-loop senders have a window: the server reads as fast as its workers can queue
//! lines, and its queues only end at `--send-queue`, where it drops the recipient. A sender
//! that wrote as fast as the server read would end up measuring the slow-consumer rule (or the
//! generator's reading speed). So a sender keeps at most `window` of its lines in flight
//! towards any one receiver, counted from what the readers have actually received. The
//! window is chosen well below the server's queue limit and large enough to keep the
//! pipeline full; throughput is then end-to-end delivery throughput.

use std::io::{self, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::loadgen::board::{Barrier, Board};
use crate::loadgen::dialect::{Dialect, Peer};
use crate::loadgen::payload::{Codec, Stamp};
use crate::loadgen::tls::Link;
use crate::loadgen::transport::Transport;
use chatd_proto::{Command, Nick, Room};

/// How long a closed-loop sender waits for its window to open between checks.
const WINDOW_PAUSE: Duration = Duration::from_micros(100);
/// A paced sender sleeps at most this long at a time, so it notices the end promptly.
const MAX_PACED_SLEEP: Duration = Duration::from_millis(20);

/// One client's stream of messages.
#[derive(Debug)]
pub struct Outgoing {
    /// The client's index, which its payloads carry as the sender.
    pub index: u32,
    pub stream: Arc<Link>,
    /// How its lines go: `\n`-ended over TCP (and inside TLS, sealed a batch at a time), or
    /// one WebSocket text frame each.
    pub transport: Transport,
    pub to: To,
    /// Lines sent so far; the next line's sequence number.
    pub sent: u32,
}

/// Whom a client's lines go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum To {
    /// `ALL`.
    Everyone,
    /// `MSG <nick>`.
    Nick(Nick),
    /// `MSG #room`.
    Room(Room),
    /// A peer's channel (the lobby's, the partner's, the room's: see `dialect`).
    Published { peer: Peer, channel: String },
}

impl Outgoing {
    pub fn new(index: u32, stream: Arc<Link>, transport: Transport, to: To) -> Outgoing {
        Outgoing {
            index,
            stream,
            transport,
            to,
            sent: 0,
        }
    }
}

/// What one sender thread did.
#[derive(Debug, Default)]
pub struct SenderReport {
    /// (client index, lines sent) for each of its clients.
    pub sent: Vec<(u32, u32)>,
    pub error: Option<String>,
}

/// Formats lines into one batch buffer.
struct Batch {
    bytes: Vec<u8>,
    payload: String,
    /// One line at a time, before it is framed (WebSocket clients only).
    line: Vec<u8>,
    codec: Codec,
}

impl Batch {
    fn new(codec: Codec) -> Batch {
        Batch {
            bytes: Vec::with_capacity(64 * 1024),
            payload: String::with_capacity(codec.size()),
            line: Vec::with_capacity(codec.size() + 64),
            codec,
        }
    }

    fn push(&mut self, out: &Outgoing, seq: u32, sent_us: u64) {
        self.payload.clear();
        let stamp = Stamp {
            sender: out.index,
            seq,
            sent_us,
        };
        self.codec.encode(stamp, &mut self.payload);
        let text = self.payload.as_str();
        let command = match &out.to {
            To::Everyone => Command::All { text },
            To::Nick(to) => Command::Msg {
                to: to.clone(),
                text,
            },
            To::Room(room) => Command::MsgRoom {
                room: room.clone(),
                text,
            },
            To::Published { peer, channel } => {
                peer.publish(channel.as_bytes(), text.as_bytes(), &mut self.bytes);
                return;
            }
        };
        match out.transport {
            Transport::Tcp | Transport::Tls => {
                writeln!(self.bytes, "{command}").expect("writing to a Vec cannot fail");
            }
            Transport::WebSocket => {
                self.line.clear();
                write!(self.line, "{command}").expect("writing to a Vec cannot fail");
                out.transport.push_line(&self.line, &mut self.bytes);
            }
        }
    }

    /// Writes the batch to `out`'s socket and empties it.
    fn flush(&mut self, out: &Outgoing, board: &Board) -> io::Result<()> {
        if self.bytes.is_empty() {
            return Ok(());
        }
        let result = board.write(out.index, || out.stream.write_all(&self.bytes));
        self.bytes.clear();
        result
    }
}

/// Who limits a closed-loop sender.
#[derive(Debug, Clone)]
pub enum Flow {
    /// Every sender's `ALL`s reach every receiver: a sender waits while any receiver is
    /// more than the window behind everything sent so far.
    Broadcast {
        senders: Vec<u32>,
        receivers: Vec<u32>,
    },
    /// Each client sends only to its partner: `partners[i]` is client i's.
    Partners(Vec<u32>),
    /// Clients `k * members .. (k + 1) * members` are room k, and the first `senders` of each
    /// room send to it: a sender waits while any member of its room is more than the window
    /// behind everything its room's senders sent so far.
    Rooms { members: u32, senders: u32 },
}

impl Flow {
    /// Lines sent towards the most-behind receiver of `sender` and not yet received.
    fn lag(&self, board: &Board, sender: u32) -> u64 {
        match self {
            Flow::Broadcast { senders, receivers } => {
                let total: u64 = senders.iter().map(|&s| board.sent(s)).sum();
                receivers
                    .iter()
                    .map(|&r| total.saturating_sub(board.sent(r) + board.received(r)))
                    .max()
                    .unwrap_or(0)
            }
            Flow::Partners(partners) => {
                let partner = partners[sender as usize];
                board.sent(sender).saturating_sub(board.received(partner))
            }
            Flow::Rooms { members, senders } => {
                let first = sender / members * members;
                let total: u64 = (first..first + senders).map(|s| board.sent(s)).sum();
                (first..first + members)
                    .map(|r| total.saturating_sub(board.sent(r) + board.received(r)))
                    .max()
                    .unwrap_or(0)
            }
        }
    }
}

/// The knobs of closed-loop sending.
#[derive(Debug, Clone, Copy)]
pub struct ClosedLoop {
    /// How the `PING` that ends each client's stream is spelled.
    pub dialect: Dialect,
    /// Lines each client sends.
    pub messages: u32,
    /// Lines in flight allowed towards one receiver.
    pub window: u64,
    /// Lines per write.
    pub batch: u32,
    /// Giving up: a window that stays shut this long means the receivers stopped reading.
    pub deadline: Instant,
}

/// Sends `settings.messages` lines for each client in `outs`, round robin, a batch at a time
/// whenever the client's window allows.
pub fn run_closed(
    mut outs: Vec<Outgoing>,
    board: &Board,
    flow: &Flow,
    codec: Codec,
    settings: ClosedLoop,
) -> SenderReport {
    let mut batch = Batch::new(codec);
    let result = (|| -> io::Result<()> {
        while outs.iter().any(|o| o.sent < settings.messages) {
            let mut wrote = false;
            for out in outs.iter_mut().filter(|o| o.sent < settings.messages) {
                let lines = settings.batch.min(settings.messages - out.sent);
                if flow.lag(board, out.index) + u64::from(lines) > settings.window {
                    continue;
                }
                let sent_us = board.now_us(Instant::now());
                for seq in out.sent..out.sent + lines {
                    batch.push(out, seq, sent_us);
                }
                batch.flush(out, board)?;
                out.sent += lines;
                board.set_sent(out.index, u64::from(out.sent));
                wrote = true;
            }
            if !wrote {
                if Instant::now() > settings.deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the flow-control window stayed shut: receivers stopped getting lines",
                    ));
                }
                thread::sleep(WINDOW_PAUSE);
            }
        }
        end_streams(&outs, board, settings.dialect)
    })();
    report(&outs, result)
}

/// When each line of a paced run is meant to be sent: senders take turns evenly, each every
/// `interval` (the aggregate line rate spread over the senders).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Nanoseconds since the epoch of the first line.
    start_ns: u64,
    /// Nanoseconds between two lines of one sender.
    interval_ns: f64,
    senders: u32,
    /// Nanoseconds since the epoch; no line is due at or after it.
    stop_ns: u64,
}

impl Schedule {
    /// `lines_per_second` over all `senders`, from `start` for `length`, both measured from the
    /// epoch.
    pub fn new(start: Duration, length: Duration, lines_per_second: f64, senders: u32) -> Schedule {
        let start_ns = u64::try_from(start.as_nanos()).unwrap_or(u64::MAX);
        Schedule {
            start_ns,
            interval_ns: 1e9 * f64::from(senders.max(1)) / lines_per_second.max(1e-9),
            senders: senders.max(1),
            stop_ns: start_ns.saturating_add(u64::try_from(length.as_nanos()).unwrap_or(u64::MAX)),
        }
    }

    /// When line `seq` of the sender at `position` (0-based among senders) is due, in
    /// microseconds since the epoch; `None` once that is past the end.
    pub fn due_us(&self, position: u32, seq: u32) -> Option<u64> {
        let turn = f64::from(position) / f64::from(self.senders);
        let offset = (f64::from(seq) + turn) * self.interval_ns;
        let due_ns = self.start_ns.saturating_add(offset as u64);
        (due_ns < self.stop_ns).then_some(due_ns / 1000)
    }
}

/// A paced sender's client and its place in the schedule.
#[derive(Debug)]
pub struct Paced {
    pub out: Outgoing,
    /// Its position among all senders of the run.
    pub position: u32,
}

/// Sends every line when it is due (open loop: a late line is sent late, and its latency
/// is counted from when it was due). Lines due at the same time go out in one write.
pub fn run_paced(
    mut senders: Vec<Paced>,
    board: &Board,
    schedule: Schedule,
    codec: Codec,
    dialect: Dialect,
) -> SenderReport {
    let mut batch = Batch::new(codec);
    let result = (|| -> io::Result<()> {
        loop {
            let now_us = board.now_us(Instant::now());
            let mut next_due: Option<u64> = None;
            for sender in &mut senders {
                while let Some(due) = schedule.due_us(sender.position, sender.out.sent) {
                    if due > now_us {
                        next_due = Some(next_due.map_or(due, |d| d.min(due)));
                        break;
                    }
                    batch.push(&sender.out, sender.out.sent, due);
                    sender.out.sent += 1;
                }
                batch.flush(&sender.out, board)?;
                board.set_sent(sender.out.index, u64::from(sender.out.sent));
            }
            let Some(next_due) = next_due else { break };
            let now_us = board.now_us(Instant::now());
            let wait = Duration::from_micros(next_due.saturating_sub(now_us));
            thread::sleep(wait.min(MAX_PACED_SLEEP));
        }
        let outs: Vec<&Outgoing> = senders.iter().map(|s| &s.out).collect();
        end_streams(outs, board, dialect)
    })();
    let outs: Vec<Outgoing> = senders.into_iter().map(|s| s.out).collect();
    report(&outs, result)
}

/// Token bytes of each stuffing `PING`: long lines, few of them, well under any sensible
/// `--max-line`.
const STUFFING_TOKEN: usize = 1000;
/// Bytes of one of the stalled clients' `PING` lines.
pub const STUFFING_LINE: usize = "PING \n".len() + STUFFING_TOKEN;
/// How often the stuffing thread tops the stalled clients up.
const STUFFING_TICK: Duration = Duration::from_millis(10);

/// Makes stalled clients fall behind fast: each sends `PING`s with long tokens, about
/// `bytes_per_second`, from `start_us` to `stop_us` (since the epoch), and never reads the
/// `PONG`s. A client stops when a write fails: the server has cut it. Returns how many were
/// cut.
///
/// Why: on loopback the kernel gives every TCP socket a send buffer of several MiB (the MSS
/// is 64 KiB), so a client that only stops reading the run's broadcast (tens of KiB a
/// second) would take minutes to fill it and the server's queue behind it. Its own replies
/// count against the same queue (see protocol.md, Slow consumers).
pub fn run_stuffing(
    streams: &[Arc<TcpStream>],
    board: &Board,
    start_us: u64,
    stop_us: u64,
    bytes_per_second: u64,
) -> usize {
    let token = "z".repeat(STUFFING_TOKEN);
    let line = format!(
        "{}\n",
        Command::Ping {
            token: Some(&token)
        }
    );
    let mut alive = vec![true; streams.len()];
    let mut lines_sent = 0u64;
    let mut batch = Vec::new();
    loop {
        let now_us = board.now_us(Instant::now());
        if now_us >= stop_us || !alive.contains(&true) {
            break;
        }
        if now_us < start_us {
            thread::sleep(Duration::from_micros(start_us - now_us).min(MAX_PACED_SLEEP));
            continue;
        }
        let bytes_due = u128::from(now_us - start_us) * u128::from(bytes_per_second) / 1_000_000;
        let lines_due = u64::try_from(bytes_due / line.len() as u128).unwrap_or(u64::MAX);
        let lines = lines_due.saturating_sub(lines_sent).min(1024);
        if lines > 0 {
            batch.clear();
            for _ in 0..lines {
                batch.extend_from_slice(line.as_bytes());
            }
            for (stream, alive) in streams.iter().zip(&mut alive) {
                if *alive && (&**stream).write_all(&batch).is_err() {
                    *alive = false;
                }
            }
            lines_sent += lines;
        }
        thread::sleep(STUFFING_TICK);
    }
    alive.iter().filter(|a| !**a).count()
}

/// The `PING` that tells the coordinator when a client's lines are all queued.
fn end_streams<'a>(
    outs: impl IntoIterator<Item = &'a Outgoing>,
    board: &Board,
    dialect: Dialect,
) -> io::Result<()> {
    outs.into_iter().try_for_each(|out| {
        let ping = out.transport.ping(dialect, Barrier::Sent.token());
        board.write(out.index, || out.stream.write_all(&ping))
    })
}

fn report(outs: &[Outgoing], result: io::Result<()>) -> SenderReport {
    SenderReport {
        sent: outs.iter().map(|o| (o.index, o.sent)).collect(),
        error: result.err().map(|e| e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due_count(schedule: &Schedule, senders: u32) -> u64 {
        (0..senders)
            .map(|p| {
                (0..)
                    .take_while(|&seq| schedule.due_us(p, seq).is_some())
                    .count() as u64
            })
            .sum()
    }

    #[test]
    fn the_schedule_delivers_the_asked_rate() {
        let schedule = Schedule::new(
            Duration::from_millis(500),
            Duration::from_secs(2),
            1000.0,
            20,
        );
        assert_eq!(due_count(&schedule, 20), 2000);
        assert_eq!(schedule.due_us(0, 0), Some(500_000));
        // Each sender every 20 ms, the senders 1 ms apart.
        assert_eq!(schedule.due_us(0, 1), Some(520_000));
        assert_eq!(schedule.due_us(3, 0), Some(503_000));
        assert_eq!(schedule.due_us(0, 100), None);
    }

    #[test]
    fn an_uneven_rate_still_sums_up() {
        let schedule = Schedule::new(Duration::ZERO, Duration::from_secs(3), 2513.0, 7);
        let total = due_count(&schedule, 7);
        assert!((7536..=7546).contains(&total), "{total}");
    }

    #[test]
    fn broadcast_lag_is_the_most_behind_receiver() {
        let board = Board::new(4, Instant::now());
        let flow = Flow::Broadcast {
            senders: vec![0, 1],
            receivers: vec![0, 1, 2, 3],
        };
        board.set_sent(0, 100);
        board.set_sent(1, 50);
        // Receiver 0 expects 50 (not its own), 1 expects 100, 2 and 3 expect 150.
        board.set_received(0, 50);
        board.set_received(1, 90);
        board.set_received(2, 150);
        board.set_received(3, 120);
        assert_eq!(flow.lag(&board, 0), 30);
        let pairs = Flow::Partners(vec![1, 0, 3, 2]);
        assert_eq!(pairs.lag(&board, 0), 10);
    }

    #[test]
    fn room_lag_is_the_most_behind_member_of_the_sender_s_room() {
        // Two rooms of three, clients 0..3 and 3..6; the first two of each send.
        let board = Board::new(6, Instant::now());
        let flow = Flow::Rooms {
            members: 3,
            senders: 2,
        };
        board.set_sent(0, 100);
        board.set_sent(1, 50);
        // Room 0: member 0 expects 50, 1 expects 100, 2 expects 150.
        board.set_received(0, 50);
        board.set_received(1, 60);
        board.set_received(2, 140);
        assert_eq!(flow.lag(&board, 0), 40);
        assert_eq!(flow.lag(&board, 1), 40);
        // Room 1 sent nothing yet; room 0's lines are none of its business.
        assert_eq!(flow.lag(&board, 3), 0);
        board.set_sent(4, 30);
        board.set_received(3, 10);
        board.set_received(5, 30);
        assert_eq!(flow.lag(&board, 4), 20);
    }
}
