//! How a run reaches its server: a server started in this process, the `chatd` binary started
//! as a child process, a chatd someone else runs (`--addr`), or a Redis or NATS server
//! someone else runs (`--target redis://...`, `nats://...`).
//!
//! In scope: starting and stopping the first two, the addresses to connect to (the line
//! protocol's, and chatd's web listener's for WebSocket clients: from the in-process handle,
//! from a child's `web page at` log line, or `--web`), the protocol it speaks ([`Dialect`]),
//! reading a `--target` URL, and where the server's figures come from (the in-process
//! [`Stats`], or `/proc/<pid>` of a child or of `--server-pid`).
//! Out of scope: measuring anything (`meter`) and the clients (`client`).

use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::loadgen::alloc;
use crate::loadgen::dialect::{Dialect, Peer};
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
    /// and `web` is its web listener, for WebSocket clients (`--web`).
    External {
        addr: SocketAddr,
        pid: Option<u32>,
        web: Option<SocketAddr>,
    },
    /// A running Redis or NATS server, as `External` is a running chatd.
    Peer {
        peer: Peer,
        addr: SocketAddr,
        pid: Option<u32>,
    },
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
}

impl Default for ServerSettings {
    fn default() -> ServerSettings {
        ServerSettings {
            workers: config::default_workers(),
            send_queue: config::DEFAULT_SEND_QUEUE,
            max_clients: config::DEFAULT_MAX_CLIENTS,
            history: true,
        }
    }
}

