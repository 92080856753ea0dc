//! How a run reaches its server: a server started in this process, the `chatd` binary started
//! as a child process, a chatd someone else runs (`--addr`), or a Redis or NATS server
//! someone else runs (`--target redis://...`, `nats://...`).
//!
//! In scope: starting and stopping the first two, the addresses to connect to (the line
//! protocol's, chatd's web listener's for WebSocket clients and its TLS listener's for TLS
//! clients: from the in-process handle, from a child's `web page at` and `listening with
//! TLS on` log lines, or `--web` and `--tls-addr`), the certificate a server the run starts
//! gets for TLS and what its clients trust (`pki`), the protocol it speaks ([`Dialect`]),
//! reading a `--target` URL, and where the server's figures come from (the in-process
//! [`Stats`], or `/proc/<pid>` of a child or of `--server-pid`).
//! Out of scope: measuring anything (`meter`) and the clients (`client`).

use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rustls::ClientConfig;
use tempfile::TempDir;

use crate::loadgen::alloc;
use crate::loadgen::dialect::{Dialect, Peer};
use crate::loadgen::pki::{self, RunPki};
use crate::loadgen::tls::TlsEndpoint;
use crate::loadgen::transport::Endpoints;
use chatd::config::{self, Config};
use chatd::server::{Server, ServerHandle, Stats};

/// How long a child `chatd` may take to log its address, and to exit after SIGTERM.
const CHILD_START_TIMEOUT: Duration = Duration::from_secs(10);
const CHILD_STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// Clients are closed before the server stops, so there is little to drain.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Which server a run talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetSpec {
    /// A server in this process, on `127.0.0.1:0`, with the run's [`ServerSettings`].
    InProcess,
    /// This `chatd` binary as a child process on `127.0.0.1:0`, with the run's settings.
    Spawn(PathBuf),
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
    External {
        pid: Option<u32>,
    },
}

