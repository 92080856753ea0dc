//! Readiness: the server's `epoll` set (through the `polling` crate), and the hang-up watch
//! of the connections that flood control paused.
//!
//! In scope: read interest, one-shot, so a connection is with at most one worker at a time
//! until its turn re-arms it; watching a paused connection for its peer's FIN or reset;
//! waiting for both at once, and waking the waiting thread. Out of scope: the poller thread's
//! loop (`poller`) and which connection is in which state (`connection`).
//!
//! Why a second `epoll` set for hang-ups. A paused connection has unread input on purpose (TCP
//! then slows its sender), so read interest would report it again at once: what must be heard
//! is only its peer going away. `epoll` reports that without read interest: `EPOLLHUP` and
//! `EPOLLERR` (a reset) always, `EPOLLRDHUP` (a FIN) on request. `polling` 3 can ask for
//! `EPOLLHUP` alone (`Event::with_interrupt`), which would miss a FIN, so the watch is an
//! `epoll` set of its own asking for `EPOLLRDHUP`, and that set sits in `polling`'s like any
//! other readable descriptor: no thread of its own, no timer.

use std::io;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use polling::{Event, Events, PollMode, Poller};

use crate::server::conn_id::ConnId;

/// The hang-up watch's key in `polling`'s set. Connection ids count up from 1 and never get
/// near it; `polling` keeps `usize::MAX` for its own wake-ups.
const HANG_UP_KEY: usize = usize::MAX - 1;

/// How a paused connection's peer went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum HangUp {
    /// The peer closed its sending side (FIN): what it sent before still counts.
    Fin = 1,
    /// The connection is gone both ways: a reset from the peer, or cut by the server.
    Reset = 2,
}

/// Every socket the server reads, and the hang-up watch.
pub struct Readiness {
    poller: Poller,
    hang_ups: HangUpWatch,
}

/// What one wait found.
pub struct Ready {
    events: Events,
    hung_up: Vec<(ConnId, HangUp)>,
}

impl Ready {
    pub fn new() -> Ready {
        Ready {
            events: Events::new(),
            hung_up: Vec::new(),
        }
    }

    /// Connections whose socket has become readable (or closed, or failed).
    pub fn readable(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.events
            .iter()
            .filter(|event| event.key != HANG_UP_KEY)
            .map(|event| event.key as ConnId)
    }

    /// Paused connections whose peer hung up, and how.
    pub fn hung_up(&self) -> &[(ConnId, HangUp)] {
        &self.hung_up
    }
}

impl Readiness {
    pub fn new() -> io::Result<Readiness> {
        let poller = Poller::new()?;
        let hang_ups = HangUpWatch::new()?;
        // Level-triggered: the watch reports as long as it holds hang-ups, and every wait
        // takes them all.
        // SAFETY: `polling` needs a source deleted before its descriptor closes; `Drop`
        // deletes the watch before its descriptor closes with the field.
        #[allow(unsafe_code)]
        unsafe {
            poller.add_with_mode(
                &hang_ups.epoll,
                Event::readable(HANG_UP_KEY),
                PollMode::Level,
            )?;
        }
        Ok(Readiness { poller, hang_ups })
    }

    /// Watches `socket` for reading, once: after its event, nothing more is reported until
    /// [`Readiness::rearm`].
    ///
    /// # Safety
    /// `socket` must be deleted ([`Readiness::delete`]) before its descriptor closes, as
    /// `polling` requires.
    #[allow(unsafe_code)]
    pub unsafe fn add(&self, socket: &TcpStream, id: ConnId) -> io::Result<()> {
        // SAFETY: passed on to the caller.
        unsafe { self.poller.add(socket, Event::readable(key(id))) }
    }

    /// Watches `socket` for reading again, once.
    pub fn rearm(&self, socket: &TcpStream, id: ConnId) -> io::Result<()> {
        self.poller.modify(socket, Event::readable(key(id)))
    }

    /// Watches the socket of a paused connection (not armed for reading) for its peer
    /// hanging up, once. A hang-up that came before is reported at once.
    pub fn watch_hang_up(&self, socket: &TcpStream, id: ConnId) -> io::Result<()> {
        self.hang_ups.watch(socket, id)
    }

