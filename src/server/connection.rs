//! One accepted connection, and a worker's turn on it: read what is there, execute each
//! complete line within the turn's budget and the client's `--rate`, then re-arm the poller,
//! ask for another turn, pause until tokens refill, or tear the connection down.
//!
//! In scope: the reading half of the socket, the line buffer, flood control (when to stop
//! reading), and the end of a connection (why it ended, who is told). Out of scope: what lines mean (`session`) and writing
//! (`writer`, the only one that writes to a client socket).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use polling::Event;

use crate::server::session::{Flow, Session};
use crate::server::token_bucket::TokenBucket;
use crate::server::{ConnId, Shared};
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
    pub id: ConnId,
    pub peer: SocketAddr,
    /// Shared with this connection's writer thread. Blocking mode, always: the writer relies
    /// on blocking writes, so reads here ask for non-blocking behaviour per call instead of
    /// setting `O_NONBLOCK`, which would be shared by every handle of the socket.
    pub socket: Arc<TcpStream>,
    /// Locked by the one worker that has the connection's turn; the poller's one-shot
    /// interest (and a turn queueing the next one only instead of re-arming) makes that at
    /// most one at a time, so this lock is never contended except against the final
    /// teardown at shutdown.
    state: Mutex<State>,
    /// What the timeout checks read without the state lock.
    activity: Activity,
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
    /// `--rate` and `--burst`; `None` when flood control is off (`--rate 0`).
    bucket: Option<TokenBucket>,
    /// `None` once the connection has ended.
    session: Option<Session>,
}

/// What follows a turn, for the one who scheduled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The poller was re-armed, or the connection has ended: nothing to do.
    Done,
    /// Lines may still be buffered: queue another turn (the poller is not armed).
    AnotherTurn,
    /// Over its rate: queue the next turn at this instant (the poller is not armed, so the
    /// client's further bytes wait in the kernel and TCP slows the sender).
    Paused(Instant),
}

