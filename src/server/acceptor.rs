//! The `chatd-acceptor` thread: takes each new connection and hands it to [`Admission`],
//! which refuses it over `--connect-rate`, `--max-clients` or `--max-per-ip`, otherwise hands
//! it to the worker pool, where [`Setup`] starts its writer, greets it and adds it to the
//! connection table. A WebSocket client comes in through the same [`Admission`], from the web
//! listener (`web::bridge`), with its own address: one set of limits for every transport.
//!
//! In scope: `accept` and its errors (a resource shortage such as `EMFILE` is logged and backed
//! off, never a spin; a broken listener ends the thread, which is vital), the ids, everything
//! a connection is made of, and the one line written outside the writers and flushes: the
//! refusal to a connection that never gets a writer, whose log line is limited per address
//! group (`log_limit`). Out of scope: the counts (`admission`), the connect rate's arithmetic
//! (`connect_rate`) and reading (`poller`, `connection`).
//!
//! Why the set-up is a pool job (issue 14): starting a writer thread, the socket options,
//! the greeting and the readiness registration cost the acceptor about 60 µs a connection,
//! while a client connects in a fraction of that. In a connect storm the kernel's accept
//! queue (4,096 here) filled, it dropped SYNs, and each dropped client waited a second for
//! its retransmission: 10,000 clients took 2.3 s to register. Now the acceptor only admits
//! and counts, the queue drains as fast as clients arrive, and the workers set connections up
//! in parallel. Admission stays here, so the limits are applied in accept order.

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::server::address_budget::AddressBudgets;
use crate::server::admission::{AddressGroup, Refusal, Slot, Slots, Transport};
use crate::server::conn_id::ConnId;
use crate::server::connect_rate::ConnectRate;
use crate::server::connection::{Connection, Connections};
use crate::server::flood::Flood;
use crate::server::live::Live;
use crate::server::log_limit::{Event, LogLimit};
use crate::server::outbox::Outbox;
use crate::server::rooms::Limits;
use crate::server::session::Session;
use crate::server::socket_io::{self, ClientSocket};
use crate::server::tls::Tls;
use crate::server::tls::wire::TlsWire;
use crate::server::writer::WriterSet;
use chatd_proto::{ProtocolError, Reply, reason};
use parking_lot::Mutex;
use threadpool::ThreadPool;

/// Back-off after an accept error such as EMFILE, doubled up to the maximum while errors last.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// What admitting a connection takes: shared by the acceptor thread and the web listener.
pub struct Admission {
    /// The settings in force, read once per admitted connection.
    pub live: Arc<Live>,
    pub slots: Arc<Slots>,
    pub warnings: Arc<LogLimit>,
    /// Held through an admission, so that admissions are made one at a time: the connect
    /// rate's windows and the open counts are checked and counted with nothing in between.
    pub connect_rate: Mutex<ConnectRate>,
    /// The next connection's id: the one place that hands ids out, counting up from 1.
    pub next_id: AtomicU64,
    /// Where admitted connections are set up.
    pub pool: ThreadPool,
    pub setup: Arc<Setup>,
}

/// What setting an admitted connection up takes: a job on the worker pool.
pub struct Setup {
    pub live: Arc<Live>,
    /// Flood control's budgets per address group, joined by each new connection.
    pub budgets: Arc<AddressBudgets>,
    pub writers: Arc<WriterSet>,
    pub conns: Arc<Connections>,
    pub warnings: Arc<LogLimit>,
    /// The TLS settings (`--tls-cert`), for a `Transport::Tls` client's session.
    pub tls: Option<Arc<Tls>>,
    /// Whether a WebSocket client came over HTTPS (the web listener speaks TLS).
    pub web_encrypted: bool,
}

/// The `chatd-acceptor` thread's loop (and `chatd-acceptor-tls`'s, whose clients come by
/// `Transport::Tls`): runs until the connection table is closed and a connection wakes it, or
/// until the listener itself fails.
pub fn run(admission: &Admission, listener: TcpListener, transport: Transport) -> io::Result<()> {
    admission.accept_all(listener, transport)
}

