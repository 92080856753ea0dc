//! The server: wiring of threads, channels and the pool. No protocol logic lives here.
//!
//! Threads: one acceptor (`chatd-acceptor`), one poller (`chatd-poller`), two wakers for
//! deferred writer wake-ups (`chatd-waker-announce`, `chatd-waker-burst`), one for timeouts
//! (`chatd-timeouts`), one resuming connections paused by flood control (`chatd-throttle`),
//! `--workers` pool threads (`chatd-worker`), and one writer per connection
//! (`chatd-writer-<id>`). Every handle is kept; [`ServerHandle::shutdown`] joins
//! them all.

mod acceptor;
mod connection;
mod deferred_wake;
pub mod outbox;
mod poller;
pub mod registry;
pub mod rooms;
pub mod session;
mod throttle;
mod timeouts;
mod token_bucket;
pub mod writer;

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use polling::Poller;
use socket2::{Domain, Protocol, Socket, Type};
use threadpool::ThreadPool;

use crate::config::Config;
use chatd_proto::reason;
use connection::Connection;
use deferred_wake::{DeferredWakes, Window};
use registry::Registry;
use throttle::Resumes;
use writer::WriterSet;

/// Identifies one connection for its whole life; never reused.
pub type ConnId = u64;

/// What every server thread shares.
pub(crate) struct Shared {
    config: Config,
    registry: Registry,
    poller: Poller,
    /// The workers. Jobs are connections' turns, queued by the poller, or by a turn that used
    /// up its line budget with lines still buffered.
    pool: ThreadPool,
    /// Every open connection by id: the poller's way from an event key to a connection. A
    /// mutex, not a read-write lock: it is held only for a map lookup or update, once per
    /// readiness batch, connect and disconnect.
    conns: Mutex<HashMap<ConnId, Arc<Connection>>>,
    writers: WriterSet,
    /// Deferred wake-ups of writers, run by the `chatd-waker-*` threads.
    deferred_wakes: Arc<DeferredWakes>,
    /// Connections over their `--rate`, for the `chatd-throttle` thread to resume.
    resumes: Resumes,
    /// Open connections, registered or not, checked against `--max-clients`.
    open: AtomicUsize,
    /// Open connections per peer address, checked against `--max-per-ip`. Taken on connect
    /// and disconnect only.
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    next_id: AtomicU64,
    /// Set once by `shutdown`, read by the acceptor and poller when they are woken.
    stopping: AtomicBool,
}

impl Shared {
    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }
}

/// A bound, not yet running server.
pub struct Server {
    listener: TcpListener,
    config: Config,
}

impl Server {
    /// Validates the configuration and binds the listening socket.
    pub fn bind(config: Config) -> io::Result<Server> {
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = listen(config.addr)?;
        Ok(Server { listener, config })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts the acceptor, the poller and the worker pool.
    pub fn start(self) -> io::Result<ServerHandle> {
        let local_addr = self.listener.local_addr()?;
        let workers = self.config.workers;
        let pool = threadpool::Builder::new()
            .num_threads(workers)
            .thread_name("chatd-worker".to_owned())
            .build();
        let deferred_wakes = Arc::new(DeferredWakes::default());
        let (resumes, paused) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            config: self.config,
            registry: Registry::new(),
            poller: Poller::new()?,
            pool,
            conns: Mutex::new(HashMap::new()),
            writers: WriterSet::new(Arc::clone(&deferred_wakes)),
            deferred_wakes,
            resumes,
            open: AtomicUsize::new(0),
            per_ip: Mutex::default(),
            next_id: AtomicU64::new(1),
            stopping: AtomicBool::new(false),
        });
        let poller = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("chatd-poller".to_owned())
                .spawn(move || poller::run(shared))?
        };
        let wakers = Window::ALL.map(|window| {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("chatd-waker-{}", window.name()))
                .spawn(move || shared.deferred_wakes.run(window))
        });
        let [announce_waker, burst_waker] = wakers;
        let wakers = [announce_waker?, burst_waker?];
        let (stop_timers, timers_stop) = crossbeam_channel::bounded(0);
        let timeouts = {
            let (shared, stop) = (Arc::clone(&shared), timers_stop.clone());
            thread::Builder::new()
                .name("chatd-timeouts".to_owned())
                .spawn(move || timeouts::run(shared, stop))?
        };
        let throttle = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("chatd-throttle".to_owned())
                .spawn(move || throttle::run(shared, paused, timers_stop))?
        };
        let acceptor = {
            let (shared, listener) = (Arc::clone(&shared), self.listener);
            thread::Builder::new()
                .name("chatd-acceptor".to_owned())
                .spawn(move || acceptor::run(listener, shared))?
        };
        log::info!("listening on {local_addr}, workers={workers}");
        Ok(ServerHandle {
            shared,
            local_addr,
            threads: Some(Threads {
                acceptor,
                poller,
                wakers,
                timeouts,
                throttle,
                stop_timers,
            }),
        })
    }
}

