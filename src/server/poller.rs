//! The readiness loop: waits on every connection's socket at once and hands a readable one to
//! the worker pool.
//!
//! In scope: the `polling` wait loop and dispatch. Interest is one-shot, so a connection is
//! with at most one worker at a time (its commands run in order) until that worker re-arms
//! it. Out of scope: reading (`connection`) and accepting (`acceptor`).

use std::io;
use std::sync::Arc;

use polling::Events;
use threadpool::ThreadPool;

use crate::server::{ConnId, Shared};

pub fn run(shared: Arc<Shared>, pool: ThreadPool) {
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
                let Some(conn) = conns.get(&(event.key as ConnId)) else {
                    continue;
                };
                let (conn, shared) = (Arc::clone(conn), Arc::clone(&shared));
                pool.execute(move || conn.on_readable(&shared));
            }
        }
        // Writers of connections that ended are joined here, off the message path.
        shared.writers.reap();
    }
}
