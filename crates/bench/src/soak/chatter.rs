//! The clients that behave: a [`Peer`] is a registered connection whose reader thread reads
//! everything the server sends, answers the server's `PING`, and wakes whoever waits for a
//! `PONG`. Well-behaved clients ([`run_sender`]) send numbered `ALL` lines at a modest pace
//! with a `PING` barrier every few lines, and their readers check every numbered line they
//! get ([`Tally`]); a flood (in `flood`) is a `Peer` that sends as fast as its barriers let
//! it and checks nothing.
//!
//! In scope: connecting and registering peers, their reader and sender threads, barriers,
//! what each well-behaved receiver counts (numbered lines through `loadgen::check`, latency,
//! the chaos clients' `JOIN` and `QUIT` announcements).
//! Out of scope: judging the counts (`outcome`) and the misbehaving clients (`faults`,
//! `flood`).

use std::collections::HashMap;
use std::io::{self, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use hdrhistogram::Histogram;
use parking_lot::{Condvar, Mutex};

use crate::loadgen::check::{Counts, OrderLog, ReceiverCheck};
use crate::loadgen::client;
use crate::loadgen::outcome;
use crate::soak::shared::Shared;
use chatd_proto::{Command, Reply, reason, text};

/// Text that starts every half-written line a chaos client leaves behind: a receiver that
/// ever gets an `ALL` starting with it saw a partial line executed.
pub const HALF_LINE_MARK: &str = "half-";

/// Text in every message text the bad-text fault sends with a refused character: the server
/// must refuse the line, so a receiver that ever gets a line holding it saw a text that
/// should have been refused delivered anyway (raw, or mended).
pub const REFUSED_TEXT_MARK: &str = "refuse-me-";

/// How one of the chaos clients left, as its `QUIT` announcement says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Left {
    /// `QUIT <nick> [reason]` after the client's own `QUIT [reason]` (or any reason the
    /// server does not give itself).
    Quit(Option<String>),
    Closed,
    Reset,
    Slow,
    PingTimeout,
    WriteTimeout,
}

impl Left {
    /// What the reason of a `QUIT` line means.
    pub fn from_reason(text: Option<&str>) -> Left {
        match text {
            Some(reason::CONNECTION_CLOSED) => Left::Closed,
            Some(reason::CONNECTION_RESET) => Left::Reset,
            Some(reason::SLOW_CONSUMER) => Left::Slow,
            Some(reason::PING_TIMEOUT) => Left::PingTimeout,
            Some(reason::WRITE_TIMEOUT) => Left::WriteTimeout,
            other => Left::Quit(other.map(str::to_owned)),
        }
    }
}

/// What one receiver saw of one chaos nick.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Announced {
    pub joins: u32,
    pub quits: u32,
    /// A `QUIT` came before any `JOIN`.
    pub quit_first: bool,
    /// The reason of the first `QUIT`.
    pub left: Option<Left>,
}

/// What one well-behaved receiver counted.
#[derive(Debug)]
pub struct Tally {
    check: ReceiverCheck,
    pub seen: Seen,
}

/// Everything a receiver counts besides the numbered-line check.
#[derive(Debug)]
pub struct Seen {
    /// Microseconds from send to receipt of the well-behaved clients' lines.
    pub latency_us: Histogram<u64>,
    /// Unnumbered `ALL` lines of chaos clients.
    pub chaos_lines: u64,
    /// `ALL` lines that were a chaos client's half-written line: executed though cut off.
    pub partial_executed: u64,
    /// Lines holding a character the text rule refuses (a control character, a line
    /// separator, a bidirectional control): the server relayed a client's text unmended.
    pub refused_characters: u64,
    /// Lines carrying a text the server should have refused (`REFUSED_TEXT_MARK`).
    pub refused_delivered: u64,
    pub first_refused: Option<String>,
    /// By chaos index.
    pub announced: HashMap<u32, Announced>,
    pub joins: u64,
    pub quits: u64,
    /// The server's `PING idle`, answered.
    pub server_pings: u64,
    /// Lines about nicks of no one in this run (another client of a shared server).
    pub foreign: u64,
    /// Lines the protocol does not promise a well-behaved client: `ERR`, unparsable lines.
    pub unexpected: u64,
    pub first_unexpected: Option<String>,
}