/// A running server. Dropping it shuts the server down as [`ServerHandle::shutdown`] does.
pub struct ServerHandle {
    shared: Arc<Shared>,
    local_addr: SocketAddr,
    /// `None` once joined.
    threads: Option<Threads>,
}

struct Threads {
    acceptor: JoinHandle<()>,
    poller: JoinHandle<()>,
    wakers: [JoinHandle<()>; 2],
    timeouts: JoinHandle<()>,
    throttle: JoinHandle<()>,
    /// Dropped to stop the timeouts and throttle threads.
    stop_timers: crossbeam_channel::Sender<()>,
}

/// A snapshot of the server's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Open connections, registered or not.
    pub connections: usize,
    /// Clients with a nick.
    pub registered: usize,
    /// Writer threads not yet joined.
    pub writer_threads: usize,
    /// Bytes in the fullest outbound queue; never above `--send-queue`.
    pub max_queued_bytes: usize,
    /// Write system calls to client sockets since the start: the writers' `writev`s and the
    /// workers' non-blocking flush `send`s.
    pub write_calls: u64,
    /// Lines written to client sockets since the start.
    pub lines_written: u64,
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Connections told about the shutdown.
    pub clients: usize,
    /// Connections whose queue was not written by the drain deadline and were cut.
    pub cut: usize,
}

impl ServerHandle {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn stats(&self) -> Stats {
        self.shared.writers.reap();
        let (write_calls, lines_written) = self.shared.writers.write_totals();
        Stats {
            connections: self.shared.open.load(Ordering::Relaxed),
            registered: self.shared.registry.len(),
            writer_threads: self.shared.writers.len(),
            max_queued_bytes: self.shared.writers.max_queued_bytes(),
            write_calls,
            lines_written,
        }
    }

    /// Stops accepting, tells every client `BYE server shutting down`, lets the writers
    /// drain their queues until `--drain-timeout`, and joins every thread.
    pub fn shutdown(mut self) -> ShutdownReport {
        self.stop()
    }

    fn stop(&mut self) -> ShutdownReport {
        let Some(Threads {
            acceptor,
            poller,
            wakers,
            timeouts,
            throttle,
            stop_timers,
        }) = self.threads.take()
        else {
            return ShutdownReport { clients: 0, cut: 0 };
        };
        let shared = &self.shared;
        log::info!("shutting down");
        shared.stopping.store(true, Ordering::SeqCst);
        // The acceptor is blocked in accept(): a connection of our own wakes it.
        if let Err(error) = TcpStream::connect_timeout(&wake_addr(self.local_addr), WAKE_TIMEOUT) {
            log::warn!("could not wake the acceptor: {error}");
        }
        join(acceptor, "acceptor");
        if let Err(error) = shared.poller.notify() {
            log::error!("could not wake the poller: {error}");
        }
        join(poller, "poller");
        drop(stop_timers);
        join(timeouts, "timeouts");
        // Connections it still held paused are ended below with the others.
        join(throttle, "throttle");
        // Turns already handed to workers finish (a turn that starts now does nothing, and
        // none is queued again); nothing is read after this.
        shared.pool.join();
        let deadline = Instant::now() + shared.config.drain_timeout;
        let conns: Vec<Arc<Connection>> = shared.conns.lock().drain().map(|(_, c)| c).collect();
        // Only the sessions' outboxes may remain, so each writer ends after the last line.
        drop(shared.registry.clear());
        for conn in &conns {
            conn.end_quietly(shared, reason::SHUTTING_DOWN);
        }
        // Nothing is queued any more; the wakers wake the writers still due and return.
        shared.deferred_wakes.stop();
        for waker in wakers {
            join(waker, "waker");
        }
        let cut = shared.writers.join_all(deadline);
        log::info!(
            "stopped: {} clients told, {cut} cut at the drain deadline",
            conns.len()
        );
        ShutdownReport {
            clients: conns.len(),
            cut,
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Connections the kernel may hold for the acceptor (capped by `net.core.somaxconn`). With
/// std's 128, a burst of a few thousand connects overflowed the queue, and each dropped SYN
/// cost its client a one-second retransmission.
const LISTEN_BACKLOG: i32 = 4096;

/// Binds the listening socket as `TcpListener::bind` does, with a deeper backlog.
fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // As std does: a restarted server can bind while old connections are in TIME_WAIT.
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

const WAKE_TIMEOUT: Duration = Duration::from_secs(1);

/// Where to connect to reach our own listener (a wildcard address is not connectable).
fn wake_addr(local: SocketAddr) -> SocketAddr {
    let ip = match local.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, local.port())
}

fn join(handle: JoinHandle<()>, name: &str) {
    if handle.join().is_err() {
        log::error!("the {name} thread panicked");
    }
}