    /// Stops watching `socket` for reading. The hang-up watch needs no delete: the kernel
    /// drops a descriptor from an `epoll` set when it closes, and until then a late report
    /// names an id that no open connection has any more (ids are never reused).
    pub fn delete(&self, socket: &TcpStream) -> io::Result<()> {
        self.poller.delete(socket)
    }

    /// Waits for the next events, without a timeout: until a socket is ready, a watched peer
    /// hangs up, or [`Readiness::notify`].
    pub fn wait(&self, ready: &mut Ready) -> io::Result<()> {
        ready.events.clear();
        ready.hung_up.clear();
        self.poller.wait(&mut ready.events, None)?;
        if ready.events.iter().any(|event| event.key == HANG_UP_KEY) {
            self.hang_ups.take(&mut ready.hung_up);
        }
        Ok(())
    }

    /// Wakes the thread in [`Readiness::wait`].
    pub fn notify(&self) -> io::Result<()> {
        self.poller.notify()
    }
}

impl Drop for Readiness {
    fn drop(&mut self) {
        let _ = self.poller.delete(&self.hang_ups.epoll);
    }
}

/// The poller key of a connection.
fn key(id: ConnId) -> usize {
    usize::try_from(id).expect("connection ids fit in usize on supported platforms")
}

/// An `epoll` set of paused connections' sockets, asking only for the end of their peer's
/// stream.
struct HangUpWatch {
    epoll: OwnedFd,
}

/// Reports taken per `epoll_wait`; more are taken with more calls.
const HANG_UPS_PER_CALL: usize = 64;

impl HangUpWatch {
    #[allow(unsafe_code)]
    fn new() -> io::Result<HangUpWatch> {
        // SAFETY: no pointers are involved; the result is checked before use.
        let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just opened by `epoll_create1` and nothing else owns it.
        let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(HangUpWatch { epoll })
    }

    fn watch(&self, socket: &TcpStream, id: ConnId) -> io::Result<()> {
        // EPOLLHUP and EPOLLERR are always reported; EPOLLRDHUP only when asked. No EPOLLIN:
        // the unread input must not wake anyone. One-shot: one report per pause.
        let events = (libc::EPOLLRDHUP | libc::EPOLLONESHOT) as u32;
        // Added at a connection's first pause, modified (re-armed) at the next ones.
        match self.control(libc::EPOLL_CTL_MOD, socket, events, id) {
            Err(error) if error.raw_os_error() == Some(libc::ENOENT) => {
                self.control(libc::EPOLL_CTL_ADD, socket, events, id)
            }
            done => done,
        }
    }

    #[allow(unsafe_code)]
    fn control(&self, op: i32, socket: &TcpStream, events: u32, id: ConnId) -> io::Result<()> {
        let mut event = libc::epoll_event { events, u64: id };
        // SAFETY: both descriptors are open for the call (borrowed), and `event` is a valid
        // `epoll_event` that the kernel only reads.
        let done =
            unsafe { libc::epoll_ctl(self.epoll.as_raw_fd(), op, socket.as_raw_fd(), &mut event) };
        if done < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Adds every hang-up reported so far to `into`, without waiting.
    #[allow(unsafe_code)]
    fn take(&self, into: &mut Vec<(ConnId, HangUp)>) {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; HANG_UPS_PER_CALL];
        loop {
            // SAFETY: `events` is valid for writes of `HANG_UPS_PER_CALL` entries for the
            // call, and a zero timeout never blocks.
            let found = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    HANG_UPS_PER_CALL as i32,
                    0,
                )
            };
            let Ok(found) = usize::try_from(found) else {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Cannot happen with a valid set and buffer; the hang-ups will then be seen
                // when the connections' tokens are back, as without the watch.
                log::error!("hang-up watch: {error}");
                return;
            };
            for event in &events[..found] {
                // Copies: the kernel's `epoll_event` is packed on x86-64.
                let (flags, id) = (event.events, event.u64);
                let gone = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
                let how = if flags & gone != 0 {
                    HangUp::Reset
                } else {
                    HangUp::Fin
                };
                into.push((id, how));
            }
            if found < HANG_UPS_PER_CALL {
                return;
            }
        }
    }
}
