//! One accepted connection, and a worker's turn on it: read what is there, execute each
//! complete line within the turn's budget and the client's flood control (`flood`), then
//! re-arm the readiness, ask for another turn, pause until tokens refill, or end the
//! connection. Also [`Connections`], the table of open connections.
//!
//! In scope: the reading half of the socket, the line buffer, flood control (when to stop
//! reading; a pause and who ends it, including the peer hanging up meanwhile), the end of a
//! connection (why it ended, who is told), the table that finds a connection by id, and what
//! `STATS` learns from a turn (the lines it ran, when it started: `metrics::TurnClock`). Out of
//! scope: what lines mean (`session`), writing (`writer`), queueing turns (`turns`), waiting
//! for tokens (`throttle`), and the connection's place in the open counts, which its socket
//! holds until the last handle on it drops (`socket_io::ClientSocket`).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::config::Config;
use crate::server::address_budget::AddressBudgets;
use crate::server::cluster_link::Answer;
use crate::server::conn_id::ConnId;
use crate::server::flood::Flood;
use crate::server::login::Verdict;
use crate::server::metrics::TurnClock;
use crate::server::readiness::{HangUp, Readiness};
use crate::server::registry::Registry;
use crate::server::session::{Answered, Awaited, Flow, Session};
use crate::server::socket_io::ClientSocket;
use chatd_proto::LineBuffer;
use chatd_proto::reason;

/// Bytes taken from the socket per `recv`.
const READ_CHUNK: usize = 16 * 1024;
/// A turn reads at most this many times and executes at most `LINES_PER_TURN` lines, so a
/// flooding client cannot keep a worker from the others: a broadcast line costs work for
/// every recipient, and 16 KiB of short `ALL` lines to thousands of clients is millions of
/// pushes. Bytes left in the socket bring the connection back through the poller; lines left
/// in the buffer through a turn it queues itself.
const READS_PER_TURN: usize = 4;
const LINES_PER_TURN: usize = 64;

pub struct Connection {
    id: ConnId,
    peer: SocketAddr,
    /// Shared with this connection's writer thread. Blocking mode, always: the writer relies
    /// on blocking writes, so reads here ask for non-blocking behaviour per call instead of
    /// setting `O_NONBLOCK`, which would be shared by every handle of the socket.
    socket: Arc<ClientSocket>,
    /// Locked by the one worker that has the connection's turn; the one-shot read interest
    /// (and a turn queueing the next one only instead of re-arming, and a pause ended only
    /// once) makes that at most one at a time, so this lock is never contended except
    /// against the timeouts thread and the final teardown at shutdown.
    state: Mutex<State>,
    /// What the timeout checks read without the state lock.
    activity: Activity,
    /// Set while flood control holds the connection: no turn is queued, nothing reads it and
    /// its read interest is not armed. Whoever clears it (the throttle when its tokens are
    /// back, the poller when its peer hangs up) queues its next turn, so exactly one does.
    paused: AtomicBool,
    /// How the peer hung up, as the hang-up watch saw it during a pause (`HangUp as u8`, 0
    /// until then; a reset outranks a FIN). Read at the start of every turn.
    hung_up: AtomicU8,
    /// The answer to the session's account command, from a verification thread, for the
    /// turn that answer queues.
    verdict: Mutex<Option<Answered>>,
}

/// When a connection was last heard from, for `--register-timeout` and `--idle-timeout`.
struct Activity {
    connected: Instant,
    /// Nanoseconds after `connected` when input last arrived. Not milliseconds: rounded down
    /// to one, the silence looked up to 1 ms longer than it was, and a timeout could fire
    /// that much early.
    last_input_ns: AtomicU64,
    /// Whether the session has a nick, as of the end of the last turn.
    registered: AtomicBool,
    /// Whether the server has sent `PING` since the last input.
    pinged: AtomicBool,
}

/// What a timeout check found to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overdue {
    Nothing,
    /// Silent for `--idle-timeout`: send `PING`.
    Ping,
    /// No nick after `--register-timeout`, or silent after the `PING`: close with this reason.
    Close(&'static str),
}

