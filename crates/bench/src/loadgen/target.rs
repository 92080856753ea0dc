//! How a run reaches its server: a server started in this process, the `chatd` binary started
//! as a child process, or as N nodes of a cluster (`--nodes`), a chatd someone else runs
//! (`--addr`), or a Redis or NATS server someone else runs (`--target redis://...`,
//! `nats://...`).
//!
//! In scope: starting and stopping the first three (the processes themselves: `child`,
//! `nodes`), the addresses to connect to (the line protocol's, chatd's web listener's for
//! WebSocket clients and its TLS listener's for TLS clients: from the in-process handle,
//! from a child's `web page at` and `listening with TLS on` log lines, or `--web` and
//! `--tls-addr`), the certificate a server the run starts gets for TLS and what its clients
//! trust (`pki`), the protocol it speaks ([`Dialect`]), reading a `--target` URL, and where
//! the server's figures come from (the in-process [`Stats`], or `/proc/<pid>` of a child, of
//! every process of a cluster, or of `--server-pid`). A cluster's clients are spread over
//! its nodes ([`Target::endpoints_for`]).
//! Out of scope: measuring anything (`meter`) and the clients (`client`).

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use tempfile::TempDir;

use crate::loadgen::child::{self, ChildServer};
use crate::loadgen::dialect::{Dialect, Peer};
use crate::loadgen::nodes::{Cluster, NodesSpec};
use crate::loadgen::pki::{self, RunPki};
use crate::loadgen::tls::TlsEndpoint;
use crate::loadgen::transport::Endpoints;
use chatd::config::{self, Config};
use chatd::server::{Server, ServerHandle, Stats};

/// Clients are closed before the server stops, so there is little to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Which server a run talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A server in this process, on `127.0.0.1:0`, with the run's [`ServerSettings`].
    InProcess,
    /// This `chatd` binary as a child process on `127.0.0.1:0`, with the run's settings.
    Spawn(PathBuf),
    /// That binary as N nodes of a cluster, joined through a NATS server of the run's own,
    /// sharing the run's workers (`--nodes`); compared with `Spawn` of the same binary.
    Nodes(NodesSpec),
    /// A running server; `pid` (if on this machine) lets the run read its `/proc` figures,
    /// `web` is its web listener, for WebSocket clients (`--web`), and `tls` its TLS
    /// listener, for TLS clients (`--tls-addr`, `--ca`).
    External {
        addr: SocketAddr,
        pid: Option<u32>,
        web: Option<SocketAddr>,
        tls: Option<TlsTarget>,
    },
    /// A running Redis or NATS server, as `External` is a running chatd.
    Peer {
        peer: Peer,
        addr: SocketAddr,
        pid: Option<u32>,
    },
}

/// A running server's TLS listener, and what its certificate is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsTarget {
    pub addr: SocketAddr,
    /// The host as given to `--tls-addr`: the name the certificate must carry.
    pub host: String,
    /// `--ca`: a PEM file of the certificates to trust; `None`, the system's roots.
    pub ca: Option<PathBuf>,
}

impl TlsTarget {
    /// The endpoint its clients connect to, trusting what it says to trust.
    fn endpoint(&self) -> io::Result<TlsEndpoint> {
        Ok(TlsEndpoint {
            addr: self.addr,
            name: pki::server_name(&self.host)?,
            config: pki::trusting(self.ca.as_deref())?,
        })
    }
}

