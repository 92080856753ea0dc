//! The readiness loop: waits on every connection's socket at once and hands a readable one to
//! the worker pool.
//!
//! In scope: the `polling` wait loop and dispatch. Interest is one-shot, so a connection is
//! with at most one worker at a time (its commands run in order) until that worker re-arms
//! it, or queues its next turn itself. Out of scope: reading (`connection`) and accepting
//! (`acceptor`).

use std::io;
use std::sync::Arc;

use polling::Events;

use crate::server::connection::{Connection, Next};
use crate::server::throttle::Resume;
use crate::server::{ConnId, Shared};

pub fn run(shared: Arc<Shared>) {
    let mut events = Events::new();
    loop {
        events.clear();
        if let Err(error) = shared.poller.wait(&mut events, None) {
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            log::error!("poller failed, no more reads: {error}");
            return;
        }
        if shared.is_stopping() {
            return;
        }
        {
            let conns = shared.conns.lock();
            for event in events.iter() {
                if let Some(conn) = conns.get(&(event.key as ConnId)) {
                    schedule(&shared, Arc::clone(conn));
                }
            }
        }
        // Writers of connections that ended are joined here, off the message path.
        shared.writers.reap();
    }
}

/// Queues a turn of `conn` on the pool. A turn that ends with lines still buffered queues the
/// next one itself instead of re-arming the poller (no readiness event would come for bytes
/// already read), behind the turns of the other ready connections; one over its rate is
/// handed to the throttle thread, which queues it when its tokens are back.
pub(super) fn schedule(shared: &Arc<Shared>, conn: Arc<Connection>) {
    let for_job = Arc::clone(shared);
    shared.pool.execute(move || match conn.take_turn(&for_job) {
        Next::Done => {}
        Next::AnotherTurn => schedule(&for_job, conn),
        Next::Paused(at) => {
            // Fails only once the throttle thread has stopped for a shutdown, which ends
            // every connection itself.
            let _ = for_job.resumes.send(Resume { at, conn });
        }
    });
}