impl Tally {
    fn new(senders: usize) -> Tally {
        Tally {
            check: ReceiverCheck::new(senders, true),
            seen: Seen {
                latency_us: outcome::latency_histogram(),
                chaos_lines: 0,
                partial_executed: 0,
                refused_characters: 0,
                refused_delivered: 0,
                first_refused: None,
                announced: HashMap::new(),
                joins: 0,
                quits: 0,
                server_pings: 0,
                foreign: 0,
                unexpected: 0,
                first_unexpected: None,
            },
        }
    }

    /// The numbered lines' counts, given each sender's lines and this receiver's own
    /// number (it does not get its own lines), and its arrival order for the order check.
    pub fn finish(self, own: usize, sent: impl Fn(usize) -> u32) -> (Counts, OrderLog, Seen) {
        let (counts, order) = self
            .check
            .finish(|slot| if slot == own { 0 } else { sent(slot) });
        let log = OrderLog {
            receiver: u32::try_from(own).expect("senders fit in u32"),
            ids: order.unwrap_or_default(),
        };
        (counts, log, self.seen)
    }
}

impl Seen {
    fn unexpected(&mut self, line: &str) {
        self.unexpected += 1;
        self.first_unexpected
            .get_or_insert_with(|| truncate(line, 120).to_owned());
    }

    /// Checks a received line against the text rule: no refused character, and no text the
    /// server should have refused.
    fn check_text(&mut self, line: &str) {
        let refused = text::find_refused(line).is_some();
        let delivered = line.contains(REFUSED_TEXT_MARK);
        if refused || delivered {
            self.refused_characters += u64::from(refused);
            self.refused_delivered += u64::from(delivered);
            self.first_refused
                .get_or_insert_with(|| format!("{:?}", truncate(line, 120)));
        }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// What a peer's reader and the threads waiting on it share.
#[derive(Default)]
struct Progress {
    /// Guards the reader's news; a mutex and condition variable because waiters wait for a
    /// value to reach a target, with a deadline.
    state: Mutex<ProgressState>,
    changed: Condvar,
}

#[derive(Default)]
struct ProgressState {
    /// The highest barrier number answered.
    pong: u64,
    /// Chaos nicks whose `QUIT` this receiver has seen.
    chaos_gone: u64,
    /// The reader has stopped: why, if it was not the `BYE` after our `QUIT`.
    ended: Option<Option<String>>,
    /// We sent `QUIT`, so a `BYE` is the expected end.
    quitting: bool,
}

/// How a peer's connection ended.
#[derive(Debug)]
pub struct PeerEnd {
    /// Why the connection ended before our `QUIT` was answered; `None` for a clean end.
    pub lost: Option<String>,
    pub tally: Option<Tally>,
}

/// A registered connection with a reader thread.
pub struct Peer {
    pub nick: String,
    /// Writes come from the sender, the reader (answers to the server's `PING`) and the
    /// coordinator (barriers, `QUIT`): whole lines under this lock, never interleaved.
    writer: Arc<Mutex<TcpStream>>,
    progress: Arc<Progress>,
    reader: Option<JoinHandle<PeerEnd>>,
    /// The number of the next `PING` barrier.
    next_barrier: AtomicU64,
}

/// Which lines a peer's reader checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A well-behaved client: checks every numbered line and announcement.
    WellBehaved,
    /// A flood: reads everything and checks nothing.
    Flooder,
}

impl Peer {
    /// Connects from `source` (the kernel's choice if `None`), registers `nick` and starts
    /// the reader. `deadline` bounds the reader's life.
    pub fn connect(
        shared: &Arc<Shared>,
        nick: &str,
        role: Role,
        source: Option<IpAddr>,
        deadline: Instant,
    ) -> io::Result<Peer> {
        let options = client::SocketOptions {
            source,
            ..client::SocketOptions::default()
        };
        let stream = client::connect_with(shared.addr, &options)?;
        let pending = client::register(&stream, nick)?;
        let writer = Arc::new(Mutex::new(stream.try_clone()?));
        let progress = Arc::new(Progress::default());
        let reader = {
            let shared = Arc::clone(shared);
            let writer = Arc::clone(&writer);
            let progress = Arc::clone(&progress);
            let tally = (role == Role::WellBehaved).then(|| Tally::new(shared.senders()));
            thread::Builder::new()
                .name(format!("soak-read-{nick}"))
                .stack_size(256 * 1024)
                .spawn(move || {
                    read_all(
                        &shared, &stream, pending, deadline, &writer, &progress, tally,
                    )
                })?
        };
        Ok(Peer {
            nick: nick.to_owned(),
            writer,
            progress,
            reader: Some(reader),
            next_barrier: AtomicU64::new(1),
        })
    }

