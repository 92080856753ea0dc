//! The `chatd-poller` thread: waits on every connection's socket at once and hands a readable
//! one to the worker pool, or a paused one whose peer hung up.
//!
//! In scope: the wait loop and dispatch, and joining the writers that ended. Interest is
//! one-shot, so a connection is with at most one worker at a time (its commands run in
//! order) until that worker re-arms it, or queues its next turn itself. Out of scope: the
//! `epoll` sets (`readiness`), reading (`connection`) and accepting (`acceptor`).
//!
//! A failed wait ends the thread with its error: without the poller nothing is read, so the
//! server must not go on accepting (the thread is vital: see `vital`).

use std::io;
use std::sync::Arc;

use crate::server::connection::Connections;
use crate::server::readiness::Ready;
use crate::server::turns::Turns;
use crate::server::writer::WriterSet;

/// Runs until the connection table is closed and the readiness notified, or until a wait
/// fails.
pub fn run(conns: Arc<Connections>, turns: Arc<Turns>, writers: Arc<WriterSet>) -> io::Result<()> {
    let mut ready = Ready::new();
    loop {
        if let Err(error) = conns.readiness().wait(&mut ready) {
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(io::Error::new(
                error.kind(),
                format!("waiting for sockets failed: {error}"),
            ));
        }
        if conns.is_closed() {
            return Ok(());
        }
        conns.for_each_of(ready.readable(), |conn| turns.schedule(Arc::clone(conn)));
        for &(id, how) in ready.hung_up() {
            if let Some(conn) = conns.get(id) {
                conn.peer_hung_up(how);
                turns.resume(conn);
            }
        }
        // Writers of connections that ended are joined here, off the message path.
        writers.reap();
    }
}
