//! The `chatd-acceptor` thread: takes each new connection, refuses it over `--max-clients` or
//! `--max-per-ip`, otherwise starts its writer, greets it and adds it to the connection table.
//!
//! In scope: `accept` and its errors (logged and backed off, never a spin or a crash), the
//! ids, everything a connection is made of, and the one line written outside the writers and
//! flushes: the refusal to a connection that never gets a writer. Out of scope: the counts
//! (`admission`) and reading (`poller`, `connection`).

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::server::admission::{AddressGroup, Refusal, Slots};
use crate::server::conn_id::ConnId;
use crate::server::connection::{Connection, Connections};
use crate::server::rooms::Limits;
use crate::server::session::Session;
use crate::server::socket_io;
use crate::server::token_bucket::TokenBucket;
use crate::server::writer::WriterSet;
use chatd_proto::{ProtocolError, Reply, reason};

/// Back-off after an accept error such as EMFILE, doubled up to the maximum while errors last.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What admitting a connection takes.
pub struct Acceptor {
    pub config: Config,
    pub slots: Arc<Slots>,
    pub writers: Arc<WriterSet>,
    pub conns: Arc<Connections>,
}

impl Acceptor {
    /// Runs until the connection table is closed and a connection wakes it.
    pub fn run(self, listener: TcpListener) {
        let mut backoff = FIRST_BACKOFF;
        // Counted up from 1 here, the one place that hands ids out.
        let mut next_id: ConnId = 1;
        loop {
            let accepted = listener.accept();
            if self.conns.is_closed() {
                // Woken by the shutdown's own connection, or a late client: either way, done.
                return;
            }
            match accepted {
                Ok((stream, peer)) => {
                    backoff = FIRST_BACKOFF;
                    self.admit(stream, peer, &mut next_id);
                }
                Err(error) if is_transient(&error) => {
                    log::debug!("accept: {error}");
                }
                Err(error) => {
                    log::error!("accept failed: {error}; retrying in {backoff:?}");
                    // Ended connections whose writers are not yet joined may be what frees a
                    // descriptor (EMFILE).
                    self.writers.reap();
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn admit(&self, stream: TcpStream, peer: SocketAddr, next_id: &mut ConnId) {
        let config = &self.config;
        let per_ip = config.per_ip_limit(peer.ip());
        let slot = match self.slots.admit(peer.ip(), config.max_clients, per_ip) {
            Ok(slot) => slot,
            Err(refusal) => {
                let error = match refusal {
                    Refusal::ServerFull { max } => {
                        log::warn!("{peer}: refused, server full ({max} connections)");
                        ProtocolError::ServerFull { max }
                    }
                    Refusal::TooManyFromAddress { max } => {
                        let group = AddressGroup::of(peer.ip());
                        log::warn!("{peer}: refused, {max} connections from {group} already");
                        ProtocolError::TooManyConnections { max }
                    }
                };
                refuse(stream, &error);
                return;
            }
        };
        let id = *next_id;
        *next_id += 1;
        // Without TCP_NODELAY, Nagle's algorithm holds small lines back for up to ~40 ms.
        if let Err(error) = stream.set_nodelay(true) {
            log::debug!("{peer}: set_nodelay: {error}");
        }
        let socket = Arc::new(stream);
        let outbox = match self
            .writers
            .spawn(id, Arc::clone(&socket), config.send_queue)
        {
            Ok(outbox) => outbox,
            Err(error) => {
                log::error!("{peer}: refused, cannot start a writer thread: {error}");
                if let Ok(stream) = Arc::try_unwrap(socket) {
                    let max = config.max_clients;
                    refuse(stream, &ProtocolError::ServerFull { max });
                }
                return;
            }
        };
        let session = Session::new(id, peer, outbox, config.max_line, Limits::of(config));
        // Cannot fail: the queue is empty.
        session.greet();
        // `--rate 0` turns flood control off.
        let bucket =
            (config.rate > 0).then(|| TokenBucket::new(config.rate, config.burst, Instant::now()));
        let conn = Arc::new(Connection::new(
            id,
            peer,
            socket,
            config.max_line,
            bucket,
            session,
            slot,
        ));
        match self.conns.add(&conn) {
            Ok(()) => log::debug!("conn#{id} {peer}: connected"),
            Err(error) => {
                log::error!("conn#{id} {peer}: cannot watch the socket: {error}");
                conn.end_quietly(reason::SERVER_ERROR, &self.conns);
            }
        }
        self.writers.reap();
    }
}

/// Errors about one connection that died in the backlog, not about the listener.
fn is_transient(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// Tells a connection why it is refused and closes it. A new socket's send buffer is empty,
/// so this short write does not block.
fn refuse(mut stream: TcpStream, error: &ProtocolError) {
    let _ = stream.write_all(Reply::from(error).to_line().as_bytes());
    socket_io::discard_pending_input(&stream);
    let _ = stream.shutdown(Shutdown::Write);
}
