//! Readiness: the server's `epoll` set (through the `polling` crate).
//!
//! In scope: read interest, one-shot, so a connection is with at most one worker at a time
//! until its turn re-arms it; waiting, and waking the waiting thread. Out of scope: the poller
//! thread's loop (`poller`) and which connection is in which state (`connection`).

use std::io;
use std::net::TcpStream;

use polling::{Event, Events, Poller};

use crate::server::conn_id::ConnId;

/// Every socket the server reads.
pub struct Readiness {
    poller: Poller,
}

/// What one wait found.
pub struct Ready {
    events: Events,
}

impl Ready {
    pub fn new() -> Ready {
        Ready {
            events: Events::new(),
        }
    }

    /// Connections whose socket has become readable (or closed, or failed).
    pub fn readable(&self) -> impl Iterator<Item = ConnId> + '_ {
        self.events.iter().map(|event| event.key as ConnId)
    }
}

impl Readiness {
    pub fn new() -> io::Result<Readiness> {
        Ok(Readiness {
            poller: Poller::new()?,
        })
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

    /// Stops watching `socket`.
    pub fn delete(&self, socket: &TcpStream) -> io::Result<()> {
        self.poller.delete(socket)
    }

    /// Waits for the next events, without a timeout: until a socket is ready or
    /// [`Readiness::notify`].
    pub fn wait(&self, ready: &mut Ready) -> io::Result<()> {
        ready.events.clear();
        self.poller.wait(&mut ready.events, None)?;
        Ok(())
    }

    /// Wakes the thread in [`Readiness::wait`].
    pub fn notify(&self) -> io::Result<()> {
        self.poller.notify()
    }
}

/// The poller key of a connection.
fn key(id: ConnId) -> usize {
    usize::try_from(id).expect("connection ids fit in usize on supported platforms")
}
