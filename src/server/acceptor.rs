//! The accept loop: takes each new connection, refuses it over `--max-clients`, otherwise
//! starts its writer, greets it and registers it with the poller.
//!
//! In scope: `accept` and its errors (logged and backed off, never a spin or a crash), and the
//! one line written outside a writer thread: the `SERVER_FULL` refusal to a connection that
//! never gets a writer. Out of scope: reading (`poller`, `connection`).

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use polling::Event;

use crate::server::Shared;
use crate::server::connection::{self, Connection};
use crate::server::rooms::Limits;
use crate::server::session::Session;
use crate::server::token_bucket::TokenBucket;
use chatd_proto::{ProtocolError, Reply, reason};

/// Back-off after an accept error such as EMFILE, doubled up to the maximum while errors last.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

pub fn run(listener: TcpListener, shared: Arc<Shared>) {
    let mut backoff = FIRST_BACKOFF;
    loop {
        let accepted = listener.accept();
        if shared.is_stopping() {
            // Woken by the shutdown's own connection, or a late client: either way, done.
            return;
        }
        match accepted {
            Ok((stream, peer)) => {
                backoff = FIRST_BACKOFF;
                admit(stream, peer, &shared);
            }
            Err(error) if is_transient(&error) => {
                log::debug!("accept: {error}");
            }
            Err(error) => {
                log::error!("accept failed: {error}; retrying in {backoff:?}");
                // Ended connections whose writers are not yet joined may be what frees a
                // descriptor (EMFILE).
                shared.writers.reap();
                thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
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

fn admit(stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    let max = shared.config.max_clients;
    if shared.open.load(Ordering::Relaxed) >= max {
        log::warn!("{peer}: refused, server full ({max} connections)");
        refuse(stream, &ProtocolError::ServerFull { max });
        return;
    }
    // Checked here and counted only once admitted; the acceptor is the only one that adds.
    // Every address is counted, limited or not, so the count is right whatever the limit.
    let over = |max: usize| shared.per_ip.lock().get(&peer.ip()).copied().unwrap_or(0) >= max;
    if let Some(max_per_ip) = shared
        .config
        .per_ip_limit(peer.ip())
        .filter(|&max| over(max))
    {
        log::warn!("{peer}: refused, {max_per_ip} connections from this address already");
        refuse(
            stream,
            &ProtocolError::TooManyConnections { max: max_per_ip },
        );
        return;
    }
    // Without TCP_NODELAY, Nagle's algorithm holds small lines back for up to ~40 ms.
    if let Err(error) = stream.set_nodelay(true) {
        log::debug!("{peer}: set_nodelay: {error}");
    }
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let socket = Arc::new(stream);
    let config = &shared.config;
    let outbox = match shared
        .writers
        .spawn(id, Arc::clone(&socket), config.send_queue)
    {
        Ok(outbox) => outbox,
        Err(error) => {
            log::error!("{peer}: refused, cannot start a writer thread: {error}");
            if let Ok(stream) = Arc::try_unwrap(socket) {
                refuse(stream, &ProtocolError::ServerFull { max });
            }
            return;
        }
    };
    let rooms = Limits {
        rooms_per_client: config.max_rooms_per_client,
        room_members: config.max_room_members,
    };
    let session = Session::new(id, peer, outbox, config.max_line, rooms);
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
    ));
    shared.open.fetch_add(1, Ordering::Relaxed);
    *shared.per_ip.lock().entry(peer.ip()).or_insert(0) += 1;
    shared.conns.lock().insert(id, Arc::clone(&conn));
    // SAFETY: `polling` needs the source deleted before its descriptor closes. Every
    // connection leaves `conns` only through `Connection::forget`, which deletes it first; the
    // descriptor closes after that, when the connection and its writer drop their handles.
    #[allow(unsafe_code)]
    let added = unsafe {
        shared
            .poller
            .add(&*conn.socket, Event::readable(connection::key(id)))
    };
    match added {
        Ok(()) => log::debug!("conn#{id} {peer}: connected"),
        Err(error) => {
            log::error!("conn#{id} {peer}: cannot watch the socket: {error}");
            conn.end_quietly(shared, reason::SERVER_ERROR);
        }
    }
    shared.writers.reap();
}

/// Tells a connection why it is refused and closes it. A new socket's send buffer is empty,
/// so this short write does not block.
fn refuse(mut stream: TcpStream, error: &ProtocolError) {
    let _ = stream.write_all(Reply::from(error).to_line().as_bytes());
    connection::discard_pending_input(&stream);
    let _ = stream.shutdown(Shutdown::Write);
}