    /// Writes `bytes` (whole lines) at once.
    pub fn write(&self, bytes: &[u8]) -> io::Result<()> {
        self.writer.lock().write_all(bytes)
    }

    pub fn send(&self, command: &Command<'_>) -> io::Result<()> {
        self.write(format!("{command}\n").as_bytes())
    }

    /// Sends `PING <n>` with the next barrier number, without waiting.
    pub fn ping(&self) -> io::Result<u64> {
        let number = self.next_barrier.fetch_add(1, Ordering::Relaxed);
        self.send(&Command::Ping {
            token: Some(&number.to_string()),
        })?;
        Ok(number)
    }

    /// Waits until barrier `number` is answered, at most until `deadline`.
    pub fn wait_pong(&self, number: u64, deadline: Instant) -> Result<(), String> {
        self.wait_for(deadline, &format!("PONG {number}"), |state| {
            state.pong >= number
        })
    }

    /// `PING`, and waits for the `PONG`: everything this peer sent before is queued for its
    /// recipients, and everything queued for this peer before is read. Returns how long it
    /// took.
    pub fn barrier(&self, timeout: Duration) -> Result<Duration, String> {
        let start = Instant::now();
        let number = self
            .ping()
            .map_err(|e| format!("{}: PING: {e}", self.nick))?;
        self.wait_pong(number, start + timeout)?;
        Ok(start.elapsed())
    }

    /// Waits until this receiver has seen the `QUIT` of `count` chaos nicks.
    pub fn wait_chaos_gone(&self, count: u64, deadline: Instant) -> Result<(), String> {
        self.wait_for(
            deadline,
            &format!("QUIT of {count} chaos clients"),
            |state| state.chaos_gone >= count,
        )
    }

    /// Chaos nicks whose `QUIT` this receiver has seen so far.
    pub fn chaos_gone(&self) -> u64 {
        self.progress.state.lock().chaos_gone
    }

    fn wait_for(
        &self,
        deadline: Instant,
        what: &str,
        done: impl Fn(&ProgressState) -> bool,
    ) -> Result<(), String> {
        let mut state = self.progress.state.lock();
        loop {
            if done(&state) {
                return Ok(());
            }
            if let Some(why) = &state.ended {
                return Err(format!(
                    "{}: waiting for {what}: connection ended: {}",
                    self.nick,
                    why.as_deref().unwrap_or("BYE")
                ));
            }
            if self
                .progress
                .changed
                .wait_until(&mut state, deadline)
                .timed_out()
            {
                return Err(format!("{}: no {what} in time", self.nick));
            }
        }
    }

    /// Sends `QUIT [reason]` and waits for the reader to see `BYE` and the end of the stream.
    pub fn quit(mut self, reason: Option<&str>) -> PeerEnd {
        self.progress.state.lock().quitting = true;
        let sent = self.send(&Command::Quit { reason });
        let end = self.join_reader();
        match sent {
            Ok(()) => end,
            Err(e) => PeerEnd {
                lost: Some(end.lost.unwrap_or_else(|| format!("QUIT: {e}"))),
                tally: end.tally,
            },
        }
    }

    /// Cuts the connection (both directions) and collects the reader: for a peer that can
    /// no longer leave politely.
    pub fn abandon(mut self) -> PeerEnd {
        let _ = self.writer.lock().shutdown(std::net::Shutdown::Both);
        self.join_reader()
    }

