//! One accepted connection, and the worker's turn on it: read what is there, execute each
//! complete line, re-arm the poller, or tear the connection down.
//!
//! In scope: the reading half of the socket, the line buffer, and the end of a connection
//! (why it ended, who is told). Out of scope: what lines mean (`session`) and writing
//! (`writer`, the only one that writes to a client socket).

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use parking_lot::Mutex;
use polling::Event;

use crate::line_buffer::LineBuffer;
use crate::protocol::reason;
use crate::server::session::{Flow, Session};
use crate::server::{ConnId, Shared};

/// Bytes taken from the socket per `recv`.
const READ_CHUNK: usize = 16 * 1024;
/// At most this many reads per turn, so one flooding client cannot keep a worker from the
/// others; the poller is level-triggered, so whatever is left brings the connection back.
const READS_PER_TURN: usize = 4;

pub struct Connection {
    pub id: ConnId,
    pub peer: SocketAddr,
    /// Shared with this connection's writer thread. Blocking mode, always: the writer relies
    /// on blocking writes, so reads here ask for non-blocking behaviour per call instead of
    /// setting `O_NONBLOCK`, which would be shared by every handle of the socket.
    pub socket: Arc<TcpStream>,
    /// Locked by the one worker that has the connection's readiness event; the poller's
    /// one-shot interest makes that at most one at a time, so this lock is never contended
    /// except against the final teardown at shutdown.
    state: Mutex<State>,
}

struct State {
    lines: LineBuffer,
    /// `None` once the connection has ended.
    session: Option<Session>,
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
        session: Session,
    ) -> Connection {
        Connection {
            id,
            peer,
            socket,
            state: Mutex::new(State {
                lines: LineBuffer::new(max_line),
                session: Some(session),
            }),
        }
    }

    /// A worker's turn: the socket is readable (or closed).
    pub fn on_readable(&self, shared: &Shared) {
        let mut guard = self.state.lock();
        let state = &mut *guard;
        let Some(session) = state.session.as_mut() else {
            return;
        };
        let mut chunk = [0u8; READ_CHUNK];
        let mut end = None;
        'reads: for _ in 0..READS_PER_TURN {
            let n = match recv_now(&self.socket, &mut chunk) {
                Ok(0) => {
                    end = Some(End::Closed);
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    end = Some(End::Failed(e));
                    break;
                }
            };
            state.lines.push(&chunk[..n]);
            while let Some(frame) = state.lines.next_frame() {
                match session.on_frame(frame, &shared.registry) {
                    Flow::Continue => {}
                    Flow::Quit => end = Some(End::Quit),
                    Flow::SlowConsumer => end = Some(End::SlowConsumer),
                }
                if end.is_some() {
                    break 'reads;
                }
            }
            if n < chunk.len() {
                // A short read emptied the socket; another recv would only say WouldBlock.
                break;
            }
        }
        match end {
            None => {
                let interest = Event::readable(key(self.id));
                if let Err(error) = shared.poller.modify(&*self.socket, interest) {
                    self.end(state, End::Failed(error), shared);
                }
            }
            Some(end) => self.end(state, end, shared),
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
        if state.session.take().is_none() {
            return;
        }
        // Before the socket can close: `polling` requires a source to be removed first.
        let _ = shared.poller.delete(&*self.socket);
        shared.conns.lock().remove(&self.id);
        shared.open.fetch_sub(1, Ordering::Relaxed);
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
