//! The server: wiring only. It binds the listener, creates every shared part, the channels
//! and the worker pool, starts every thread and keeps every `JoinHandle`; no protocol logic
//! lives here.
//!
//! Threads: one acceptor (`chatd-acceptor`), one poller (`chatd-poller`), two wakers for
//! deferred writer wake-ups (`chatd-waker-announce`, `chatd-waker-burst`), one for timeouts
//! (`chatd-timeouts`), one resuming connections paused by flood control (`chatd-throttle`),
//! `--workers` pool threads (`chatd-worker`), and one writer per connection
//! (`chatd-writer-<id>`). [`ServerHandle::shutdown`] joins them all. The threads of which there
//! is one are vital: if one dies, the server has failed ([`ServerHandle::failure`]).
//!
//! The modules in reading order, from the threads down; each uses only modules after it:
//! - `vital`: starting the threads the server cannot run without, and noticing their death;
//! - `acceptor`, `poller`, `timeouts`: threads;
//! - `turns`: a connection's turn as a pool job; `throttle`: the thread that holds paused
//!   connections until their tokens are back; `flood`: what a connection's turn may do and
//!   what it costs; `address_budget`: the budgets shared by an address group's connections;
//! - `connection`: a connection (its turn, pause and end) and the table of open ones;
//! - `session`: what a line does; `registry`: the client table; `rooms`: room rules;
//!   `history`: the recent lines of the lobby and of each room, for `HISTORY`;
//!   `direct_history`: the direct messages kept for accounts, for `HISTORY <nick>`;
//! - `writer`: the writer threads; `outbox`: a client's queue; `deferred_wake`: the windows;
//! - `metrics`: the counters of `STATS` and [`Stats`]; `latency`: their fan-out histogram;
//!   `message_ids`: the source of message ids, which the registry takes from;
//! - `live` (the settings a reload changes), `log_limit` (log lines limited per address
//!   group), `connect_rate`;
//! - `readiness` (`epoll`, and the hang-up watch of paused connections), `socket_io` (the
//!   system calls, and the socket that holds a connection's place), `admission` (the open
//!   counts), `line`, `token_bucket`, `conn_id`;
//! - `fd_limit`: the open-file limit against `--max-clients`, for the binary; `data_lock`: the
//!   data folder's lock, which a server holds for as long as it runs;
//! - `files`: the files sent with `UPLOAD`, their quota and folder;
//! - `cluster`: a node's part of a cluster (`--cluster`) on its own tokio runtime, which the
//!   core reaches through `cluster_link`;
//! - `web`: the web listener (`--http`) on its own tokio runtime: the page, the protocol over
//!   WebSocket (each client bridged to an ordinary connection through `acceptor::Admission`),
//!   the files' uploads and downloads.
//!
//! Besides the server, the binary's `chatd account` commands reach the account book of a
//! data folder no server uses through [`AccountAdmin`].

mod vital;

mod acceptor;
mod poller;
mod timeouts;

mod address_budget;
mod flood;
mod throttle;
mod turns;

mod connection;

mod direct_history;
mod history;
mod history_entry;
mod login;
mod registry;
mod rooms;
mod session;
mod store;

mod deferred_wake;
mod outbox;
mod writer;

mod latency;
mod message_ids;
mod metrics;

mod connect_rate;
mod live;
mod log_limit;

mod accounts;
mod admission;
mod cluster;
mod cluster_link;
mod conn_id;
mod line;
mod readiness;
mod socket_io;
mod token_bucket;

mod data_lock;
mod fd_limit;

mod files;
mod tls;
mod web;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use threadpool::ThreadPool;

use crate::config::Config;
use acceptor::{Admission, Setup};
use accounts::Accounts;
use address_budget::AddressBudgets;
use admission::{Slots, Transport};
use chatd_proto::reason;
use cluster::{Cluster, Retention};
use connection::{Connection, Connections};
use data_lock::DataLock;
use deferred_wake::{DeferredWakes, Window};
use direct_history::DirectHistory;
use files::Files;
use history::{HISTORY_RING, Keeping};
use live::Live;
use log_limit::LogLimit;
use message_ids::MessageIds;
use metrics::Metrics;
use outbox::Queue;
use readiness::Readiness;
use registry::Registry;
use rooms::Limits;
use store::Store;
use timeouts::Timeouts;
use tls::Tls;
use turns::Turns;
use vital::Vital;
use web::{FileRoutes, Web, WebParts};
use writer::WriterSet;

