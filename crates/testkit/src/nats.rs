//! Real NATS servers with JetStream for the cluster's tests (issue 19): one server
//! ([`NatsServer`]), or three joined in a NATS cluster ([`NatsCluster`]), each on a loopback
//! port of its own with its store in a folder removed with it, stopped and started again on
//! the same port and store as a test asks.
//!
//! Debian's `nats-server` (`/usr/sbin/nats-server`, or `NATS_SERVER` for another binary);
//! a machine without it fails the test and says how to get it.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::DEADLINE;

/// One `nats-server -js`, stopped when dropped.
pub struct NatsServer {
    binary: PathBuf,
    /// The client port, the same across restarts.
    pub port: u16,
    /// `nats://127.0.0.1:<port>`, what `--cluster` takes.
    pub url: String,
    store: tempfile::TempDir,
    /// `--cluster` arguments of a member of a [`NatsCluster`].
    cluster_args: Vec<String>,
    child: Option<Child>,
}

impl NatsServer {
    /// A single JetStream server.
    pub fn start() -> NatsServer {
        let mut server = NatsServer::new(Vec::new());
        server.run();
        server
    }

    fn new(cluster_args: Vec<String>) -> NatsServer {
        let port = free_port();
        NatsServer {
            binary: binary(),
            port,
            url: format!("nats://127.0.0.1:{port}"),
            store: tempfile::tempdir().expect("a folder for the JetStream store"),
            cluster_args,
            child: None,
        }
    }

    /// Starts the server (again), on its port and store, and waits until it takes clients.
    pub fn run(&mut self) {
        assert!(self.child.is_none(), "the NATS server runs already");
        let name = format!("n{}", self.port);
        let child = Command::new(&self.binary)
            .args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()])
            .args(["-n", &name, "-sd"])
            .arg(self.store.path())
            .args(&self.cluster_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", self.binary.display()));
        self.child = Some(child);
        wait_for_info(self.port);
    }

    /// Stops the server: `SIGTERM` (a clean stop, its store flushed), waited for.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = i32::try_from(child.id()).expect("a pid fits an i32");
            // SAFETY: kill(2) on a child we spawned and have not reaped.
            #[allow(unsafe_code)]
            let _ = unsafe { libc::kill(pid, libc::SIGTERM) };
            let deadline = Instant::now() + DEADLINE;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Where its JetStream store is.
    pub fn store(&self) -> &Path {
        self.store.path()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Three JetStream servers routed into one NATS cluster: streams with three replicas survive
/// the restart of any one of them.
pub struct NatsCluster {
    pub servers: Vec<NatsServer>,
}

impl NatsCluster {
    pub fn start() -> NatsCluster {
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let listed: Vec<String> = routes
            .iter()
            .map(|port| format!("nats-route://127.0.0.1:{port}"))
            .collect();
        let mut servers: Vec<NatsServer> = routes
            .iter()
            .map(|port| {
                NatsServer::new(vec![
                    "--cluster_name".to_owned(),
                    "chatd-test".to_owned(),
                    "--cluster".to_owned(),
                    format!("nats://127.0.0.1:{port}"),
                    "--routes".to_owned(),
                    listed.join(","),
                ])
            })
            .collect();
        for server in &mut servers {
            server.run();
        }
        NatsCluster { servers }
    }

    /// Every server's URL, comma-separated: what `--cluster` takes.
    pub fn urls(&self) -> String {
        let urls: Vec<&str> = self.servers.iter().map(|s| s.url.as_str()).collect();
        urls.join(",")
    }
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return PathBuf::from(path);
    }
    let debian = PathBuf::from("/usr/sbin/nats-server");
    if debian.exists() {
        return debian;
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("nats-server"))
            .find(|candidate| candidate.exists())
    });
    on_path.unwrap_or_else(|| {
        panic!(
            "the cluster's tests need nats-server: `apt-get install nats-server` (CI \
             installs it), or NATS_SERVER=<path>"
        )
    })
}

/// A loopback port nobody listens on now: taken from the kernel, then let go for the server.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("a bound address").port()
}

/// Waits until the server on `port` greets a client (`INFO {...}`).
fn wait_for_info(port: u16) {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut line = String::new();
            if BufReader::new(stream).read_line(&mut line).is_ok() && line.starts_with("INFO") {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "nats-server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