impl TargetSpec {
    /// Whether the run chooses the server's settings (workers, queue size).
    pub fn starts_server(&self) -> bool {
        !matches!(self, TargetSpec::External { .. } | TargetSpec::Peer { .. })
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            TargetSpec::Peer { peer, .. } => Dialect::Peer(*peer),
            _ => Dialect::Chatd,
        }
    }

    /// How many chatd processes share the chat: `Some(N)` for `--nodes N`, else `None`.
    pub fn nodes(&self) -> Option<usize> {
        match self {
            TargetSpec::Nodes(spec) => Some(spec.nodes),
            _ => None,
        }
    }

    /// The one process a `--nodes` run is compared with: the same binary, spawned; any other
    /// target is its own.
    pub fn one_process(&self) -> TargetSpec {
        match self {
            TargetSpec::Nodes(spec) => TargetSpec::Spawn(spec.chatd.clone()),
            other => other.clone(),
        }
    }

    /// The running server at `url`: `chatd://HOST:PORT` (as `External`), `redis://HOST:PORT`
    /// or `nats://HOST:PORT`; without a port, the server's usual one (7878, 6379, 4222).
    /// `pid` is the server's process, if it runs on this machine.
    pub fn from_url(url: &str, pid: Option<u32>) -> Result<TargetSpec, String> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            format!("{url}: not a URL; give chatd://, redis:// or nats:// and HOST:PORT")
        })?;
        let peer = Peer::ALL.into_iter().find(|p| p.scheme() == scheme);
        let default_port = match peer {
            Some(peer) => peer.default_port(),
            None if scheme == "chatd" => config::DEFAULT_ADDR
                .parse::<SocketAddr>()
                .map_or(7878, |addr| addr.port()),
            None => {
                return Err(format!(
                    "{url}: unknown scheme {scheme:?}; chatd, redis and nats are known"
                ));
            }
        };
        let host_port = rest.strip_suffix('/').unwrap_or(rest);
        if host_port.is_empty() || host_port.contains('/') {
            return Err(format!(
                "{url}: give HOST:PORT after {scheme}://, and nothing else"
            ));
        }
        let resolved = match host_port.to_socket_addrs() {
            Ok(addrs) => Ok(addrs),
            // No port: the server's usual one.
            Err(_) => {
                let host = host_port.trim_start_matches('[').trim_end_matches(']');
                (host, default_port).to_socket_addrs()
            }
        };
        let addr = resolved
            .map_err(|e| format!("{url}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url}: no address found"))?;
        Ok(match peer {
            Some(peer) => TargetSpec::Peer { peer, addr, pid },
            None => TargetSpec::External {
                addr,
                pid,
                web: None,
                tls: None,
            },
        })
    }
}

/// The settings of a server the run starts.
/// Register and idle timeouts of the servers the tool starts: idle clients are what the
/// idle workload measures, and a slow machine must not turn registration into a timeout.
const BENCH_TIMEOUT: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSettings {
    pub workers: usize,
    /// `--send-queue` in bytes.
    pub send_queue: usize,
    pub max_clients: usize,
    /// History on, as by default (kept in a data folder of the run's own, removed after), or
    /// off (`--history-lines 0`): the benchmark compares the two.
    pub history: bool,
    /// A TLS listener on `127.0.0.1:0` with a certificate made for the run (`pki`), which
    /// the run's clients trust: for TLS clients, and for the plain runs compared with them,
    /// so both rows' servers are alike.
    pub tls: bool,
}

impl Default for ServerSettings {
    fn default() -> ServerSettings {
        ServerSettings {
            workers: config::default_workers(),
            send_queue: config::DEFAULT_SEND_QUEUE,
            max_clients: config::DEFAULT_MAX_CLIENTS,
            history: true,
            tls: false,
        }
    }
}

impl ServerSettings {
    /// The in-process server's configuration; with `pki`, its TLS listener's too.
    fn config(&self, pki: Option<&RunPki>) -> Config {
        Config {
            tls_cert: pki.map(RunPki::cert_path),
            tls_key: pki.map(RunPki::key_path),
            tls_addr: pki.map(|_| SocketAddr::from(([127, 0, 0, 1], 0))),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            workers: self.workers,
            max_clients: self.max_clients,
            // The benchmark floods on purpose.
            rate: 0,
            register_timeout: BENCH_TIMEOUT,
            idle_timeout: BENCH_TIMEOUT,
            send_queue: self.send_queue,
            drain_timeout: DRAIN_TIMEOUT,
            history_lines: if self.history {
                config::DEFAULT_HISTORY_LINES
            } else {
                0
            },
            // A port of its own: never the default one, which the machine's chatd may hold.
            http: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            ..Config::default()
        }
    }
}

/// A server ready for clients.
pub struct Target {
    addr: SocketAddr,
    /// A cluster's nodes' line-protocol addresses, `addr` first; empty for one server.
    nodes: Vec<SocketAddr>,
    /// Its web listener, where known.
    web: Option<SocketAddr>,
    /// Its TLS listener and what its clients trust, where known.
    tls: Option<TlsEndpoint>,
    dialect: Dialect,
    running: Running,
    /// The certificate of a server the run started with TLS: its files stay until it stops.
    _pki: Option<RunPki>,
}

enum Running {
    /// With the history folder made for it.
    InProcess(ServerHandle, Option<TempDir>),
    Child(ChildServer),
    Cluster(Cluster),
    External {
        pid: Option<u32>,
    },
}

