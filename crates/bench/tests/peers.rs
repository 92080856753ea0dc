//! Issue 14, item 5: the bench drives Redis pub/sub and NATS with the same workloads and
//! checks as chatd. Starts a real `redis-server` and a real `nats-server` (from PATH, or where
//! Debian installs them), each on a free loopback port, and runs small fan-out, direct, rooms
//! and idle runs against each through the library, asserting that nothing was lost and the
//! counts are right.
//!
//! A missing server binary fails the test with how to install it; it is never skipped.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chatd_bench::loadgen::dialect::OrderStance;
use chatd_bench::loadgen::dialect::Peer;
use chatd_bench::loadgen::outcome::RunResult;
use chatd_bench::loadgen::target::{ServerSettings, TargetSpec};
use chatd_bench::loadgen::workload::{self, RunSpec};
use chatd_bench::loadgen::{Direct, FanOut, GeneratorSettings, Idle, Rooms, Workload};

/// How long a server may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// A peer server this test started; killed when dropped.
struct PeerServer {
    child: Child,
    addr: SocketAddr,
    /// Drain the server's stdout and stderr for its whole life, so it never blocks on a
    /// full pipe; they end when it does.
    logs: Vec<JoinHandle<()>>,
}

impl Drop for PeerServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for log in self.logs.drain(..) {
            let _ = log.join();
        }
    }
}

/// `name` on PATH, or in the directories Debian installs servers into (`nats-server` goes
/// to /usr/sbin, which is not on every user's PATH).
fn binary(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} not found on PATH (nor in /usr/sbin or /usr/bin): the bench's peer tests \
                 need redis-server and nats-server; on Debian: apt-get install redis-server \
                 nats-server"
            )
        })
}

/// Starts `binary` with `args` and waits until a line of its log (stdout or stderr)
/// satisfies `ready`, which returns the address it listens on. Fails with the log so far
/// if it exits or takes longer than [`READY_TIMEOUT`].
fn start(
    binary: &Path,
    args: &[&str],
    ready: impl Fn(&str) -> Option<SocketAddr>,
) -> Result<PeerServer, String> {
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let (said, lines) = crossbeam_channel::unbounded();
    let stdout: Box<dyn Read + Send> = Box::new(child.stdout.take().unwrap());
    let stderr: Box<dyn Read + Send> = Box::new(child.stderr.take().unwrap());
    let mut server = PeerServer {
        child,
        addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        logs: Vec::new(),
    };
    for pipe in [stdout, stderr] {
        let said = said.clone();
        server.logs.push(thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = said.send(line);
            }
        }));
    }
    drop(said);
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut log = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if let Some(addr) = ready(&line) {
                    server.addr = addr;
                    return Ok(server);
                }
                log.push(line);
            }
            Err(_) => {
                return Err(format!(
                    "{} {} was not ready within {READY_TIMEOUT:?}; it said:\n{}",
                    binary.display(),
                    args.join(" "),
                    log.join("\n")
                ));
            }
        }
    }
}

/// A loopback port nobody listens on right now (another process may take it before the
/// server does: the caller tries again).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn start_redis() -> PeerServer {
    let binary = binary("redis-server");
    let mut failures = Vec::new();
    for _ in 0..5 {
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let port = port.to_string();
        let args = [
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        match start(&binary, &args, |line| {
            line.contains("Ready to accept connections").then_some(addr)
        }) {
            Ok(server) => return server,
            Err(error) => failures.push(error),
        }
    }
    panic!("redis-server did not start:\n{}", failures.join("\n"));
}

fn start_nats() -> PeerServer {
    // `-p -1`: a port of the server's choosing, which it logs.
    let args = ["-a", "127.0.0.1", "-p", "-1"];
    start(&binary("nats-server"), &args, |line| {
        let (_, addr) = line.split_once("Listening for client connections on ")?;
        addr.trim().parse().ok()
    })
    .unwrap_or_else(|error| panic!("{error}"))
}

fn run(server: &PeerServer, peer: Peer, workload: Workload) -> RunResult {
    let spec = RunSpec {
        label: workload.label(),
        workload,
        target: TargetSpec::Peer {
            peer,
            addr: server.addr,
            pid: Some(server.child.id()),
        },
        server: ServerSettings::default(),
        generator: GeneratorSettings {
            timeout: Some(Duration::from_secs(60)),
            ..GeneratorSettings::default()
        },
        flood_control: None,
    };
    workload::run(&spec, None)
}

/// A clean run of `deliveries`, whatever the server says about order.
fn assert_clean(result: &RunResult, deliveries: u64) {
    assert_eq!(result.failure_summary(), None, "{result:#?}");
    let counts = result.counts;
    assert_eq!(
        (
            counts.lost,
            counts.duplicated,
            counts.out_of_order,
            counts.corrupt
        ),
        (0, 0, 0, 0),
        "{result:#?}"
    );
    assert_eq!(result.deliveries, deliveries, "{result:#?}");
    // The server's process was given: its CPU is read from /proc.
    assert!(result.server_cpu_pct.is_some(), "{result:#?}");
}

/// Fan-out, direct, rooms and idle against `peer`, small.
fn the_workloads_run_clean(server: &PeerServer, peer: Peer, order: OrderStance) {
    // 2 senders x 1,000 lines to the 7 other clients.
    let fanout = run(
        server,
        peer,
        Workload::FanOut(FanOut {
            clients: 8,
            senders: 2,
            messages: 1_000,
            size: 32,
        }),
    );
    assert_clean(&fanout, 2 * 1_000 * 7);
    assert_eq!(fanout.workload, format!("fan-out ({peer})"));
    assert_eq!(fanout.peer.as_deref(), Some(peer.to_string().as_str()));
    assert_eq!(fanout.order, Some(order));

    // 4 pairs, each client 1,000 lines to its partner.
    let direct = run(
        server,
        peer,
        Workload::Direct(Direct {
            pairs: 4,
            messages: 1_000,
            size: 32,
        }),
    );
    assert_clean(&direct, 8 * 1_000);
    assert_eq!(direct.order, None, "no order across pairs");

    // 3 rooms of 4: 2 senders each x 500 lines to the 3 other members.
    let rooms = run(
        server,
        peer,
        Workload::Rooms(Rooms {
            rooms: 3,
            members: 4,
            senders: 2,
            messages: 500,
            size: 40,
        }),
    );
    assert_clean(&rooms, 3 * 2 * 500 * 3);
    assert_eq!(rooms.order, Some(order));

    let idle = run(server, peer, Workload::Idle(Idle { clients: 50 }));
    assert_clean(&idle, 0);
    let figures = idle.idle.expect("idle figures");
    assert_eq!(figures.joins_s, None, "a peer announces nobody");
    assert!(figures.fds.is_some_and(|fds| fds >= 50), "{figures:?}");
}

#[test]
fn issue_14_redis_runs_the_workloads_with_nothing_lost() {
    let server = start_redis();
    the_workloads_run_clean(&server, Peer::Redis, OrderStance::ByDesign);
}

#[test]
fn issue_14_nats_runs_the_workloads_with_nothing_lost() {
    let server = start_nats();
    the_workloads_run_clean(&server, Peer::Nats, OrderStance::NotPromised);
}
