//! `--nodes N` (issue 19): N `chatd` processes on this machine joined through a NATS server
//! of the run's own, the other side of the comparison with one process of the same total
//! workers.
//!
//! In scope: finding `nats-server`, starting it (JetStream on, a free loopback port, a store
//! folder made for it) and the nodes (`--cluster` to it, `--ephemeral`, `--http off`, the
//! workers shared out), their addresses and processes, and stopping them all, SIGTERM then
//! SIGKILL, the store removed: by [`Cluster::stop`], or when a [`Cluster`] is dropped
//! unstopped (a run that failed or panicked halfway, a start that failed at its third node).
//! Out of scope: the flags every server the run starts gets (`target` passes them), one
//! process (`child`), and which clients go to which node (`Target::endpoints_for`).

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use tempfile::TempDir;

use crate::loadgen::alloc;
use crate::loadgen::child::{self, CHILD_START_TIMEOUT, ChildServer};

/// Where `nats-server` is looked for after the `PATH`: Debian installs it in `/usr/sbin`,
/// which is not on an ordinary user's `PATH`.
const NATS_SERVER_DIRS: &[&str] = &["/usr/sbin", "/usr/local/sbin"];

/// What `--nodes` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodesSpec {
    /// The `chatd` binary each node runs.
    pub chatd: PathBuf,
    /// How many nodes (at least 2).
    pub nodes: usize,
    /// The `nats-server` binary (`--nats-server`, or [`find_nats_server`]'s).
    pub nats_server: PathBuf,
}

/// `given` (`--nats-server`) if it is a file, else `nats-server` on the `PATH`, then in
/// `/usr/sbin` and `/usr/local/sbin`; an error that says how to get one if none is found.
pub fn find_nats_server(given: Option<&Path>) -> io::Result<PathBuf> {
    if let Some(path) = given {
        if path.is_file() {
            return Ok(path.to_owned());
        }
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("--nats-server {}: no such file", path.display()),
        ));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(NATS_SERVER_DIRS.iter().map(PathBuf::from));
    for dir in dirs {
        let candidate = dir.join("nats-server");
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!(
            "nats-server not found on the PATH nor in {}: --nodes joins its chatd processes \
             through a NATS server with JetStream that it starts; install one (Debian: apt \
             install nats-server) or give --nats-server PATH",
            NATS_SERVER_DIRS.join(" or ")
        ),
    ))
}

/// The worker threads of each of `nodes` nodes sharing `workers`: as even as can be, the
/// first ones taking the remainder, and at least one each.
pub fn workers_of_nodes(workers: usize, nodes: usize) -> Vec<usize> {
    let nodes = nodes.max(1);
    (0..nodes)
        .map(|node| (workers / nodes + usize::from(node < workers % nodes)).max(1))
        .collect()
}

/// A running NATS server and the nodes joined through it.
pub struct Cluster {
    /// `None` once stopped.
    nats: Option<NatsServer>,
    /// In the order of [`Cluster::addrs`]; empty once stopped.
    nodes: Vec<ChildServer>,
    addrs: Vec<SocketAddr>,
}

impl Cluster {
    /// Starts the NATS server, then the nodes one after the other, each with `args` (the
    /// flags every server of the run gets; neither `--workers` nor where history goes) and
    /// its share of `workers`. If any fails to start, those started are stopped before the
    /// error returns.
    pub fn start(spec: &NodesSpec, workers: usize, args: &[String]) -> io::Result<Cluster> {
        let mut cluster = Cluster {
            nats: Some(NatsServer::start(&spec.nats_server)?),
            nodes: Vec::new(),
            addrs: Vec::new(),
        };
        let url = cluster.nats.as_ref().expect("just started").url();
        for (node, workers) in workers_of_nodes(workers, spec.nodes)
            .into_iter()
            .enumerate()
        {
            let workers = workers.to_string();
            // The lobby's history is the stream's, in the NATS server's store; rooms would
            // keep theirs in memory.
            let own = ["--workers", &workers, "--cluster", &url, "--ephemeral"];
            let node_args: Vec<String> = args
                .iter()
                .map(String::as_str)
                .chain(own)
                .chain(["--http", "off"])
                .map(str::to_owned)
                .collect();
            // Dropping `cluster` on the error stops what was started.
            let (endpoints, _, server) = child::spawn_child(&spec.chatd, &node_args, false)
                .map_err(|e| io::Error::new(e.kind(), format!("node {}: {e}", node + 1)))?;
            cluster.addrs.push(endpoints.lines);
            cluster.nodes.push(server);
        }
        Ok(cluster)
    }

    /// The nodes' line-protocol addresses, node 1 first.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Every process of the cluster: the nodes, then the NATS server.
    pub fn pids(&self) -> Vec<u32> {
        let nodes = self.nodes.iter().map(ChildServer::id);
        nodes
            .chain(self.nats.as_ref().map(|n| n.child.id()))
            .collect()
    }

