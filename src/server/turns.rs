//! The worker pool's one kind of job: a connection's turn, and what follows it.
//!
//! In scope: queueing a turn on the pool (for a readiness event, after a turn that used its
//! line budget, at the end of a pause, at an account command's answer), handing a paused
//! connection to the throttle thread (a flood pause, counted for `STATS`, or a failed
//! login's delay), handing an account command's job to the verification threads and a
//! claim or barrier to the cluster, and
//! ending the connection a login takes its account from. Out of scope: the turn itself
//! (`connection`), waiting for readiness (`poller`) and for tokens (`throttle`), and the
//! verification itself (`accounts`).

use std::sync::Arc;
use std::time::Instant;

use chatd_proto::reason;
use crossbeam_channel::Sender;
use threadpool::ThreadPool;

use crate::server::accounts::{self, Job};
use crate::server::cluster_link::{Answer, Done};
use crate::server::connection::{Connection, Connections, Next};
use crate::server::login::Verdict;
use crate::server::registry::Registry;
use crate::server::session::Awaited;
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
                self.pause_until(at, &conn);
            }
            Next::Await(job) => self.submit(job, conn),
            Next::Evict(other) => {
                if let Some(other) = self.conns.get(other) {
                    other.end_for(reason::LOGGED_IN_ELSEWHERE, &self.registry, &self.conns);
                }
                self.schedule(conn);
            }
        }
    }

    /// Hands a paused connection to the throttle thread, which queues its turn at `at`.
    fn pause_until(&self, at: Instant, conn: &Arc<Connection>) {
        let conn = Arc::downgrade(conn);
        // Fails only once the throttle thread has stopped for a shutdown, which ends every
        // connection itself.
        let _ = self.paused.send(Paused { at, conn });
    }

    /// Hands `work` to whoever does it: an account command to the verification threads,
    /// an errand to the cluster.
    fn submit(self: &Arc<Self>, work: Awaited, conn: Arc<Connection>) {
        match work {
            Awaited::Account(job) => self.submit_job(job, conn),
            Awaited::Cluster(errand) => {
                let turns = Arc::clone(self);
                let waiting = Arc::clone(&conn);
                let done: Done = Box::new(move |answer: Answer| {
                    waiting.answered_in_cluster(answer);
                    turns.schedule(waiting);
                });
                match self.registry.cluster() {
                    Some(link) => link.submit(errand, done),
                    None => done(Answer::Unreachable),
                }
            }
        }
    }

    /// Hands `job` to the verification threads; their answer queues `conn`'s next turn, at
    /// once or after the answer's delay (a failed login waits, paused, without a worker).
    fn submit_job(self: &Arc<Self>, job: Job, conn: Arc<Connection>) {
        let turns = Arc::clone(self);
        let waiting = Arc::clone(&conn);
        let done = Box::new(move |answer: accounts::Answer| {
            waiting.answered(Verdict::Answered(answer.outcome, answer.waiting));
            if answer.delay.is_zero() {
                turns.schedule(waiting);
            } else {
                waiting.hold(turns.conns.readiness());
                turns.pause_until(Instant::now() + answer.delay, &waiting);
            }
        });
        if self.registry.accounts().submit(job, done).is_err() {
            conn.answered(Verdict::Busy);
            self.schedule(conn);
        }
    }
}