struct State {
    lines: LineBuffer,
    /// `None` when flood control is off (`--rate 0`), and once the peer has sent its FIN
    /// (what it sent before runs without waiting for tokens).
    flood: Option<Flood>,
    /// `None` once the connection has ended.
    session: Option<Session>,
}

/// What follows a turn, for the one who scheduled it.
#[derive(Debug)]
pub enum Next {
    /// The read interest was re-armed, or the connection has ended: nothing to do.
    Done,
    /// Lines may still be buffered: queue another turn (the read interest is not armed).
    AnotherTurn,
    /// Over its rate, and paused: queue the next turn at this instant, unless the pause ends
    /// sooner (the peer hanging up). The read interest is not armed, so the client's further
    /// bytes wait in the kernel and TCP slows the sender.
    Paused(Instant),
    /// An account command waits for the verification threads, or a claim or barrier for the
    /// cluster: hand them this work; its answer ([`Connection::answered`],
    /// [`Connection::answered_in_cluster`]) queues the next turn. The read interest is not armed
    /// meanwhile, so nothing else the client sent runs before the answer.
    Await(Awaited),
    /// End this other connection (it held the account just logged in to), then queue
    /// another turn of this one.
    Evict(ConnId),
}

/// How a turn stopped.
enum Turn {
    /// `LINES_PER_TURN` lines ran; more may be buffered.
    LineBudgetUsed,
    /// The client used its tokens; it may go on at this instant.
    OverRate(Instant),
    /// See [`Next::Await`].
    Await(Awaited),
    /// See [`Next::Evict`].
    Evict(ConnId),
    /// An answer is awaited; the answer queues the next turn.
    Wait,
    /// Every buffered complete line has run; whatever is left is in the socket (the socket
    /// was empty or the read budget is spent), and the readiness will report it.
    NeedsReadiness,
    Ended(End),
}

/// Why a connection ends.
enum End {
    /// The client said `QUIT`: already announced, `BYE` queued.
    Quit,
    /// The client closed its side: the queued replies are still written, then FIN.
    Closed,
    Failed(io::Error),
    SlowConsumer,
}

impl End {
    /// What the others are told: `None` after a `QUIT` (its own reason went out with it).
    /// A writer that cut the connection for `--write-timeout` shut the socket down first, so
    /// whatever the reading side saw after that (the end, or the reset a peer answers with
    /// when it writes on) was caused by the timeout.
    fn reason(&self, write_timed_out: bool) -> Option<String> {
        let reason = match self {
            End::Quit => return None,
            End::SlowConsumer => reason::SLOW_CONSUMER,
            _ if write_timed_out => reason::WRITE_TIMEOUT,
            End::Closed => reason::CONNECTION_CLOSED,
            End::Failed(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                reason::CONNECTION_RESET
            }
            End::Failed(error) => return Some(format!("connection error: {error}")),
        };
        Some(reason.to_owned())
    }
}

impl Connection {
    pub fn new(
        id: ConnId,
        peer: SocketAddr,
        socket: Arc<ClientSocket>,
        max_line: usize,
        flood: Option<Flood>,
        session: Session,
    ) -> Connection {
        Connection {
            id,
            peer,
            socket,
            state: Mutex::new(State {
                lines: LineBuffer::new(max_line),
                flood,
                session: Some(session),
            }),
            activity: Activity {
                connected: Instant::now(),
                last_input_ns: AtomicU64::new(0),
                registered: AtomicBool::new(false),
                pinged: AtomicBool::new(false),
            },
            paused: AtomicBool::new(false),
            hung_up: AtomicU8::new(0),
            verdict: Mutex::new(None),
        }
    }

    /// Which timeout, if any, this connection has reached.
    pub fn overdue(&self, register_timeout: Duration, idle_timeout: Duration) -> Overdue {
        let activity = &self.activity;
        let age = activity.connected.elapsed();
        if !activity.registered.load(Ordering::Relaxed) {
            return if age >= register_timeout {
                Overdue::Close(reason::REGISTER_TIMEOUT)
            } else {
                Overdue::Nothing
            };
        }
        if self.paused.load(Ordering::SeqCst) {
            // Flood control holds it back: what it has sent waits on us, not on it. A pause
            // may outlast the idle timeout (one read of 16 KiB at a byte rate of a few KiB/s,
            // or an address budget shared with many connections), and a `PING` would not
            // even be read before the pause ends.
            return Overdue::Nothing;
        }
        let heard = Duration::from_nanos(activity.last_input_ns.load(Ordering::Relaxed));
        let silent = age.saturating_sub(heard);
        if activity.pinged.load(Ordering::Relaxed) {
            // The PING went out once the client had been silent for `idle_timeout`.
            if silent >= idle_timeout * 2 {
                return Overdue::Close(reason::PING_TIMEOUT);
            }
        } else if silent >= idle_timeout {
            return Overdue::Ping;
        }
        Overdue::Nothing
    }