struct ChildServer {
    child: Child,
    /// Drains the child's stderr (its log) so it never blocks on a full pipe.
    log: JoinHandle<()>,
    /// The history folder made for it, removed when it stops.
    _data: Option<TempDir>,
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
                    web: addrs.web,
                    tls: loopback(tls, trust)?,
                    dialect: Dialect::Chatd,
                    running: Running::Child(child),
                    _pki: pki,
                })
            }
            TargetSpec::External {
                addr,
                pid,
                web,
                tls,
            } => Ok(Target {
                addr: *addr,
                web: *web,
                tls: tls.as_ref().map(TlsTarget::endpoint).transpose()?,
                dialect: Dialect::Chatd,
                running: Running::External { pid: *pid },
                _pki: None,
            }),
            TargetSpec::Peer { addr, pid, .. } => Ok(Target {
                addr: *addr,
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
        let data = (!config.ephemeral).then(data_folder).transpose()?;
        if let Some(data) = &data {
            config.data_dir = data.path().to_owned();
        }
        let handle = Server::bind(config)?.start()?;
        let tls = loopback(handle.tls_addr(), trust)?;
        Ok(Target {
            addr: handle.local_addr(),
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
    pub fn spawn(binary: &PathBuf, args: &[String]) -> io::Result<Target> {
        let (addrs, _, child) = spawn_child(binary, args, false)?;
        Ok(Target {
            addr: addrs.lines,
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

    /// Where its clients connect, over TCP, WebSocket and TLS.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            lines: self.addr,
            web: self.web,
            tls: self.tls.clone(),
        }
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

    /// The server's process, when it is another process on this machine that we know.
    pub fn server_pid(&self) -> Option<u32> {
        match &self.running {
            Running::InProcess(..) => None,
            Running::Child(child) => Some(child.child.id()),
            Running::External { pid } => *pid,
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
    binary: &PathBuf,
    settings: &ServerSettings,
    pki: Option<&RunPki>,
) -> io::Result<(Endpoints, Option<SocketAddr>, ChildServer)> {
    let args = [
        ("--log-level", "info".to_owned()),
        ("--workers", settings.workers.to_string()),
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
    spawn_child(binary, &args, true)
}

/// A history folder for one server of the run, removed when dropped.
fn data_folder() -> io::Result<TempDir> {
    tempfile::Builder::new()
        .prefix("chatd-bench-data-")
        .tempdir()
}

/// Starts `binary --addr 127.0.0.1:0 --http 127.0.0.1:0 <args>` (no `--http` of its own if
/// `args` have one) and waits for the address in its log (`listening on ADDR`) and, if
/// `with_web`, for its web listener's, logged right after it (`web page at http://ADDR/`),
/// and if `args` give it a certificate (`--tls-cert`), for its TLS listener's (`listening
/// with TLS on ADDR`), returned beside the others. The log needs `--log-level` `info` or more verbose among `args` (the server's default is
/// `info`). Unless `args` say where history goes (`--data-dir`, `--ephemeral`), it goes to a
/// folder made for this server and removed after, never to the working directory.
fn spawn_child(
    binary: &PathBuf,
    args: &[String],
    with_web: bool,
) -> io::Result<(Endpoints, Option<SocketAddr>, ChildServer)> {
    let with_tls = args.iter().any(|arg| arg == "--tls-cert");
    let chosen = args
        .iter()
        .any(|arg| arg == "--data-dir" || arg == "--ephemeral");
    let data = (!chosen).then(data_folder).transpose()?;
    let data_args = data
        .iter()
        .flat_map(|data| ["--data-dir".into(), data.path().as_os_str().to_owned()]);
    // Never the default web port: a run may start several servers, and the machine may have
    // a chatd of its own.
    let web_args = (!args.iter().any(|arg| arg == "--http"))
        .then_some(["--http", "127.0.0.1:0"])
        .into_iter()
        .flatten();
    let mut child = Command::new(binary)
        .args(["--addr", "127.0.0.1:0"])
        .args(web_args)
        .args(data_args)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot start {}: {e}", binary.display())))?;
    let stderr = child.stderr.take().expect("stderr was piped");
    let (found, addresses) = crossbeam_channel::bounded(3);
    // Everything the server says before its address: the reason it stopped, if it does.
    let (said, early_lines) = crossbeam_channel::unbounded();
    let log = thread::Builder::new()
        .name("bench-chatd-log".to_owned())
        .spawn(move || {
            alloc::mark_generator_thread();
            let mut listening = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                if let Some(addr) = listening_addr(&line) {
                    listening = true;
                    let _ = found.try_send(Logged::Lines(addr));
                } else if let Some(addr) = web_page_addr(&line) {
                    let _ = found.try_send(Logged::Web(addr));
                } else if let Some(addr) = tls_listening_addr(&line) {
                    let _ = found.try_send(Logged::Tls(addr));
                } else if !listening {
                    let _ = said.send(line);
                }
            }
        })?;
    let mut server = ChildServer {
        child,
        log,
        _data: data,
    };
    let deadline = Instant::now() + CHILD_START_TIMEOUT;
    let (mut lines, mut web, mut tls) = (None, None, None);
    while lines.is_none() || (with_web && web.is_none()) || (with_tls && tls.is_none()) {
        match addresses.recv_deadline(deadline) {
            Ok(Logged::Lines(addr)) => lines = Some(addr),
            Ok(Logged::Web(addr)) => web = Some(addr),
            Ok(Logged::Tls(addr)) => tls = Some(addr),
            // The deadline passed, or the server exited.
            Err(_) => break,
        }
    }
    let complete = (!with_web || web.is_some()) && (!with_tls || tls.is_some());
    match lines.filter(|_| complete) {
        Some(lines) => Ok((
            Endpoints {
                lines,
                web,
                tls: None,
            },
            tls,
            server,
        )),
        None => {
            let _ = server.child.kill();
            let _ = server.stop();
            let said: Vec<String> = early_lines.try_iter().collect();
            Err(io::Error::other(format!(
                "{} {} did not log its address{} within {CHILD_START_TIMEOUT:?}{}",
                binary.display(),
                args.join(" "),
                if with_web || with_tls { "es" } else { "" },
                if said.is_empty() {
                    String::new()
                } else {
                    format!("; it said: {}", said.join(" / "))
                }
            )))
        }
    }
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

/// The address in the server's `listening on ADDR, workers=N` log line.
pub fn listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening on ")?;
    rest.split(',').next()?.trim().parse().ok()
}

/// The web listener's address in the server's `web page at http://ADDR/` log line
/// (`https://` when the server has a certificate).
pub fn web_page_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("web page at ")?;
    let rest = rest
        .strip_prefix("http://")
        .or_else(|| rest.strip_prefix("https://"))?;
    rest.trim().trim_end_matches('/').parse().ok()
}

/// The TLS listener's address in the server's `listening with TLS on ADDR` log line.
pub fn tls_listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("listening with TLS on ")?;
    rest.trim().parse().ok()
}

/// An address a child server logs as it starts.
enum Logged {
    /// `listening on ADDR`: the line protocol's.
    Lines(SocketAddr),
    /// `web page at http://ADDR/`: the web listener's.
    Web(SocketAddr),
    /// `listening with TLS on ADDR`: the line protocol's inside TLS.
    Tls(SocketAddr),
}

impl ChildServer {
    /// SIGTERM, then waits for the exit (the server shuts down gracefully); SIGKILL if it
    /// takes longer than [`CHILD_STOP_TIMEOUT`].
    fn stop(mut self) -> io::Result<()> {
        let result = self.terminate();
        let _ = self.log.join();
        result
    }

    fn terminate(&mut self) -> io::Result<()> {
        if self.child.try_wait()?.is_some() {
            return Ok(());
        }
        send_sigterm(self.child.id())?;
        let deadline = Instant::now() + CHILD_STOP_TIMEOUT;
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(20));
        }
        self.child.kill()?;
        self.child.wait()?;
        Err(io::Error::other(format!(
            "chatd did not exit within {CHILD_STOP_TIMEOUT:?} of SIGTERM and was killed"
        )))
    }
}

#[allow(unsafe_code)]
fn send_sigterm(pid: u32) -> io::Result<()> {
    let pid = libc::pid_t::try_from(pid).map_err(io::Error::other)?;
    // SAFETY: kill(2) on our own child, not yet reaped, so the pid is still its; no memory
    // is involved.
    if unsafe { libc::kill(pid, libc::SIGTERM) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