    fn join_reader(&mut self) -> PeerEnd {
        let reader = self.reader.take().expect("the reader is joined once");
        reader.join().unwrap_or_else(|_| PeerEnd {
            lost: Some("the reader thread panicked".to_owned()),
            tally: None,
        })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if self.reader.is_some() {
            let _ = self.writer.lock().shutdown(std::net::Shutdown::Both);
            let _ = self.join_reader();
        }
    }
}

/// The reader thread: every line until the `BYE` after our `QUIT` and the end of the
/// stream, or until the connection is lost or `deadline` passes.
fn read_all(
    shared: &Shared,
    stream: &TcpStream,
    pending: Vec<u8>,
    deadline: Instant,
    writer: &Mutex<TcpStream>,
    progress: &Progress,
    mut tally: Option<Tally>,
) -> PeerEnd {
    let mut bye = false;
    let result = client::read_until(stream, pending, deadline, "BYE", |line| {
        let Ok(text) = std::str::from_utf8(line) else {
            if let Some(tally) = &mut tally {
                tally.seen.unexpected(&String::from_utf8_lossy(line));
            }
            return Ok(false);
        };
        if let Some(tally) = &mut tally {
            tally.seen.check_text(text);
        }
        let reply = match Reply::parse(text) {
            Ok(reply) => reply,
            Err(_) => {
                if let Some(tally) = &mut tally {
                    tally.seen.unexpected(text);
                }
                return Ok(false);
            }
        };
        match reply {
            Reply::Pong { token } => {
                if let Some(number) = token.and_then(|t| t.parse::<u64>().ok()) {
                    let mut state = progress.state.lock();
                    state.pong = state.pong.max(number);
                    progress.changed.notify_all();
                }
            }
            Reply::Ping { token } => {
                let pong = format!(
                    "{}\n",
                    Command::Pong {
                        token: token.as_deref()
                    }
                );
                writer.lock().write_all(pong.as_bytes())?;
                if let Some(tally) = &mut tally {
                    tally.seen.server_pings += 1;
                }
            }
            Reply::Bye { reason } => {
                if progress.state.lock().quitting && reason.is_none() {
                    bye = true;
                    return Ok(true);
                }
                return Err(io::Error::other(format!(
                    "the server said {}",
                    Reply::Bye { reason }
                )));
            }
            other => {
                if let Some(tally) = &mut tally {
                    observe(shared, tally, progress, other, text);
                }
            }
        }
        Ok(false)
    });
    // After BYE the server closes: the end of the stream must follow, and nothing else.
    let lost = match result {
        Ok(rest) if bye => {
            let after = client::read_until(stream, rest, deadline, "the end", |line| {
                Err(io::Error::other(format!(
                    "a line after BYE: {}",
                    String::from_utf8_lossy(line)
                )))
            });
            match after {
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => None,
                Err(e) => Some(e.to_string()),
                Ok(_) => Some("no end of stream after BYE".to_owned()),
            }
        }
        Ok(_) => Some("the reader stopped early".to_owned()),
        Err(e) => Some(e.to_string()),
    };
    let mut state = progress.state.lock();
    state.ended = Some(lost.clone());
    progress.changed.notify_all();
    drop(state);
    PeerEnd { lost, tally }
}

/// What a well-behaved receiver makes of a line other than `PING`, `PONG` and `BYE`.
fn observe(shared: &Shared, tally: &mut Tally, progress: &Progress, reply: Reply, text: &str) {
    let names = &shared.names;
    match reply {
        Reply::All { from, text: body } => {
            let from = from.as_str().as_bytes();
            if let Some(index) = names.chat.index_of(from) {
                match shared.decode(body.as_bytes()) {
                    Ok(stamp) if stamp.sender == index => {
                        tally.check.delivery(index as usize, stamp.seq);
                        let latency = shared.micros_now().saturating_sub(stamp.sent_us);
                        let _ = tally.seen.latency_us.record(latency.max(1));
                    }
                    _ => tally.check.corrupt(),
                }
            } else if let Some(index) = names.chaos.index_of(from) {
                match shared.decode(body.as_bytes()) {
                    Ok(stamp) if shared.is_flood_owner(stamp.sender as usize, index) => {
                        tally.check.delivery(stamp.sender as usize, stamp.seq);
                    }
                    Ok(_) => tally.check.corrupt(),
                    Err(_) if body.starts_with(HALF_LINE_MARK) => tally.seen.partial_executed += 1,
                    Err(_) => tally.seen.chaos_lines += 1,
                }
            } else {
                tally.seen.foreign += 1;
            }
        }
        Reply::Join(nick) => match names.chaos.index_of(nick.as_str().as_bytes()) {
            Some(index) => {
                tally.seen.joins += 1;
                tally.seen.announced.entry(index).or_default().joins += 1;
            }
            None => {
                tally.seen.foreign +=
                    u64::from(names.chat.index_of(nick.as_str().as_bytes()).is_none())
            }
        },
        Reply::Quit { nick, reason } => match names.chaos.index_of(nick.as_str().as_bytes()) {
            Some(index) => {
                tally.seen.quits += 1;
                let seen = tally.seen.announced.entry(index).or_default();
                seen.quits += 1;
                if seen.quits == 1 {
                    seen.quit_first = seen.joins == 0;
                    seen.left = Some(Left::from_reason(reason.as_deref()));
                    let mut state = progress.state.lock();
                    state.chaos_gone += 1;
                    progress.changed.notify_all();
                }
            }
            None => {
                tally.seen.foreign +=
                    u64::from(names.chat.index_of(nick.as_str().as_bytes()).is_none())
            }
        },
        // Room lines and private messages are not sent to a well-behaved client: it is in no
        // room and nobody writes to it.
        _ => tally.seen.unexpected(text),
    }
}

/// What a well-behaved sender did.
#[derive(Debug, Default, Clone)]
pub struct SenderReport {
    pub sent: u32,
    pub barriers: u64,
    pub slowest_barrier: Duration,
    /// A write or barrier that failed; the sender stopped there.
    pub failure: Option<String>,
}

/// A well-behaved client's sending: one numbered `ALL` per `interval` (a late line is sent
/// at once, never skipped), a barrier every `barrier_every` lines, until `stop` is dropped;
/// then a last barrier, so that every line it sent is queued for its recipients when this
/// returns.
pub fn run_sender(
    shared: &Shared,
    peer: &Peer,
    sender: usize,
    interval: Duration,
    barrier_every: u32,
    stop: &Receiver<()>,
) -> SenderReport {
    let mut report = SenderReport::default();
    let timeout = shared.reply_timeout();
    let mut line = String::new();
    let mut next = Instant::now() + interval;
    let result = (|| -> Result<(), String> {
        // The stop channel doubles as the pace: it is only ever dropped, never sent to.
        while let Err(RecvTimeoutError::Timeout) = stop.recv_deadline(next) {
            line.clear();
            line.push_str("ALL ");
            shared.payload(sender, report.sent, &mut line);
            line.push('\n');
            peer.write(line.as_bytes())
                .map_err(|e| format!("{}: ALL: {e}", peer.nick))?;
            report.sent += 1;
            shared.set_sent(sender, report.sent);
            if report.sent % barrier_every == 0 {
                let took = peer.barrier(timeout)?;
                report.barriers += 1;
                report.slowest_barrier = report.slowest_barrier.max(took);
            }
            // Behind by more than a second (a stalled machine): do not send a burst to catch up.
            next = (next + interval).max(Instant::now() - Duration::from_secs(1));
        }
        let took = peer.barrier(timeout)?;
        report.barriers += 1;
        report.slowest_barrier = report.slowest_barrier.max(took);
        Ok(())
    })();
    report.failure = result.err();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quit_reasons_map_to_how_the_client_left() {
        assert_eq!(Left::from_reason(Some("connection closed")), Left::Closed);
        assert_eq!(Left::from_reason(Some("connection reset")), Left::Reset);
        assert_eq!(
            Left::from_reason(Some("slow consumer: outbound queue full")),
            Left::Slow
        );
        assert_eq!(Left::from_reason(Some("ping timeout")), Left::PingTimeout);
        assert_eq!(Left::from_reason(None), Left::Quit(None));
        assert_eq!(
            Left::from_reason(Some("soak 12")),
            Left::Quit(Some("soak 12".to_owned()))
        );
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("hello", 3), "hel");
        assert_eq!(truncate("hi", 10), "hi");
    }
}