impl Target {
    pub fn start(spec: &TargetSpec, settings: &ServerSettings) -> io::Result<Target> {
        let pki = match spec {
            TargetSpec::InProcess | TargetSpec::Spawn(_) if settings.tls => Some(RunPki::new()?),
            _ => None,
        };
        let trust = pki.as_ref().map(RunPki::client_config).transpose()?;
        match spec {
            TargetSpec::InProcess => {
                let config = settings.config(pki.as_ref());
                let mut target = Target::in_process_trusting(config, trust)?;
                target._pki = pki;
                Ok(target)
            }
            TargetSpec::Spawn(binary) => {
                let (addrs, tls, child) = spawn_chatd(binary, settings, pki.as_ref())?;
                Ok(Target {
                    addr: addrs.lines,
                    nodes: Vec::new(),
                    web: addrs.web,
                    tls: loopback(tls, trust)?,
                    dialect: Dialect::Chatd,
                    running: Running::Child(child),
                    _pki: pki,
                })
            }
            TargetSpec::Nodes(nodes) => {
                let cluster = Cluster::start(nodes, settings.workers, &chatd_args(settings))?;
                Ok(Target {
                    addr: cluster.addrs()[0],
                    nodes: cluster.addrs().to_vec(),
                    web: None,
                    tls: None,
                    dialect: Dialect::Chatd,
                    running: Running::Cluster(cluster),
                    _pki: None,
                })
            }
            TargetSpec::External {
                addr,
                pid,
                web,
                tls,
            } => Ok(Target {
                addr: *addr,
                nodes: Vec::new(),
                web: *web,
                tls: tls.as_ref().map(TlsTarget::endpoint).transpose()?,
                dialect: Dialect::Chatd,
                running: Running::External { pid: *pid },
                _pki: None,
            }),
            TargetSpec::Peer { addr, pid, .. } => Ok(Target {
                addr: *addr,
                nodes: Vec::new(),
                web: None,
                tls: None,
                dialect: spec.dialect(),
                running: Running::External { pid: *pid },
                _pki: None,
            }),
        }
    }

    /// A server in this process with exactly `config` (its address included), but for its
    /// data folder: one of the run's own, removed after, unless `config` is ephemeral.
    pub fn in_process(config: Config) -> io::Result<Target> {
        Target::in_process_trusting(config, None)
    }

    /// [`Target::in_process`], its TLS clients trusting `trust`.
    fn in_process_trusting(
        mut config: Config,
        trust: Option<Arc<ClientConfig>>,
    ) -> io::Result<Target> {
        let data = (!config.ephemeral).then(child::data_folder).transpose()?;
        if let Some(data) = &data {
            config.data_dir = data.path().to_owned();
        }
        let handle = Server::bind(config)?.start()?;
        let tls = loopback(handle.tls_addr(), trust)?;
        Ok(Target {
            addr: handle.local_addr(),
            nodes: Vec::new(),
            web: handle.web_addr(),
            tls,
            dialect: Dialect::Chatd,
            running: Running::InProcess(handle, data),
            _pki: None,
        })
    }