    /// Sends `PING` to a silent client.
    pub fn ping(&self) {
        let guard = self.state.lock();
        if let Some(session) = &guard.session {
            session.ping();
            self.activity.pinged.store(true, Ordering::Relaxed);
        }
    }

    /// Closes the connection for a timeout: the others are told `QUIT <nick> <reason>` if it
    /// was registered, the client gets `BYE <reason>`, then the writer drains and closes.
    pub fn end_for(&self, reason: &str, registry: &Registry, conns: &Connections) {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        let Some(session) = state.session.as_mut() else {
            return;
        };
        session.leave(Some(reason), registry);
        session.say_goodbye(reason);
        log::debug!("conn#{} {}: closed ({reason})", self.id, self.peer);
        self.forget(state, conns);
    }

    /// Takes flood-control settings from a reload: new buckets at the new rates (full, as a
    /// new connection's), or none with `--rate 0`. A connection whose peer has sent its FIN
    /// keeps running its backlog without them.
    pub fn set_flood(&self, config: &Config, budgets: &Arc<AddressBudgets>) {
        let mut state = self.state.lock();
        if state.session.is_none() || self.hang_up() == Some(HangUp::Fin) {
            return;
        }
        state.flood = Flood::new(config, self.peer.ip(), budgets, Instant::now());
    }

    /// Notes that the hang-up watch saw the peer go. The turn that the end of the pause
    /// queues acts on it.
    pub fn peer_hung_up(&self, how: HangUp) {
        self.hung_up.fetch_max(how as u8, Ordering::SeqCst);
    }

    /// Ends the pause, if the connection is paused. True for exactly one caller per pause,
    /// which must then queue the connection's turn.
    pub fn end_pause(&self) -> bool {
        let ended = self.paused.swap(false, Ordering::SeqCst);
        if ended {
            // The idle clock starts again from the end of the pause, not from before it
            // (see `overdue`), so the turn this queues is not beaten by a timeout.
            self.heard();
        }
        ended
    }

    /// Notes that input arrived: the idle clock restarts and a `PING` is answered.
    fn heard(&self) {
        let activity = &self.activity;
        // u64 nanoseconds last 584 years.
        let ns = u64::try_from(activity.connected.elapsed().as_nanos()).unwrap_or(u64::MAX);
        activity.last_input_ns.store(ns, Ordering::Relaxed);
        activity.pinged.store(false, Ordering::Relaxed);
    }

