//! The worker pool's one kind of job: a connection's turn, and what follows it.
//!
//! In scope: queueing a turn on the pool (for a readiness event, after a turn that used its
//! line budget, at the end of a pause), and handing a paused connection to the throttle
//! thread (a flood pause, counted for `STATS`). Out of scope: the turn itself (`connection`), waiting for readiness (`poller`)
//! and for tokens (`throttle`).

use std::sync::Arc;

use crossbeam_channel::Sender;
use threadpool::ThreadPool;

use crate::server::connection::{Connection, Connections, Next};
use crate::server::registry::Registry;
use crate::server::throttle::Paused;

/// What a turn needs, shared by every job.
pub struct Turns {
    /// The workers. The wiring keeps a handle too, to join them at shutdown.
    pool: ThreadPool,
    registry: Arc<Registry>,
    conns: Arc<Connections>,
    /// To the `chatd-throttle` thread.
    paused: Sender<Paused>,
}

impl Turns {
    pub fn new(
        pool: ThreadPool,
        registry: Arc<Registry>,
        conns: Arc<Connections>,
        paused: Sender<Paused>,
    ) -> Turns {
        Turns {
            pool,
            registry,
            conns,
            paused,
        }
    }

    /// Queues a turn of `conn` on the pool. A turn that ends with lines still buffered queues
    /// the next one itself instead of re-arming the read interest (no readiness event would
    /// come for bytes already read), behind the turns of the other ready connections; one
    /// over its rate is handed to the throttle thread.
    pub fn schedule(self: &Arc<Self>, conn: Arc<Connection>) {
        let turns = Arc::clone(self);
        self.pool.execute(move || turns.take(conn));
    }

    /// Ends the pause of `conn` and queues its turn, unless its pause was already ended (by
    /// the throttle, or by the poller when its peer hung up).
    pub fn resume(self: &Arc<Self>, conn: Arc<Connection>) {
        if conn.end_pause() {
            self.schedule(conn);
        }
    }

    fn take(self: &Arc<Self>, conn: Arc<Connection>) {
        if self.conns.is_closed() {
            // A turn queued before the shutdown: nothing is read any more.
            return;
        }
        match conn.take_turn(&self.registry, &self.conns) {
            Next::Done => {}
            Next::AnotherTurn => self.schedule(conn),
            Next::Paused(at) => {
                self.registry.metrics().flood_pause();
                let conn = Arc::downgrade(&conn);
                // Fails only once the throttle thread has stopped for a shutdown, which ends
                // every connection itself.
                let _ = self.paused.send(Paused { at, conn });
            }
        }
    }
}