impl Admission {
    fn accept_all(&self, listener: TcpListener, transport: Transport) -> io::Result<()> {
        let mut backoff = FIRST_BACKOFF;
        loop {
            let accepted = listener.accept();
            if self.setup.conns.is_closed() {
                // Woken by the shutdown's own connection, or a late client: either way, done.
                return Ok(());
            }
            match accepted {
                Ok((stream, peer)) => {
                    backoff = FIRST_BACKOFF;
                    self.admit(stream, peer, transport);
                }
                Err(error) if is_transient(&error) => {
                    log::debug!("accept: {error}");
                }
                Err(error) if is_fatal(&error) => {
                    return Err(io::Error::new(
                        error.kind(),
                        format!("the listening socket failed: {error}"),
                    ));
                }
                Err(error) => {
                    log::error!("accept failed: {error}; retrying in {backoff:?}");
                    // Ended connections whose writers are not yet joined may be what frees a
                    // descriptor (EMFILE).
                    self.setup.writers.reap();
                    thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Admits a connection from `peer` whose socket is `stream`, and has it set up on the
    /// pool; or tells it why not and closes it. `stream` is the client's own socket for a
    /// TCP or TLS client, the server's end of the bridge for a WebSocket one. A TLS client is
    /// admitted (and refused) before its handshake: the limits bound handshakes too.
    pub fn admit(&self, stream: TcpStream, peer: SocketAddr, transport: Transport) {
        if self.setup.conns.is_closed() {
            // A WebSocket client arriving during a shutdown, after the acceptor stopped: its
            // end of stream closes it.
            return;
        }
        let config = self.live.get();
        let now = Instant::now();
        let group = AddressGroup::of(peer.ip());
        let mut connect_rate = self.connect_rate.lock();
        // First, and whatever the outcome: every connect from a limited group counts, so a
        // loop of connects is slowed even when each closes before the next.
        if let Some(per_second) = config.connect_rate_limit(peer.ip()) {
            if !connect_rate.admit(group, per_second, now) {
                drop(connect_rate);
                if let Some(held) = self.warnings.note(group, Event::TooOften, now) {
                    log::warn!(
                        "{peer}: refused, more than {per_second} connections a second from \
                         {group}{}",
                        held.suffix()
                    );
                }
                refuse(
                    &stream,
                    transport,
                    &ProtocolError::ConnectingTooOften { per_second },
                );
                return;
            }
        }
        let per_ip = config.per_ip_limit(peer.ip());
        let admitted = self
            .slots
            .admit(peer.ip(), transport, config.max_clients, per_ip);
        drop(connect_rate);
        let slot = match admitted {
            Ok(slot) => slot,
            Err(refusal) => {
                let (event, error) = match refusal {
                    Refusal::ServerFull { max } => {
                        (Event::ServerFull, ProtocolError::ServerFull { max })
                    }
                    Refusal::TooManyFromAddress { max } => (
                        Event::TooManyFromAddress,
                        ProtocolError::TooManyConnections { max },
                    ),
                };
                if let Some(held) = self.warnings.note(group, event, now) {
                    let why = match refusal {
                        Refusal::ServerFull { max } => format!("server full ({max} connections)"),
                        Refusal::TooManyFromAddress { max } => {
                            format!("{max} connections from {group} already")
                        }
                    };
                    log::warn!("{peer}: refused, {why}{}", held.suffix());
                }
                refuse(&stream, transport, &error);
                return;
            }
        };
        let id: ConnId = self.next_id.fetch_add(1, Ordering::Relaxed);
        let setup = Arc::clone(&self.setup);
        self.pool
            .execute(move || setup.start(id, stream, peer, slot, transport));
    }
}

impl Setup {
    /// Starts the writer of admitted connection `id`, greets it, and adds it to the table,
    /// whose readiness then hands its lines to the pool. After a shutdown began, it is added
    /// all the same: the shutdown joins the pool before it ends every connection in the table.
    fn start(
        &self,
        id: ConnId,
        stream: TcpStream,
        peer: SocketAddr,
        slot: Slot,
        transport: Transport,
    ) {
        let config = self.live.get();
        // Without TCP_NODELAY, Nagle's algorithm holds small lines back for up to ~40 ms.
        if let Err(error) = stream.set_nodelay(true) {
            log::debug!("{peer}: set_nodelay: {error}");
        }
        // The writer's blocking writes fail once nothing could be written for this long.
        if let Err(error) = stream.set_write_timeout(Some(config.write_timeout)) {
            log::debug!("{peer}: cannot set the write timeout: {error}");
        }
        let tls = match (transport, &self.tls) {
            (Transport::Tls, Some(tls)) => match TlsWire::new(tls.chat()) {
                Ok(wire) => Some(wire),
                Err(error) => {
                    log::error!("{peer}: refused, cannot start a TLS session: {error}");
                    return;
                }
            },
            _ => None,
        };
        let encrypted = match transport {
            Transport::Tcp => false,
            Transport::Tls => true,
            Transport::WebSocket => self.web_encrypted,
        };
        let socket = Arc::new(ClientSocket::new(stream, peer, slot, tls));
        let outbox = match self
            .writers
            .spawn(id, Arc::clone(&socket), config.send_queue)
        {
            Ok(outbox) => outbox,
            Err(error) => {
                let group = AddressGroup::of(peer.ip());
                if let Some(held) = self.warnings.note(group, Event::NoWriter, Instant::now()) {
                    log::error!(
                        "{peer}: refused, cannot start a writer thread: {error}{}",
                        held.suffix()
                    );
                }
                let max = config.max_clients;
                refuse(&socket, transport, &ProtocolError::ServerFull { max });
                return;
            }
        };
        let conn = Arc::new(self.connection(id, peer, socket, outbox, encrypted, &config));
        // Before the connection is watched: once it is, another worker may run its first
        // line and log it, and the log must tell a connection's life in order.
        log::debug!("conn#{id} {peer}: connected");
        if let Err(error) = self.conns.add(&conn) {
            log::error!("conn#{id} {peer}: cannot watch the socket: {error}");
            conn.end_quietly(reason::SERVER_ERROR, &self.conns);
        }
        self.writers.reap();
    }

    /// A greeted connection, not yet in the table.
    fn connection(
        &self,
        id: ConnId,
        peer: SocketAddr,
        socket: Arc<ClientSocket>,
        outbox: Outbox,
        encrypted: bool,
        config: &Config,
    ) -> Connection {
        let mut session = Session::new(id, peer, outbox, config.max_line, Limits::of(config));
        session.set_passwords_in_clear(encrypted, config.allow_plain_passwords);
        // Cannot fail: the queue is empty.
        session.greet();
        let flood = Flood::new(config, peer.ip(), &self.budgets, Instant::now());
        Connection::new(id, peer, socket, config.max_line, flood, session)
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

/// Errors that say the listening socket itself is broken (closed, shut down, not a listening
/// socket any more): retrying can never succeed. Resource shortages (`EMFILE`, `ENFILE`,
/// `ENOBUFS`, `ENOMEM`) and anything else are backed off and retried.
fn is_fatal(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EBADF | libc::EINVAL | libc::ENOTSOCK | libc::EOPNOTSUPP | libc::EFAULT)
    )
}

/// Tells a connection why it is refused and shuts its sending side; the descriptor closes when
/// the caller drops its last handle. A new socket's send buffer is empty, so this short write
/// does not block. A TLS client has no session yet to read a line in: it is only closed.
fn refuse(mut stream: &TcpStream, transport: Transport, error: &ProtocolError) {
    if transport != Transport::Tls {
        let _ = stream.write_all(Reply::from(error).to_line().as_bytes());
    }
    socket_io::discard_pending_input(stream);
    let _ = stream.shutdown(Shutdown::Write);
}
