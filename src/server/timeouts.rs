//! The `chatd-timeouts` thread: closes connections that never register (`--register-timeout`),
//! sends `PING` to silent clients and closes those that stay silent (`--idle-timeout`), closes
//! those a cluster ended (a `LOGIN` on another node, or the node found lost by the others: at
//! once, not at a look), tells
//! a counted lobby its count (`--presence-limit`), and writes the log lines held back for an
//! address group once their interval has passed.
//!
//! In scope: when to look and what to do about each connection. Out of scope: how a
//! connection tracks its activity and how it is closed (`connection`), and which log lines are
//! held back (`log_limit`).
//!
//! Why a thread that looks every so often, when the rest of the server only wakes for events:
//! a timeout is the absence of an event. The thread looks a few times per shortest timeout, so
//! a timeout fires at most a quarter late, and a look costs a pass over the open connections
//! (10,000 atomic loads) with no lock held while it acts. It reads the timeouts anew at each
//! look, so a reload takes effect within a second.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, at, select};

use crate::server::connection::{Connections, Overdue};
use crate::server::live::Live;
use crate::server::log_limit::LogLimit;
use crate::server::registry::Registry;

/// Looks this often relative to the shortest timeout, within these bounds.
const LOOKS_PER_TIMEOUT: u32 = 4;
const SHORTEST_LOOK: Duration = Duration::from_millis(10);
const LONGEST_LOOK: Duration = Duration::from_secs(1);

/// What the thread works with.
pub struct Timeouts {
    pub live: Arc<Live>,
    pub conns: Arc<Connections>,
    pub registry: Arc<Registry>,
    pub warnings: Arc<LogLimit>,
}

impl Timeouts {
    /// Runs until `stop` receives or disconnects.
    pub fn run(self, stop: Receiver<()>) {
        let mut next_look = Instant::now() + LONGEST_LOOK;
        loop {
            let limits = self.live.get();
            let shortest = limits.register_timeout.min(limits.idle_timeout);
            let every = (shortest / LOOKS_PER_TIMEOUT).clamp(SHORTEST_LOOK, LONGEST_LOOK);
            next_look = next_look.min(Instant::now() + every);
            select! {
                recv(stop) -> _ => return,
                recv(self.registry.displaced()) -> displaced => {
                    if let Ok(displaced) = displaced {
                        if let Some(conn) = self.conns.get(displaced.conn) {
                            conn.end_for(displaced.reason, &self.registry, &self.conns);
                        }
                    }
                    continue;
                },
                recv(at(next_look)) -> _ => {},
            }
            next_look = Instant::now() + every;
            let limits = self.live.get();
            let (register, idle) = (limits.register_timeout, limits.idle_timeout);
            for conn in self.conns.all() {
                match conn.overdue(register, idle) {
                    Overdue::Nothing => {}
                    Overdue::Ping => conn.ping(),
                    Overdue::Close(reason) => conn.end_for(reason, &self.registry, &self.conns),
                }
            }
            // A counted lobby's count, told at most once a second (issue 14), and the peak of
            // the queued bytes (`STATS`), sampled.
            self.registry.finish(self.registry.tell_count());
            self.registry.metrics().sample_queued();
            for (group, held) in self.warnings.flush(Instant::now()) {
                log::warn!("{group}: {held}");
            }
        }
    }
}
