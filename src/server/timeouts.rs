//! The `chatd-timeouts` thread: closes connections that never register (`--register-timeout`),
//! sends `PING` to silent clients and closes those that stay silent (`--idle-timeout`).
//!
//! In scope: when to look and what to do about each connection. Out of scope: how a
//! connection tracks its activity and how it is closed (`connection`).
//!
//! Why a thread that looks every so often, when the rest of the server only wakes for events:
//! a timeout is the absence of an event. The thread looks a few times per shortest timeout, so
//! a timeout fires at most a quarter late, and a look costs a pass over the open connections
//! (10,000 atomic loads) with no lock held while it acts.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::server::connection::{Connections, Overdue};
use crate::server::registry::Registry;

/// Looks this often relative to the shortest timeout, within these bounds.
const LOOKS_PER_TIMEOUT: u32 = 4;
const SHORTEST_LOOK: Duration = Duration::from_millis(10);
const LONGEST_LOOK: Duration = Duration::from_secs(1);

/// The two timeouts.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub register: Duration,
    pub idle: Duration,
}

/// Runs until `stop` receives or disconnects.
pub fn run(
    timeouts: Timeouts,
    conns: Arc<Connections>,
    registry: Arc<Registry>,
    stop: Receiver<()>,
) {
    let shortest = timeouts.register.min(timeouts.idle);
    let every = (shortest / LOOKS_PER_TIMEOUT).clamp(SHORTEST_LOOK, LONGEST_LOOK);
    loop {
        match stop.recv_timeout(every) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        for conn in conns.all() {
            match conn.overdue(timeouts.register, timeouts.idle) {
                Overdue::Nothing => {}
                Overdue::Ping => conn.ping(),
                Overdue::Close(reason) => conn.end_for(reason, &registry, &conns),
            }
        }
    }
}
