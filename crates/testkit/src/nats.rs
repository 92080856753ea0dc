//! Real NATS servers with JetStream for the cluster's tests (issue 19): one server
//! ([`NatsServer`]), or three joined in a NATS cluster ([`NatsCluster`]), each on a loopback
//! port of its own with its store in a folder removed with it, stopped and started again on
//! the same port and store as a test asks; and a door in front of one ([`NatsDoor`]), which
//! cuts a node off from NATS while the others keep it.
//!
//! Debian's `nats-server` (`/usr/sbin/nats-server`, or `NATS_SERVER` for another binary);
//! a machine without it fails the test and says how to get it.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
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

/// A loopback door in front of a NATS server, which a test shuts and opens again: a node that
/// reaches NATS through it is cut off from the cluster while the nodes that reach the server
/// directly go on. Shut, it closes every connection through it and every new one at once.
pub struct NatsDoor {
    /// `nats://127.0.0.1:<port>` of the door, what a node's `--cluster` takes.
    pub url: String,
    open: Arc<AtomicBool>,
    /// Both ends of every connection through the door, to close them when it shuts.
    links: Arc<Mutex<Vec<TcpStream>>>,
}

impl NatsDoor {
    /// An open door to `server`. Its thread and the connections' run until the test ends.
    pub fn to(server: &NatsServer) -> NatsDoor {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the door");
        let port = listener.local_addr().expect("the door's address").port();
        let open = Arc::new(AtomicBool::new(true));
        let links = Arc::new(Mutex::new(Vec::new()));
        let (target, door_open, door_links) = (server.port, Arc::clone(&open), Arc::clone(&links));
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !door_open.load(Ordering::SeqCst) {
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                pass_through(client, server, &door_links);
            }
        });
        NatsDoor {
            url: format!("nats://127.0.0.1:{port}"),
            open,
            links,
        }
    }

    /// Closes every connection through the door, and refuses new ones until [`NatsDoor::open`].
    pub fn shut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for stream in self.links.lock().expect("the door's links").drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    pub fn open(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

/// Copies bytes both ways between `client` and `server` on two threads, keeping a handle on
/// each in `links`.
fn pass_through(client: TcpStream, server: TcpStream, links: &Mutex<Vec<TcpStream>>) {
    let handles = (client.try_clone(), server.try_clone());
    let (Ok(client_copy), Ok(server_copy)) = handles else {
        return;
    };
    {
        let mut links = links.lock().expect("the door's links");
        for stream in [&client, &server] {
            if let Ok(handle) = stream.try_clone() {
                links.push(handle);
            }
        }
    }
    let copy = |mut from: TcpStream, mut to: TcpStream| {
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut from, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Both);
        });
    };
    copy(client, server_copy);
    copy(server, client_copy);
}