    /// A worker's turn on this connection: execute what is buffered and what the socket
    /// holds, within the turn's budget; then re-arm the read interest, ask for another turn,
    /// pause, or end the connection.
    pub fn take_turn(&self, registry: &Registry, conns: &Connections) -> Next {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if state.session.is_none() {
            return Next::Done;
        }
        // One clock read per turn: the buckets refill, and the group is charged, as of now;
        // and the deliveries of its lines are timed from now (`STATS`).
        let now = Instant::now();
        let _clock = TurnClock::start(now);
        let mut ran = 0;
        let mut turn = match self.hang_up() {
            // Gone both ways: nothing it sent is executed any more, and its replies could
            // not be written.
            Some(HangUp::Reset) => Turn::Ended(self.gone()),
            Some(HangUp::Fin) => {
                // The peer cannot send more, and what it sent is bounded by the socket's
                // receive buffer: it runs now, in order, and then the connection ends.
                state.flood = None;
                self.run_turn(state, registry, now, &mut ran)
            }
            None => self.run_turn(state, registry, now, &mut ran),
        };
        registry.metrics().lines_in(ran);
        // The address group pays for the whole turn at once; a turn that used the group's
        // budget up pauses the connection rather than go on.
        if let Some(until) = state.flood.as_mut().and_then(|flood| flood.end_turn(now)) {
            match turn {
                Turn::LineBudgetUsed | Turn::NeedsReadiness => turn = Turn::OverRate(until),
                Turn::OverRate(at) => turn = Turn::OverRate(at.max(until)),
                // Paid for: the answer's turn starts with flood control's own check.
                Turn::Await(_) | Turn::Evict(_) | Turn::Wait | Turn::Ended(_) => {}
            }
        }
        if let Some(session) = &state.session {
            let registered = session.is_registered();
            self.activity
                .registered
                .store(registered, Ordering::Relaxed);
        }
        let next = match turn {
            Turn::LineBudgetUsed => Next::AnotherTurn,
            Turn::OverRate(at) => Next::Paused(at),
            Turn::Await(job) => Next::Await(job),
            Turn::Evict(other) => Next::Evict(other),
            Turn::Wait => Next::Done,
            // A TLS record's plaintext not handed out yet: readiness would not report it.
            Turn::NeedsReadiness if self.socket.has_buffered_input() => Next::AnotherTurn,
            Turn::NeedsReadiness => {
                if let Err(error) = conns.readiness.rearm(&self.socket, self.id) {
                    self.end(state, End::Failed(error), registry, conns);
                }
                Next::Done
            }
            Turn::Ended(end) => {
                self.end(state, end, registry, conns);
                Next::Done
            }
        };
        // With the lock released: a hang-up seen as soon as the watch is armed queues a
        // turn at once, which must not find the lock still held.
        drop(guard);
        if let Next::Paused(_) = next {
            self.pause(&conns.readiness);
        }
        next
    }

