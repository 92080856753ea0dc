//! Real NATS servers with JetStream for the cluster's tests (issue 19): one server
//! ([`NatsServer`]), or three joined in a NATS cluster ([`NatsCluster`]), each on a loopback
//! port of its own with its store in a folder removed with it, stopped and started again on
//! the same port and store as a test asks.
//!
//! Debian's `nats-server` (`/usr/sbin/nats-server`, or `NATS_SERVER` for another binary);
//! a machine without it fails the test and says how to get it.

use std::io::{BufRead, BufReader, Write};
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
        if self.cluster_args.is_empty() {
            wait_for_jetstream(self.port);
        }
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
        for server in &servers {
            wait_for_jetstream(server.port);
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

/// A loopback port nobody listens on now, below the kernel's ephemeral range: free again when
/// the server restarts on it.
fn free_port() -> u16 {
    crate::quiet_ports()
        .take(1_000)
        .find(|&port| TcpListener::bind(("127.0.0.1", port)).is_ok())
        .expect("a free port below the ephemeral range")
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

/// Whether JetStream on `port` answers an account request: a cluster's servers take streams
/// only once they have elected a leader.
fn jetstream_ready(port: u16) -> bool {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return false,
    };
    let mut reader = BufReader::new(stream);
    let request = "CONNECT {\"verbose\":false,\"headers\":true,\"no_responders\":true}\r\n\
                   SUB _INBOX.ready 1\r\nPUB $JS.API.INFO _INBOX.ready 0\r\n\r\n";
    if writer.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return false,
            Ok(_) => {}
        }
        if line.starts_with("HMSG") {
            // No responders: JetStream is not up yet.
            return false;
        }
        if line.starts_with("MSG") {
            let mut payload = String::new();
            let _ = reader.read_line(&mut payload);
            return payload.contains("account_info_response") && !payload.contains("\"error\"");
        }
    }
}

/// Waits until JetStream on `port` takes requests.
fn wait_for_jetstream(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !jetstream_ready(port) {
        assert!(
            Instant::now() < deadline,
            "JetStream on port {port} not ready in 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