/// How a turn stopped.
enum Turn {
    /// `LINES_PER_TURN` lines ran; more may be buffered.
    LineBudgetUsed,
    /// The client used its tokens; it may go on at this instant.
    OverRate(Instant),
    /// Every buffered complete line has run; whatever is left is in the socket (the socket
    /// was empty or the read budget is spent), and the poller will report it.
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

impl Connection {
    pub fn new(
        id: ConnId,
        peer: SocketAddr,
        socket: Arc<TcpStream>,
        max_line: usize,
        bucket: Option<TokenBucket>,
        session: Session,
    ) -> Connection {
        Connection {
            id,
            peer,
            socket,
            state: Mutex::new(State {
                lines: LineBuffer::new(max_line),
                bucket,
                session: Some(session),
            }),
            activity: Activity {
                connected: Instant::now(),
                last_input_ns: AtomicU64::new(0),
                registered: AtomicBool::new(false),
                pinged: AtomicBool::new(false),
            },
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
    pub fn end_for(&self, shared: &Shared, reason: &str) {
        let mut guard = self.state.lock();
        let Some(session) = guard.session.as_mut() else {
            return;
        };
        session.leave(Some(reason), &shared.registry);
        session.say_goodbye(reason);
        log::debug!("conn#{} {}: closed ({reason})", self.id, self.peer);
        self.forget(&mut guard, shared);
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
    /// holds, within the turn's budget; then re-arm the poller, ask for another turn, or end
    /// the connection.
    pub fn take_turn(&self, shared: &Shared) -> Next {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        if state.session.is_none() || shared.is_stopping() {
            return Next::Done;
        }
        let turn = self.run_turn(state, shared);
        if let Some(session) = &state.session {
            let registered = session.is_registered();
            self.activity
                .registered
                .store(registered, Ordering::Relaxed);
        }
        match turn {
            Turn::LineBudgetUsed => Next::AnotherTurn,
            Turn::OverRate(at) => Next::Paused(at),
            Turn::NeedsReadiness => {
                let interest = Event::readable(key(self.id));
                if let Err(error) = shared.poller.modify(&*self.socket, interest) {
                    self.end(state, End::Failed(error), shared);
                }
                Next::Done
            }
            Turn::Ended(end) => {
                self.end(state, end, shared);
                Next::Done
            }
        }
    }

    fn run_turn(&self, state: &mut State, shared: &Shared) -> Turn {
        let session = state
            .session
            .as_mut()
            .expect("take_turn checked the session");
        let mut chunk = [0u8; READ_CHUNK];
        let mut lines_left = LINES_PER_TURN;
        let mut reads_left = READS_PER_TURN;
        if let Some(bucket) = &mut state.bucket {
            bucket.refill(Instant::now());
        }
        loop {
            while lines_left > 0 {
                // Checked before reading too: a client without tokens is not read at all.
                if let Some(bucket) = &state.bucket
                    && !bucket.has_token()
                {
                    return Turn::OverRate(bucket.resume_at());
                }
                let Some(frame) = state.lines.next_frame() else {
                    break;
                };
                if let Some(bucket) = &mut state.bucket {
                    bucket.try_take();
                }
                if lines_left == LINES_PER_TURN {
                    // A line that ran is a line heard, also when it was read long ago: flood
                    // control may keep a client's backlog waiting for longer than
                    // --idle-timeout, and that client is anything but silent.
                    self.heard();
                }
                lines_left -= 1;
                match session.on_frame(frame, &shared.registry) {
                    Flow::Continue => {}
                    Flow::Quit => return Turn::Ended(End::Quit),
                    Flow::SlowConsumer => return Turn::Ended(End::SlowConsumer),
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
            match recv_now(&self.socket, &mut chunk) {
                Ok(0) => return Turn::Ended(End::Closed),
                Ok(n) => {
                    self.heard();
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

    /// Tears the connection down for a server shutdown: no announcements (everyone is
    /// leaving), a last line, then the writer drains and closes.
    pub fn end_quietly(&self, shared: &Shared, reason: &str) {
        let mut guard = self.state.lock();
        if let Some(session) = &guard.session {
            session.say_goodbye(reason);
        }
        self.forget(&mut guard, shared);
    }

    fn end(&self, state: &mut State, end: End, shared: &Shared) {
        let Some(session) = state.session.as_mut() else {
            return;
        };
        let reason = match &end {
            End::Quit => None,
            End::Closed => Some(reason::CONNECTION_CLOSED.to_owned()),
            End::Failed(error) if error.kind() == io::ErrorKind::ConnectionReset => {
                Some(reason::CONNECTION_RESET.to_owned())
            }
            End::Failed(error) => Some(format!("connection error: {error}")),
            End::SlowConsumer => Some(reason::SLOW_CONSUMER.to_owned()),
        };
        // Cut by another worker that found this client's queue full (and logged it).
        let already_cut = session.outbox().is_cut();
        if let Some(reason) = &reason {
            session.leave(Some(reason), &shared.registry);
        }
        match end {
            End::SlowConsumer if !already_cut => {
                log::warn!(
                    "conn#{} {}: dropped as a slow consumer (its own replies)",
                    self.id,
                    self.peer
                );
                session.outbox().cut();
            }
            End::Failed(_) => session.outbox().cut(),
            End::SlowConsumer | End::Quit | End::Closed => {}
        }
        let why = if already_cut {
            reason::SLOW_CONSUMER
        } else {
            reason.as_deref().unwrap_or("quit")
        };
        log::debug!("conn#{} {}: closed ({why})", self.id, self.peer);
        self.forget(state, shared);
    }

    /// Stops watching the socket and drops the session (its outbox with it), so the writer
    /// drains what is queued and closes.
    fn forget(&self, state: &mut State, shared: &Shared) {
        let Some(session) = state.session.take() else {
            return;
        };
        // Before the socket can close: `polling` requires a source to be removed first.
        let _ = shared.poller.delete(&*self.socket);
        shared.conns.lock().remove(&self.id);
        shared.open.fetch_sub(1, Ordering::Relaxed);
        let mut per_ip = shared.per_ip.lock();
        if let Some(count) = per_ip.get_mut(&self.peer.ip()) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.peer.ip());
            }
        }
        drop(per_ip);
        // Last: dropping the outbox lets the writer close the socket, and a client that has
        // seen its connection close must find it no longer counted.
        drop(session);
    }
}

/// The poller key of a connection.
pub fn key(id: ConnId) -> usize {
    usize::try_from(id).expect("connection ids fit in usize on supported platforms")
}

/// Drops input the peer sent that nobody will read (at most 256 KiB, without waiting), just
/// before a close: closing a socket with unread input sends a reset instead of a FIN, and a
/// reset may destroy our last lines before the peer has read them.
pub(super) fn discard_pending_input(socket: &TcpStream) {
    const MAX_DISCARD: usize = 256 * 1024;
    let mut sink = [0u8; 4096];
    let mut dropped = 0;
    while dropped < MAX_DISCARD {
        match recv_now(socket, &mut sink) {
            Ok(n) if n > 0 => dropped += n,
            _ => return,
        }
    }
}

/// One `recv` that never blocks, whatever the socket's mode.
#[allow(unsafe_code)]
fn recv_now(socket: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call, and the
    // descriptor stays open because `socket` is borrowed for the call.
    let n = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}