    /// `binary` as a child process on `127.0.0.1:0` with exactly `args` (every other flag
    /// but `--addr`); stopped with SIGTERM by [`Target::stop`].
    /// Its web listener is not looked for: `args` may turn it off.
    pub fn spawn(binary: &Path, args: &[String]) -> io::Result<Target> {
        let (addrs, _, child) = child::spawn_child(binary, args, false)?;
        Ok(Target {
            addr: addrs.lines,
            nodes: Vec::new(),
            web: None,
            tls: None,
            dialect: Dialect::Chatd,
            running: Running::Child(child),
            _pki: None,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where its clients connect, over TCP, WebSocket and TLS (a cluster's first node).
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            lines: self.addr,
            web: self.web,
            tls: self.tls.clone(),
        }
    }

    /// Where client `index` connects: a cluster's clients go round-robin over its nodes
    /// (client 0 to node 1, client 1 to node 2, ...), so that every node has senders and
    /// receivers and each direct pair spans two nodes; one server takes them all.
    pub fn endpoints_for(&self, index: u32) -> Endpoints {
        if self.nodes.is_empty() {
            return self.endpoints();
        }
        Endpoints {
            lines: self.nodes[index as usize % self.nodes.len()],
            web: None,
            tls: None,
        }
    }

    /// The line-protocol address of every node of a cluster, or the one server's.
    pub fn node_addrs(&self) -> Vec<SocketAddr> {
        if self.nodes.is_empty() {
            vec![self.addr]
        } else {
            self.nodes.clone()
        }
    }

    /// Whether the chat is shared by several processes: a line reaches another node's
    /// clients when that node has read it from the stream, after its sender's `PONG`.
    pub fn is_cluster(&self) -> bool {
        matches!(self.running, Running::Cluster(_))
    }

    /// The protocol the server speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Whether the server shares this process (its CPU is the process's minus the generator's).
    pub fn is_in_process(&self) -> bool {
        matches!(self.running, Running::InProcess(..))
    }

    /// The in-process server's counters.
    pub fn stats(&self) -> Option<Stats> {
        match &self.running {
            Running::InProcess(handle, _) => Some(handle.stats()),
            _ => None,
        }
    }

    /// The server's process, when it is one other process on this machine that we know.
    pub fn server_pid(&self) -> Option<u32> {
        match &self.running {
            Running::InProcess(..) | Running::Cluster(_) => None,
            Running::Child(child) => Some(child.id()),
            Running::External { pid } => *pid,
        }
    }

    /// Every process the server is, when they are other processes on this machine that we
    /// know: the one, or a cluster's nodes and its NATS server. Empty for an in-process
    /// server or an unknown one.
    pub fn server_pids(&self) -> Vec<u32> {
        match &self.running {
            Running::Cluster(cluster) => cluster.pids(),
            _ => self.server_pid().into_iter().collect(),
        }
    }

    /// Stops a server the run started (an external one is left alone).
    pub fn stop(self) -> io::Result<()> {
        match self.running {
            Running::InProcess(handle, _data) => {
                handle.shutdown();
                Ok(())
            }
            Running::Child(child) => child.stop(),
            Running::Cluster(cluster) => cluster.stop(),
            Running::External { .. } => Ok(()),
        }
    }
}

/// The TLS endpoint of a server the run started on loopback at `addr`, if it listens for
/// TLS, its clients trusting `trust` (the run's own authority): the run's certificate names
/// the loopback address.
fn loopback(
    addr: Option<SocketAddr>,
    trust: Option<Arc<ClientConfig>>,
) -> io::Result<Option<TlsEndpoint>> {
    let Some((addr, config)) = addr.zip(trust) else {
        return Ok(None);
    };
    Ok(Some(TlsEndpoint {
        addr,
        name: pki::server_name(&addr.ip().to_string())?,
        config,
    }))
}

/// Starts `binary` on an ephemeral port with the run's settings (with `pki`, a TLS listener
/// too, on another) and waits for the addresses in its log.
fn spawn_chatd(
    binary: &Path,
    settings: &ServerSettings,
    pki: Option<&RunPki>,
) -> io::Result<(Endpoints, Option<SocketAddr>, ChildServer)> {
    let args = ["--workers".to_owned(), settings.workers.to_string()]
        .into_iter()
        .chain(chatd_args(settings))
        .chain(pki.into_iter().flat_map(|pki| {
            [
                "--tls-cert".to_owned(),
                pki.cert_path().display().to_string(),
                "--tls-key".to_owned(),
                pki.key_path().display().to_string(),
                "--tls-addr".to_owned(),
                "127.0.0.1:0".to_owned(),
            ]
        }))
        .collect::<Vec<_>>();
    child::spawn_child(binary, &args, true)
}

/// The flags of every chatd process the run starts, one or a cluster's nodes, but for its
/// workers and its listeners: the run's settings, and no flood control.
fn chatd_args(settings: &ServerSettings) -> Vec<String> {
    [
        ("--log-level", "info".to_owned()),
        ("--max-clients", settings.max_clients.to_string()),
        ("--max-per-ip", settings.max_clients.to_string()),
        // The benchmark floods on purpose.
        ("--rate", "0".to_owned()),
        ("--register-timeout", BENCH_TIMEOUT.as_secs().to_string()),
        ("--idle-timeout", BENCH_TIMEOUT.as_secs().to_string()),
        ("--send-queue", settings.send_queue.to_string()),
    ]
    .into_iter()
    .flat_map(|(flag, value)| [flag.to_owned(), value])
    .chain(
        (!settings.history)
            .then(|| ["--history-lines".to_owned(), "0".to_owned()])
            .into_iter()
            .flatten(),
    )
    .collect()
}

/// The `chatd` binary next to the running executable (`target/release/chatd` beside
/// `target/release/chatd-bench`), where `cargo build --release --bins` puts it.
pub fn chatd_next_to_current_exe() -> io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let chatd = exe.with_file_name("chatd");
    if !chatd.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} not found: build the server next to this tool with \
                 `cargo build --release --bins` (or give its path)",
                chatd.display()
            ),
        ));
    }
    Ok(chatd)
}

#[cfg(test)]
mod tests;