    /// Stops the nodes (each says goodbye to the cluster), then the NATS server, and removes
    /// its store; every one of them even if another fails. The first error, if any.
    pub fn stop(mut self) -> io::Result<()> {
        self.stop_all()
    }

    fn stop_all(&mut self) -> io::Result<()> {
        let mut first_error = None;
        for (node, server) in std::mem::take(&mut self.nodes).into_iter().enumerate() {
            if let Err(error) = server.stop() {
                first_error.get_or_insert(io::Error::other(format!("node {}: {error}", node + 1)));
            }
        }
        if let Some(nats) = self.nats.take() {
            if let Err(error) = nats.stop() {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for Cluster {
    /// A cluster never outlives its run: one dropped unstopped is stopped here.
    fn drop(&mut self) {
        if let Err(error) = self.stop_all() {
            log::warn!("stopping the cluster: {error}");
        }
    }
}

/// A `nats-server` child with JetStream.
struct NatsServer {
    child: Child,
    /// Drains its log so it never blocks on a full pipe.
    log: JoinHandle<()>,
    /// Where clients reach it.
    addr: SocketAddr,
    /// JetStream's store, removed after the server stops.
    store: TempDir,
}

/// What the NATS server's log says as it starts.
enum NatsLogged {
    /// `Listening for client connections on ADDR`.
    Listening(SocketAddr),
    /// `Server is ready`: JetStream included.
    Ready,
}

impl NatsServer {
    /// `binary -js -a 127.0.0.1 -p -1 -sd <store>`: a port the kernel picks (read from its
    /// log, so no other process can take it between a probe and the bind), and a store
    /// made for it. Returns once the server says it is ready.
    fn start(binary: &Path) -> io::Result<NatsServer> {
        let store = tempfile::Builder::new()
            .prefix("chatd-bench-nats-")
            .tempdir()?;
        let mut child = Command::new(binary)
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-sd"])
            .arg(store.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot start {}: {e}", binary.display()))
            })?;
        let stderr = child.stderr.take().expect("stderr was piped");
        let (found, logged) = crossbeam_channel::bounded(2);
        // What it says before it is ready: why it stopped, if it does.
        let (said, early_lines) = crossbeam_channel::unbounded();
        let log = thread::Builder::new()
            .name("bench-nats-log".to_owned())
            .spawn(move || {
                alloc::mark_generator_thread();
                let mut ready = false;
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { return };
                    if let Some(addr) = nats_listening_addr(&line) {
                        let _ = found.try_send(NatsLogged::Listening(addr));
                    } else if line.ends_with("Server is ready") {
                        ready = true;
                        let _ = found.try_send(NatsLogged::Ready);
                    } else if !ready {
                        let _ = said.send(line);
                    }
                }
            });
        let log = match log {
            Ok(log) => log,
            Err(error) => {
                let _ = child::stop_process(&mut child, "nats-server");
                return Err(error);
            }
        };
        let deadline = Instant::now() + CHILD_START_TIMEOUT;
        let (mut addr, mut ready) = (None, false);
        while addr.is_none() || !ready {
            match logged.recv_deadline(deadline) {
                Ok(NatsLogged::Listening(at)) => addr = Some(at),
                Ok(NatsLogged::Ready) => ready = true,
                // The deadline passed, or the server exited.
                Err(_) => break,
            }
        }
        match addr.filter(|_| ready) {
            Some(addr) => Ok(NatsServer {
                child,
                log,
                addr,
                store,
            }),
            None => {
                let _ = child::stop_process(&mut child, "nats-server");
                let _ = log.join();
                let said: Vec<String> = early_lines.try_iter().collect();
                Err(io::Error::other(format!(
                    "{} was not ready within {CHILD_START_TIMEOUT:?}{}",
                    binary.display(),
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!("; it said: {}", said.join(" / "))
                    }
                )))
            }
        }
    }

    /// `nats://ADDR`, as `--cluster` takes it.
    fn url(&self) -> String {
        format!("nats://{}", self.addr)
    }

    /// SIGTERM, then SIGKILL after the deadline; then its store goes.
    fn stop(mut self) -> io::Result<()> {
        let stopped = child::stop_process(&mut self.child, "nats-server");
        let _ = self.log.join();
        let removed = self.store.close().map_err(|e| {
            io::Error::new(e.kind(), format!("removing the NATS server's store: {e}"))
        });
        stopped.and(removed)
    }
}

/// The address in nats-server's `[INF] Listening for client connections on ADDR` line.
fn nats_listening_addr(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once("Listening for client connections on ")?;
    rest.trim().parse().ok()
}

#[cfg(test)]
mod tests;