    /// Runs what the turn may, counting the lines executed into `ran`.
    fn run_turn(
        &self,
        state: &mut State,
        registry: &Registry,
        now: Instant,
        ran: &mut usize,
    ) -> Turn {
        let session = state
            .session
            .as_mut()
            .expect("take_turn checked the session");
        let mut chunk = [0u8; READ_CHUNK];
        let mut lines_left = LINES_PER_TURN;
        let mut reads_left = READS_PER_TURN;
        if let Some(flood) = &mut state.flood {
            if let Err(until) = flood.start_turn(now) {
                return Turn::OverRate(until);
            }
        }
        // Only a session waiting for an answer has one coming: no lock on other turns.
        let verdict = if session.awaits_answer() {
            self.verdict.lock().take()
        } else {
            None
        };
        if let Some(flow) = session.resume(verdict, registry) {
            if let Some(stop) = stop_for(flow, session) {
                return stop;
            }
        }
        loop {
            while lines_left > 0 {
                // Checked before reading too: a client without tokens is not read at all.
                if let Some(Err(until)) = state.flood.as_ref().map(Flood::check) {
                    return Turn::OverRate(until);
                }
                let Some(frame) = state.lines.next_frame() else {
                    break;
                };
                if let Some(flood) = &mut state.flood {
                    flood.take_line();
                }
                if lines_left == LINES_PER_TURN {
                    // A line that ran is a line heard, also when it was read long ago: flood
                    // control may keep a client's backlog waiting for longer than
                    // --idle-timeout, and that client is anything but silent.
                    self.heard();
                }
                lines_left -= 1;
                *ran += 1;
                let flow = session.on_frame(frame, registry);
                // What the command produced for the client itself: a WHO costs its list.
                let answered = session.take_answered_bytes();
                if let Some(flood) = state.flood.as_mut().filter(|_| answered > 0) {
                    flood.charge_bytes(answered);
                }
                if let Some(stop) = stop_for(flow, session) {
                    return stop;
                }
            }
            if lines_left == 0 {
                return Turn::LineBudgetUsed;
            }
            // Every complete line read so far has run.
            if reads_left == 0 {
                return Turn::NeedsReadiness;
            }
            reads_left -= 1;
            match self.socket.read_now(&mut chunk) {
                Ok(0) => return Turn::Ended(End::Closed),
                Ok(n) => {
                    self.heard();
                    if let Some(flood) = &mut state.flood {
                        flood.charge_bytes(n);
                    }
                    state.lines.push(&chunk[..n]);
                    if n < chunk.len() {
                        // A short read emptied the socket; another recv would say WouldBlock.
                        reads_left = 0;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Turn::NeedsReadiness,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Turn::Ended(End::Failed(e)),
            }
        }
    }

    /// Hands over the answer to the session's account command; the caller then queues the
    /// turn that acts on it ([`Connection::hold`] first, for an answer that waits).
    pub fn answered(&self, verdict: Verdict) {
        *self.verdict.lock() = Some(Answered::Account(verdict));
    }

    /// Hands over the cluster's answer to the session's errand; the caller then queues the
    /// turn that acts on it.
    pub fn answered_in_cluster(&self, answer: Answer) {
        *self.verdict.lock() = Some(Answered::Cluster(answer));
    }

    /// Pauses the connection while an answer waits out its delay (a failed login): the
    /// throttle thread ends the pause on time, or the poller if the peer hangs up first.
    pub fn hold(&self, readiness: &Readiness) {
        self.pause(readiness);
    }

    /// Marks the connection paused, then has its peer watched: the watch may report at once
    /// (a FIN or reset that came before), and its report must find the pause to end.
    fn pause(&self, readiness: &Readiness) {
        self.paused.store(true, Ordering::SeqCst);
        if let Err(error) = readiness.watch_hang_up(&self.socket, self.id) {
            // Its tokens still bring it back; a hang-up is then noticed that much later.
            log::error!(
                "conn#{} {}: cannot watch for a hang-up while paused: {error}",
                self.id,
                self.peer
            );
        }
    }

    fn hang_up(&self) -> Option<HangUp> {
        match self.hung_up.load(Ordering::SeqCst) {
            0 => None,
            n if n == HangUp::Fin as u8 => Some(HangUp::Fin),
            _ => Some(HangUp::Reset),
        }
    }

    /// How a connection gone both ways ended: the socket's pending error (a reset), or, when
    /// the writer's failed write took the error and shut the socket down, or the server cut
    /// it, a close (the reason the protocol gives when a write noticed the end first).
    fn gone(&self) -> End {
        match self.socket.take_error() {
            Ok(Some(error)) => End::Failed(error),
            _ => End::Closed,
        }
    }

    /// Tears the connection down for a server shutdown: no announcements (everyone is
    /// leaving), a last line, then the writer drains and closes.
    pub fn end_quietly(&self, reason: &str, conns: &Connections) {
        let mut guard = self.state.lock();
        if let Some(session) = &guard.session {
            session.say_goodbye(reason);
        }
        self.forget(&mut guard, conns);
    }

    fn end(&self, state: &mut State, end: End, registry: &Registry, conns: &Connections) {
        let Some(session) = state.session.as_mut() else {
            return;
        };
        let reason = end.reason(self.socket.write_timed_out());
        // Cut by another worker that found this client's queue full (and logged it).
        let already_cut = session.outbox().is_cut();
        if matches!(end, End::SlowConsumer) && !already_cut {
            log::warn!(
                "conn#{} {}: dropped as a slow consumer (its own replies)",
                self.id,
                self.peer
            );
            // Cut before it leaves, as the registry cuts one: counted once (another worker
            // may be cutting it too), and before the others are told it left.
            if session.outbox().cut() {
                registry.metrics().slow_consumer_cut();
            }
        }
        if let Some(reason) = &reason {
            session.leave(Some(reason), registry);
        }
        if let End::Failed(_) = end {
            session.outbox().cut();
        }
        let why = if already_cut {
            reason::SLOW_CONSUMER
        } else {
            reason.as_deref().unwrap_or("quit")
        };
        log::debug!("conn#{} {}: closed ({why})", self.id, self.peer);
        self.forget(state, conns);
    }

    /// Leaves the table (and the read interest), and drops the session (its outbox with it),
    /// so the writer drains what is queued and ends; the last handle on the socket gives the
    /// connection's place back and closes it.
    fn forget(&self, state: &mut State, conns: &Connections) {
        let Some(session) = state.session.take() else {
            return;
        };
        conns.remove(self);
        // Last: dropping the outbox lets the writer close the socket.
        drop(session);
    }
}

/// Where a turn stops after a line's (or an answer's) `flow`, if it does.
fn stop_for(flow: Flow, session: &mut Session) -> Option<Turn> {
    match flow {
        Flow::Continue => None,
        Flow::Quit => Some(Turn::Ended(End::Quit)),
        Flow::SlowConsumer => Some(Turn::Ended(End::SlowConsumer)),
        Flow::Await => Some(match session.take_job() {
            Some(job) => Turn::Await(job),
            None => Turn::Wait,
        }),
        Flow::Evict(other) => Some(Turn::Evict(other)),
        Flow::Wait => Some(Turn::Wait),
    }
}

/// Every open connection by id, each in the read interest of the readiness while it is here:
/// the poller's way from an event to a connection, and the list the timeouts and the
/// shutdown go through.
pub struct Connections {
    readiness: Readiness,
    /// A mutex, not a read-write lock: it is held only for a map lookup or update, once per
    /// readiness batch, connect and disconnect, and for a copy of the list by the timeouts.
    table: Mutex<HashMap<ConnId, Arc<Connection>>>,
    /// Set once by the shutdown: no turn starts after it, and the acceptor and the poller
    /// return when they next wake.
    closed: AtomicBool,
}

impl Connections {
    pub fn new(readiness: Readiness) -> Connections {
        Connections {
            readiness,
            table: Mutex::default(),
            closed: AtomicBool::new(false),
        }
    }

    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    /// Adds a new connection, its socket watched for reading. On an error the connection is
    /// in the table but not watched: end it (`end_quietly`).
    pub fn add(&self, conn: &Arc<Connection>) -> io::Result<()> {
        self.table.lock().insert(conn.id, Arc::clone(conn));
        // SAFETY: `polling` needs the source deleted before its descriptor closes. Every
        // connection leaves the table only through `remove`, which deletes it first; the
        // descriptor closes after that, when the connection and its writer drop their
        // handles.
        #[allow(unsafe_code)]
        unsafe {
            self.readiness.add(&conn.socket, conn.id)
        }
    }

    fn remove(&self, conn: &Connection) {
        // Before the socket can close: `polling` requires a source to be deleted first.
        let _ = self.readiness.delete(&conn.socket);
        self.table.lock().remove(&conn.id);
    }

    /// Calls `f` with each of `ids` that is still open, under one lock.
    pub fn for_each_of(
        &self,
        ids: impl IntoIterator<Item = ConnId>,
        mut f: impl FnMut(&Arc<Connection>),
    ) {
        let table = self.table.lock();
        for id in ids {
            if let Some(conn) = table.get(&id) {
                f(conn);
            }
        }
    }

    pub fn get(&self, id: ConnId) -> Option<Arc<Connection>> {
        self.table.lock().get(&id).cloned()
    }

    /// Every open connection, as of now.
    pub fn all(&self) -> Vec<Arc<Connection>> {
        self.table.lock().values().cloned().collect()
    }

    /// Closes the table for a shutdown: see `closed`.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Takes every connection out of the table, for the shutdown to end them.
    pub fn drain(&self) -> Vec<Arc<Connection>> {
        self.table.lock().drain().map(|(_, conn)| conn).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_a_connection_cut_for_the_write_timeout_is_told_as_such_whatever_was_read_after() {
        let reset = || End::Failed(io::ErrorKind::ConnectionReset.into());
        let timeout = Some(reason::WRITE_TIMEOUT.to_owned());
        // The soak's slow reader wrote on after the writer's shutdown; its reset came back
        // before the worker read the end, and it was announced as `connection reset`.
        assert_eq!(reset().reason(true), timeout);
        assert_eq!(End::Closed.reason(true), timeout);
        assert_eq!(
            reset().reason(false).as_deref(),
            Some(reason::CONNECTION_RESET)
        );
        assert_eq!(
            End::Closed.reason(false).as_deref(),
            Some(reason::CONNECTION_CLOSED)
        );
        assert_eq!(End::Quit.reason(true), None);
        assert_eq!(
            End::SlowConsumer.reason(true).as_deref(),
            Some(reason::SLOW_CONSUMER)
        );
    }
}