impl ServerSettings {
    fn config(&self) -> Config {
        Config {
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
    dialect: Dialect,
    running: Running,
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
        match spec {
            TargetSpec::InProcess => Target::in_process(settings.config()),
            TargetSpec::Spawn(binary) => {
                let (addrs, child) = spawn_chatd(binary, settings)?;
                Ok(Target {
                    addr: addrs.lines,
                    web: addrs.web,
                    dialect: Dialect::Chatd,
                    running: Running::Child(child),
                })
            }
            TargetSpec::External { addr, pid, web } => Ok(Target {
                addr: *addr,
                web: *web,
                dialect: Dialect::Chatd,
                running: Running::External { pid: *pid },
            }),
            TargetSpec::Peer { addr, pid, .. } => Ok(Target {
                addr: *addr,
                web: None,
                dialect: spec.dialect(),
                running: Running::External { pid: *pid },
            }),
        }
    }

    /// A server in this process with exactly `config` (its address included), but for its
    /// data folder: one of the run's own, removed after, unless `config` is ephemeral.
    pub fn in_process(mut config: Config) -> io::Result<Target> {
        let data = (!config.ephemeral).then(data_folder).transpose()?;
        if let Some(data) = &data {
            config.data_dir = data.path().to_owned();
        }
        let handle = Server::bind(config)?.start()?;
        Ok(Target {
            addr: handle.local_addr(),
            web: handle.web_addr(),
            dialect: Dialect::Chatd,
            running: Running::InProcess(handle, data),
        })
    }

    /// `binary` as a child process on `127.0.0.1:0` with exactly `args` (every other flag
    /// but `--addr`); stopped with SIGTERM by [`Target::stop`].
    /// Its web listener is not looked for: `args` may turn it off.
    pub fn spawn(binary: &PathBuf, args: &[String]) -> io::Result<Target> {
        let (addrs, child) = spawn_child(binary, args, false)?;
        Ok(Target {
            addr: addrs.lines,
            web: None,
            dialect: Dialect::Chatd,
            running: Running::Child(child),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where its clients connect, over TCP and over WebSocket.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            lines: self.addr,
            web: self.web,
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

/// Starts `binary` on an ephemeral port with the run's settings and waits for the address in
/// its log.
fn spawn_chatd(
    binary: &PathBuf,
    settings: &ServerSettings,
) -> io::Result<(Endpoints, ChildServer)> {
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
/// `with_web`, for its web listener's, logged right after it (`web page at http://ADDR/`).
/// The log needs `--log-level` `info` or more verbose among `args` (the server's default is
/// `info`). Unless `args` say where history goes (`--data-dir`, `--ephemeral`), it goes to a
/// folder made for this server and removed after, never to the working directory.
fn spawn_child(
    binary: &PathBuf,
    args: &[String],
    with_web: bool,
) -> io::Result<(Endpoints, ChildServer)> {
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
    let (found, addresses) = crossbeam_channel::bounded(2);
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
    let (mut lines, mut web) = (None, None);
    while lines.is_none() || (with_web && web.is_none()) {
        match addresses.recv_deadline(deadline) {
            Ok(Logged::Lines(addr)) => lines = Some(addr),
            Ok(Logged::Web(addr)) => web = Some(addr),
            // The deadline passed, or the server exited.
            Err(_) => break,
        }
    }
    match lines.filter(|_| !with_web || web.is_some()) {
        Some(lines) => Ok((Endpoints { lines, web }, server)),
        None => {
            let _ = server.child.kill();
            let _ = server.stop();
            let said: Vec<String> = early_lines.try_iter().collect();
            Err(io::Error::other(format!(
                "{} {} did not log its address{} within {CHILD_START_TIMEOUT:?}{}",
                binary.display(),
                args.join(" "),
                if with_web { "es" } else { "" },
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

/// The web listener's address in the server's `web page at http://ADDR/` log line.
pub fn web_page_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("web page at http://")?;
    rest.trim().trim_end_matches('/').parse().ok()
}

/// An address a child server logs as it starts.
enum Logged {
    /// `listening on ADDR`: the line protocol's.
    Lines(SocketAddr),
    /// `web page at http://ADDR/`: the web listener's.
    Web(SocketAddr),
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
mod tests {
    use super::*;

    #[test]
    fn target_urls_name_the_server_and_its_address() {
        let peer = |url: &str| TargetSpec::from_url(url, Some(7));
        let at = |text: &str| -> SocketAddr { text.parse().unwrap() };
        assert_eq!(
            peer("redis://127.0.0.1:6400"),
            Ok(TargetSpec::Peer {
                peer: Peer::Redis,
                addr: at("127.0.0.1:6400"),
                pid: Some(7)
            })
        );
        assert_eq!(
            peer("nats://127.0.0.1/"),
            Ok(TargetSpec::Peer {
                peer: Peer::Nats,
                addr: at("127.0.0.1:4222"),
                pid: Some(7)
            })
        );
        assert_eq!(
            peer("chatd://[::1]:7000"),
            Ok(TargetSpec::External {
                addr: at("[::1]:7000"),
                pid: Some(7),
                web: None
            })
        );
        assert_eq!(
            TargetSpec::from_url("chatd://127.0.0.1", None),
            Ok(TargetSpec::External {
                addr: at("127.0.0.1:7878"),
                pid: None,
                web: None
            })
        );
        for wrong in [
            "127.0.0.1:6379",
            "mqtt://127.0.0.1:1883",
            "redis://",
            "redis://127.0.0.1:6379/0",
        ] {
            assert!(peer(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn the_address_comes_from_the_listening_line() {
        let line = "12:00:01 [INFO] listening on 127.0.0.1:40123, workers=2";
        assert_eq!(
            listening_addr(line),
            Some("127.0.0.1:40123".parse().unwrap())
        );
        assert_eq!(listening_addr("12:00:01 [INFO] shutting down"), None);
        let web = "12:00:01 [INFO] web page at http://127.0.0.1:40124/";
        assert_eq!(web_page_addr(web), Some("127.0.0.1:40124".parse().unwrap()));
        assert_eq!(
            web_page_addr("web page at http://[::1]:8080/"),
            Some("[::1]:8080".parse().unwrap())
        );
        assert_eq!(web_page_addr(line), None);
        assert_eq!(listening_addr(web), None);
    }
}