pub use accounts::{AccountAdmin, AdminError, ListedAccount};
pub use cluster::account_admin as cluster_account_admin;
pub use fd_limit::{OpenFiles, RESERVED_FDS};
pub use metrics::Stats;
pub use vital::Failure;
// `chatd tls self-signed` (the binary) makes its certificate here.
pub use tls::self_signed;

/// A bound, not yet running server.
pub struct Server {
    listener: TcpListener,
    /// The web listener's socket, unless `--http off`.
    web_listener: Option<TcpListener>,
    /// The TLS listener's socket and the certificate it presents, with `--tls-cert`.
    tls: Option<(TcpListener, Arc<Tls>)>,
    config: Config,
}

impl Server {
    /// Validates the configuration and binds the listening socket.
    pub fn bind(config: Config) -> io::Result<Server> {
        config
            .validate()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let listener = listen(config.addr)?;
        let web_listener = match config.http {
            Some(addr) => Some(web::bind(addr).map_err(|error| {
                io::Error::new(error.kind(), format!("the web listener on {addr}: {error}"))
            })?),
            None => None,
        };
        let tls = match config.tls_listener() {
            Some((cert, key, addr)) => {
                let tls = Tls::load(cert, key).map_err(|error| {
                    io::Error::new(error.kind(), format!("the TLS certificate: {error}"))
                })?;
                let listener = listen(addr).map_err(|error| {
                    io::Error::new(error.kind(), format!("the TLS listener on {addr}: {error}"))
                })?;
                Some((listener, Arc::new(tls)))
            }
            None => None,
        };
        Ok(Server {
            listener,
            web_listener,
            tls,
            config,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The web listener's address, unless `--http off`.
    pub fn web_addr(&self) -> io::Result<Option<SocketAddr>> {
        self.web_listener
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()
    }

    /// The TLS listener's address, with `--tls-cert`.
    pub fn tls_addr(&self) -> io::Result<Option<SocketAddr>> {
        self.tls
            .as_ref()
            .map(|(listener, _)| listener.local_addr())
            .transpose()
    }

    /// Starts the acceptor, the poller, the worker pool and the other threads, after taking
    /// the data folder's lock: the error when another chatd holds it.
    pub fn start(self) -> io::Result<ServerHandle> {
        let local_addr = self.listener.local_addr()?;
        let web_addr = self.web_addr()?;
        let tls_addr = self.tls_addr()?;
        let config = self.config;
        // First: a folder another chatd uses stops this one before it reads anything there.
        let data_lock = DataLock::for_server(&config)?;
        let pool = threadpool::Builder::new()
            .num_threads(config.workers)
            .thread_name("chatd-worker".to_owned())
            .build();
        let vital = Arc::new(Vital::default());
        let warnings = Arc::new(LogLimit::default());
        let deferred_wakes = Arc::new(DeferredWakes::default());
        let slots = Arc::new(Slots::default());
        let metrics = Arc::new(Metrics::new(Arc::clone(&slots)));
        let writers = Arc::new(WriterSet::new(
            Arc::clone(&deferred_wakes),
            Arc::clone(&warnings),
            Arc::clone(&metrics),
        ));
        let ring = config.history_lines.min(HISTORY_RING);
        let (opened, recovered) = store::Opened::open(&config, ring);
        // Above every id a previous run handed out, stored or not.
        let ids = Arc::new(MessageIds::starting_above(recovered.id_floor));
        let store = opened.start(Arc::clone(&ids))?;
        let keeping = Keeping::new(config.history_lines, config.history_days, store.clone());
        // Before anything is served: a node that cannot join its cluster does not start.
        let cluster = match config.cluster.as_slice() {
            [] => None,
            servers => Some(Cluster::connect(
                servers,
                Retention {
                    lines: config.history_lines,
                    days: config.history_days,
                    replicas: config.cluster_replicas,
                },
            )?),
        };
        let (keeping, lobby) = match &cluster {
            Some(cluster) => {
                let lobby = keeping.clustered_lobby(cluster.lobby_history());
                (keeping.with_room_streams(cluster.room_history()), lobby)
            }
            None => {
                let lobby = keeping.lobby(recovered.lobby, recovered.lobby_complete);
                (keeping, lobby)
            }
        };
        let direct = DirectHistory::new(config.history_lines, config.history_days, &store);
        // After the store: both bring the database's schema up to date, one at a time.
        let accounts = Accounts::open(&config)?;
        let files = Files::open(&config, web_addr)?;
        let registry = Registry::with(
            config.presence_limit,
            metrics,
            keeping,
            lobby,
            direct,
            ids,
            accounts,
        );
        let registry = registry.with_files(files.clone());
        let registry = Arc::new(match &cluster {
            Some(cluster) => registry.with_cluster(cluster.link(), Limits::of(&config)),
            None => registry,
        });
        if cluster.is_none() {
            registry.restore_rooms(recovered.rooms);
        } else if !recovered.rooms.is_empty() {
            // A node's rooms are the cluster's: one node's saved rooms would be its alone.
            log::warn!(
                "{} registered room(s) of a single server's run are not brought into the cluster",
                recovered.rooms.len()
            );
        }
        let (cluster, cluster_watch) = match cluster {
            Some(mut cluster) => {
                let watch = cluster.run(Arc::clone(&registry))?;
                let watch = vital.spawn("cluster", move || watch.wait())?;
                (Some(cluster), Some(watch))
            }
            None => (None, None),
        };
        let conns = Arc::new(Connections::new(Readiness::new()?));
        let (to_throttle, paused) = crossbeam_channel::unbounded();
        let turns = Arc::new(Turns::new(
            pool.clone(),
            Arc::clone(&registry),
            Arc::clone(&conns),
            to_throttle,
        ));
        let poller = {
            let (conns, turns, writers) =
                (Arc::clone(&conns), Arc::clone(&turns), Arc::clone(&writers));
            vital.spawn("poller", move || poller::run(conns, turns, writers))?
        };
        let wakers = Window::ALL.map(|window| {
            let deferred_wakes = Arc::clone(&deferred_wakes);
            vital.spawn(&format!("waker-{}", window.name()), move || {
                deferred_wakes.run(window);
                Ok(())
            })
        });
        let [announce_waker, burst_waker] = wakers;
        let wakers = [announce_waker?, burst_waker?];
        let workers = config.workers;
        // The address budgets' rates are fixed at start; a reload names them as such.
        let budgets = Arc::new(AddressBudgets::new(config.ip_rate, config.ip_byte_rate));
        let live = Arc::new(Live::new(config));
        let (stop_timers, timers_stop) = crossbeam_channel::bounded(0);
        let timeouts = {
            let timeouts = Timeouts {
                live: Arc::clone(&live),
                conns: Arc::clone(&conns),
                registry: Arc::clone(&registry),
                warnings: Arc::clone(&warnings),
            };
            let stop = timers_stop.clone();
            vital.spawn("timeouts", move || {
                timeouts.run(stop);
                Ok(())
            })?
        };
        let throttle = vital.spawn("throttle", move || {
            throttle::run(paused, timers_stop, |conn| turns.resume(conn));
            Ok(())
        })?;
        let setup = Setup {
            live: Arc::clone(&live),
            budgets: Arc::clone(&budgets),
            writers: Arc::clone(&writers),
            conns: Arc::clone(&conns),
            warnings: Arc::clone(&warnings),
            tls: self.tls.as_ref().map(|(_, tls)| Arc::clone(tls)),
            web_encrypted: self.tls.is_some(),
        };
        let admission = Arc::new(Admission {
            live: Arc::clone(&live),
            slots: Arc::clone(&slots),
            warnings,
            connect_rate: Default::default(),
            next_id: 1.into(),
            pool: pool.clone(),
            setup: Arc::new(setup),
        });
        let web = match (self.web_listener, files) {
            (Some(listener), Some(files)) => {
                let files = FileRoutes::new(files, Arc::clone(&registry));
                let (registry, writers) = (Arc::clone(&registry), Arc::clone(&writers));
                let parts = WebParts {
                    admission: Arc::clone(&admission),
                    vital: Arc::clone(&vital),
                    stats: Box::new(move || stats(&registry, &writers)),
                    files,
                };
                let tls = self.tls.as_ref().map(|(_, tls)| Arc::clone(tls.web()));
                Some(Web::start(listener, tls, &live.get(), parts)?)
            }
            _ => None,
        };
        let (tls_acceptor, tls) = match self.tls {
            Some((listener, tls)) => {
                let admission = Arc::clone(&admission);
                let acceptor = vital.spawn("acceptor-tls", move || {
                    acceptor::run(&admission, listener, Transport::Tls)
                })?;
                (Some(acceptor), Some(tls))
            }
            None => (None, None),
        };
        let acceptor = {
            let listener = self.listener;
            vital.spawn("acceptor", move || {
                acceptor::run(&admission, listener, Transport::Tcp)
            })?
        };
        log::info!("listening on {local_addr}, workers={workers}");
        if let Some(tls_addr) = tls_addr {
            log::info!("listening with TLS on {tls_addr}");
        }
        if let Some(web_addr) = web_addr {
            let scheme = if tls.is_some() { "https" } else { "http" };
            log::info!("web page at {scheme}://{web_addr}/");
        }
        Ok(ServerHandle {
            local_addr,
            web_addr,
            tls_addr,
            parts: Box::new(Parts {
                pool,
                registry,
                conns,
                writers,
                deferred_wakes,
                live,
                budgets,
                vital,
                store,
                web,
                tls,
                cluster,
                _data_lock: data_lock,
            }),
            threads: Some(Box::new(Threads {
                acceptor,
                tls_acceptor,
                poller,
                wakers,
                timeouts,
                throttle,
                stop_timers,
                cluster_watch,
            })),
        })
    }
}

/// A running server. Dropping it shuts the server down as [`ServerHandle::shutdown`] does.
pub struct ServerHandle {
    local_addr: SocketAddr,
    web_addr: Option<SocketAddr>,
    tls_addr: Option<SocketAddr>,
    /// Boxed: the handle is kept in enums by its users, and stays small that way.
    parts: Box<Parts>,
    /// `None` once joined; boxed for the same reason as `parts`.
    threads: Option<Box<Threads>>,
}

/// What the shutdown and the `Stats` reach.
struct Parts {
    /// A handle on the workers, to join them.
    pool: ThreadPool,
    registry: Arc<Registry>,
    conns: Arc<Connections>,
    writers: Arc<WriterSet>,
    deferred_wakes: Arc<DeferredWakes<Queue>>,
    /// The settings in force, which [`ServerHandle::apply`] changes.
    live: Arc<Live>,
    /// Flood control's budgets per address group, for the buckets a reload hands out.
    budgets: Arc<AddressBudgets>,
    vital: Arc<Vital>,
    /// The history store, closed (everything written) last.
    store: Store,
    /// The web listener, unless `--http off`: stops accepting with the acceptor, and ends
    /// once every connection has.
    web: Option<Web>,
    /// The certificate and key in force, with `--tls-cert`: re-read by a reload.
    tls: Option<Arc<Tls>>,
    /// This node's part of its cluster, with `--cluster`: leaves it once every client here
    /// was told of the shutdown.
    cluster: Option<Cluster>,
    /// The data folder's lock (`None` with `--ephemeral`, or a folder that cannot be
    /// locked): held until the handle drops, after the shutdown, so no other chatd opens the
    /// database while this one may still write to it. Last, so dropped last.
    _data_lock: Option<DataLock>,
}

struct Threads {
    acceptor: JoinHandle<()>,
    /// The TLS listener's, with `--tls-cert`.
    tls_acceptor: Option<JoinHandle<()>>,
    poller: JoinHandle<()>,
    wakers: [JoinHandle<()>; 2],
    timeouts: JoinHandle<()>,
    throttle: JoinHandle<()>,
    /// Dropped to stop the timeouts and throttle threads.
    stop_timers: crossbeam_channel::Sender<()>,
    /// With `--cluster`: waits on the cluster's tasks, and ends when the node leaves.
    cluster_watch: Option<JoinHandle<()>>,
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

    /// The web listener's address, unless `--http off`.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web_addr
    }

    /// The TLS listener's address, with `--tls-cert`.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    /// Reads the TLS certificate and key files again (`SIGHUP`): every handshake from now on
    /// presents the new pair, and open connections keep theirs. On an error the old pair
    /// stays in force. Nothing to do without TLS.
    pub fn reload_tls(&self) -> io::Result<()> {
        match &self.parts.tls {
            Some(tls) => tls.reload(),
            None => Ok(()),
        }
    }

    /// Takes the live settings of `config` (those [`Setting::is_live`] names; the others
    /// keep their value until a restart): new connections get them at once, open ones their
    /// rate and burst (a new bucket) and write timeout, and the timeouts thread reads its
    /// timeouts at its next look. `config` is checked as [`Server::bind`] checks it.
    ///
    /// [`Setting::is_live`]: crate::config::Setting::is_live
    pub fn apply(&self, config: &Config) -> Result<(), String> {
        config.validate()?;
        let parts = &self.parts;
        let before = parts.live.get();
        let now = parts.live.take_live(config);
        let flood = |c: &Config| (c.rate, c.burst, c.byte_rate, c.byte_burst);
        if flood(&now) != flood(&before) {
            for conn in parts.conns.all() {
                conn.set_flood(&now, &parts.budgets);
            }
        }
        if now.write_timeout != before.write_timeout {
            parts.writers.set_write_timeout(now.write_timeout);
        }
        Ok(())
    }

    /// The failure of a thread the server cannot run without, if one died: the server then
    /// accepts or reads nothing more, and should be shut down.
    pub fn failure(&self) -> Option<Failure> {
        self.parts.vital.failure()
    }

    /// Calls `notify` once, on the dying thread, if a thread the server cannot run without
    /// dies (at once if one has died): to wake whoever must then shut the server down.
    pub fn on_failure(&self, notify: impl FnOnce() + Send + 'static) {
        self.parts.vital.on_failure(notify);
    }

    pub fn stats(&self) -> Stats {
        stats(&self.parts.registry, &self.parts.writers)
    }

    /// Stops accepting, tells every client `BYE server shutting down`, lets the writers
    /// drain their queues until `--drain-timeout`, and joins every thread.
    pub fn shutdown(mut self) -> ShutdownReport {
        self.stop()
    }

    fn stop(&mut self) -> ShutdownReport {
        let Some(Threads {
            acceptor,
            tls_acceptor,
            poller,
            wakers,
            timeouts,
            throttle,
            stop_timers,
            cluster_watch,
        }) = self.threads.take().map(|threads| *threads)
        else {
            return ShutdownReport { clients: 0, cut: 0 };
        };
        let parts = &mut self.parts;
        log::info!("shutting down");
        parts.vital.stopping();
        parts.conns.close();
        if let Some(web) = &mut parts.web {
            web.stop_accepting();
        }
        let parts = &self.parts;
        // The acceptor is blocked in accept(): a connection of our own wakes it, unless it
        // has died (its listener is closed then).
        if !acceptor.is_finished() {
            let wake = TcpStream::connect_timeout(&wake_addr(self.local_addr), WAKE_TIMEOUT);
            if let Err(error) = wake {
                log::warn!("could not wake the acceptor: {error}");
            }
        }
        join(acceptor, "acceptor");
        if let (Some(tls_acceptor), Some(tls_addr)) = (tls_acceptor, self.tls_addr) {
            if !tls_acceptor.is_finished() {
                let wake = TcpStream::connect_timeout(&wake_addr(tls_addr), WAKE_TIMEOUT);
                if let Err(error) = wake {
                    log::warn!("could not wake the TLS acceptor: {error}");
                }
            }
            join(tls_acceptor, "TLS acceptor");
        }
        if let Err(error) = parts.conns.readiness().notify() {
            log::error!("could not wake the poller: {error}");
        }
        join(poller, "poller");
        drop(stop_timers);
        join(timeouts, "timeouts");
        // Connections it still held paused are ended below with the others.
        join(throttle, "throttle");
        // Turns already handed to workers finish (a turn that starts now does nothing, and
        // none is queued again); nothing is read after this.
        parts.pool.join();
        let deadline = Instant::now() + parts.live.get().drain_timeout;
        let conns: Vec<Arc<Connection>> = parts.conns.drain();
        // Only the sessions' outboxes may remain, so each writer ends after the last line.
        drop(parts.registry.clear());
        if let Some(cluster) = self.parts.cluster.take() {
            cluster.leave();
        }
        if let Some(watch) = cluster_watch {
            join(watch, "cluster");
        }
        let parts = &self.parts;
        for conn in &conns {
            conn.end_quietly(reason::SHUTTING_DOWN, &parts.conns);
        }
        let told = conns.len();
        // Now: a socket closes (and its client sees the FIN) when its last handle drops,
        // which must be its writer's as soon as it has drained.
        drop(conns);
        // Nothing is queued any more; the wakers wake the writers still due and return.
        parts.deferred_wakes.stop();
        for waker in wakers {
            join(waker, "waker");
        }
        let cut = parts.writers.join_all(deadline);
        // Every connection has ended: the relays pass their last lines on, then close.
        let parts = &mut self.parts;
        if let Some(web) = &mut parts.web {
            web.finish();
        }
        let parts = &self.parts;
        // Nothing records any more (the workers are joined, the rooms gone): every line
        // queued is in the store's channel, and this writes it.
        parts.store.close();
        // After the workers: no job is submitted any more.
        parts.registry.accounts().close();
        log::info!("stopped: {told} clients told, {cut} cut at the drain deadline");
        ShutdownReport { clients: told, cut }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A reading of the server's figures: `STATS`'s, and the writers'.
fn stats(registry: &Registry, writers: &WriterSet) -> Stats {
    writers.reap();
    let load = registry.load();
    load.with_writers(writers.len(), writers.max_queued_bytes())
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
