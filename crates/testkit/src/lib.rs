//! The test harness shared by the server's integration tests and the client's network tests:
//! an in-process server on `127.0.0.1:0` ([`TestServer`]) and a line-oriented client whose
//! every wait has a deadline ([`TestClient`]), and its twin over the web listener's WebSocket
//! ([`WsClient`], in `ws`), and over TLS ([`TlsClient`], with the certificates of [`TestPki`],
//! in `tls`); and real NATS servers for the cluster's tests (`nats`).
//!
//! Only for tests: it panics on any failure. It uses the server's public API and the wire,
//! nothing else, and must never be a dependency of anything but tests.

use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use chatd::config::Config;
use chatd::server::{Server, ServerHandle, ShutdownReport, Stats};

mod lines;
pub mod nats;
pub mod tls;
mod ws;
pub use tls::{TestPki, TlsClient};
pub use ws::{WsClient, WsEnd};

/// How long any single expectation may wait before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// Worker count for tests that do not ask for one: `CHATD_TEST_WORKERS`, default 1 (the
/// strictest: a stall anywhere would show).
pub fn default_workers() -> usize {
    std::env::var("CHATD_TEST_WORKERS")
        .ok()
        .and_then(|w| w.parse().ok())
        .unwrap_or(1)
}

pub struct TestServer {
    handle: Option<ServerHandle>,
    pub addr: SocketAddr,
    /// The web listener's address, for a test that turned it on (`http` in the config; it
    /// is off by default here, so that no test takes the default port).
    pub web: Option<SocketAddr>,
    /// The TLS listener's address, for a test that turned it on (`TestServer::with_tls`).
    pub tls: Option<SocketAddr>,
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::with(|_| {})
    }

    /// A server on a port below the kernel's ephemeral range, for a test that shuts it down
    /// and starts another on the same address. Port 0 hands out a port of that range, from
    /// which every `connect` of every test in the process also draws its local port: between
    /// the shutdown and the restart, one of them could take the port (seen about once in 16
    /// runs of the client's tests).
    pub fn start_restartable() -> TestServer {
        TestServer::start_restartable_with(|_| {})
    }

    /// As [`TestServer::start_restartable`], with the config adjusted by `adjust` (a data
    /// folder, for a test whose history must outlive the restart).
    pub fn start_restartable_with(adjust: impl Fn(&mut Config)) -> TestServer {
        let below = ephemeral_range_start();
        for port in quiet_ports().take(1_000) {
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            match Server::bind(TestServer::config(addr, &adjust)) {
                Ok(server) => return TestServer::run(server),
                Err(error) if error.kind() == ErrorKind::AddrInUse => continue,
                Err(error) => panic!("bind {addr}: {error}"),
            }
        }
        panic!("no free port below {below} after 1,000 tries");
    }

    /// A server whose config starts as the default (port 0, test worker count) and is then
    /// adjusted by `adjust`.
    pub fn with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let config = TestServer::config("127.0.0.1:0".parse().unwrap(), adjust);
        TestServer::run(Server::bind(config).unwrap())
    }

    fn config(addr: SocketAddr, adjust: impl FnOnce(&mut Config)) -> Config {
        chatd::logging::init_test_log();
        let mut config = Config {
            addr,
            workers: default_workers(),
            // Tests send bursts of thousands of lines; the flood-control tests set it.
            rate: 0,
            // A test that wants its history on disk gives it a folder of its own.
            ephemeral: true,
            // A test of the web listener asks for one, on a port of its own.
            http: None,
            ..Config::default()
        };
        adjust(&mut config);
        config
    }

    fn run(server: Server) -> TestServer {
        let handle = server.start().unwrap();
        let addr = handle.local_addr();
        let web = handle.web_addr();
        let tls = handle.tls_addr();
        TestServer {
            handle: Some(handle),
            addr,
            web,
            tls,
        }
    }

    /// A server with its web listener on a free port, its config then adjusted by `adjust`.
    pub fn with_web(adjust: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::with(|config| {
            config.http = Some("127.0.0.1:0".parse().unwrap());
            adjust(config);
        })
    }

    /// The web listener's address; the test must have turned it on.
    pub fn web_addr(&self) -> SocketAddr {
        self.web.expect("a server started with its web listener")
    }

    /// A connection that has read its greeting.
    pub fn connect(&self) -> TestClient {
        let mut client = TestClient::connect_raw(self.addr);
        let hello = client.recv();
        assert!(hello.starts_with("HELLO "), "greeting: {hello:?}");
        client
    }

    /// A connection registered as `nick`.
    pub fn client(&self, nick: &str) -> TestClient {
        let mut client = self.connect();
        client.send(&format!("NICK {nick}"));
        client.expect(&format!("OK NICK {nick}"));
        client
    }

    pub fn stats(&self) -> Stats {
        self.handle.as_ref().unwrap().stats()
    }

    pub fn shutdown(mut self) -> ShutdownReport {
        self.handle.take().unwrap().shutdown()
    }
}

impl TestServer {
    /// A server with its TLS listener on a free port, presenting `pki`'s certificate, its
    /// config then adjusted by `adjust`.
    pub fn with_tls(pki: &TestPki, adjust: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::with(|config| {
            config.tls_cert = Some(pki.cert_path());
            config.tls_key = Some(pki.key_path());
            config.tls_addr = Some("127.0.0.1:0".parse().unwrap());
            adjust(config);
        })
    }

    /// The TLS listener's address; the test must have turned it on.
    pub fn tls_addr(&self) -> SocketAddr {
        self.tls.expect("a server started with TLS")
    }

    /// A TLS connection that has read its greeting.
    pub fn connect_tls(&self, pki: &TestPki) -> TlsClient {
        let mut client = TlsClient::connect(self.tls_addr(), pki.client_config());
        let hello = client.recv();
        assert!(hello.starts_with("HELLO "), "greeting: {hello:?}");
        client
    }

    /// A TLS connection registered as `nick`.
    pub fn tls_client(&self, pki: &TestPki, nick: &str) -> TlsClient {
        let mut client = self.connect_tls(pki);
        client.send(&format!("NICK {nick}"));
        client.expect(&format!("OK NICK {nick}"));
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.shutdown();
        }
    }
}

pub struct TestClient {
    reader: BufReader<TcpStream>,
    pub writer: TcpStream,
    deadline: Duration,
}

impl TestClient {
    /// A bare connection: nothing read yet.
    pub fn connect_raw(addr: SocketAddr) -> TestClient {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        // A server that stopped reading must fail the test, not hang it in a write.
        stream.set_write_timeout(Some(DEADLINE)).unwrap();
        TestClient {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            deadline: DEADLINE,
        }
    }

    /// Lets each expectation wait up to `deadline` (for heavy tests).
    pub fn set_deadline(&mut self, deadline: Duration) {
        self.deadline = deadline;
    }

    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
    }

    /// The next line, without its `\n`; `None` at a clean end of stream. Fails the test at
    /// the deadline or on a reset.
    pub fn try_recv(&mut self) -> Option<String> {
        let mut line = String::new();
        let end = Instant::now() + self.deadline;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no complete line within {:?}",
                self.deadline
            );
            self.reader.get_ref().set_read_timeout(Some(left)).unwrap();
            match self.reader.read_line(&mut line) {
                Ok(0) if line.is_empty() => return None,
                Ok(_) if line.ends_with('\n') => {
                    line.pop();
                    return Some(line);
                }
                Ok(_) => panic!("stream ended inside a line: {line:?}"),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    // `read_line` keeps what it got; the loop re-checks the deadline.
                }
                Err(e) => panic!("read failed: {e} (after {line:?})"),
            }
        }
    }

    pub fn recv(&mut self) -> String {
        self.try_recv().expect("the server closed the connection")
    }

    pub fn expect(&mut self, expected: &str) {
        assert_eq!(self.recv(), expected);
    }

    /// Expects `ERR <code> <some text>`.
    pub fn expect_err(&mut self, code: &str) {
        lines::assert_err(&self.recv(), code);
    }

    /// Expects a clean end of stream (FIN, not a reset) next.
    pub fn expect_closed(&mut self) {
        if let Some(line) = self.try_recv() {
            panic!("expected the connection to close, got {line:?}");
        }
    }

    /// `PING <token>`, then every line received before `PONG <token>`.
    pub fn barrier(&mut self) -> Vec<String> {
        let barrier = lines::Barrier::new();
        self.send(&barrier.ping);
        barrier.lines_before(|| self.recv())
    }

    /// Sends `count` lines `ALL <n> <payload of payload_len bytes>`, then a barrier: when it
    /// returns, all of them are queued for their recipients.
    pub fn send_numbered_all(&mut self, count: usize, payload_len: usize) {
        let payload = "n".repeat(payload_len);
        for n in 0..count {
            self.send(&format!("ALL {n} {payload}"));
        }
        self.barrier();
    }

    /// Expects the `count` lines of [`TestClient::send_numbered_all`] from `from`, in order.
    pub fn expect_numbered_all(&mut self, from: &str, count: usize) {
        for n in 0..count {
            let line = self.recv();
            let prefix = format!("ALL {from} {n} ");
            assert!(
                line.starts_with(&prefix),
                "expected {prefix}..., got {line:.60}"
            );
        }
    }

    /// A barrier that must not find anything else waiting.
    pub fn expect_nothing_more(&mut self) {
        let extra = self.barrier();
        assert!(extra.is_empty(), "unexpected lines: {extra:?}");
    }

    /// Closes the sending half (a FIN); replies can still be read.
    pub fn finish_sending(&mut self) {
        self.writer.shutdown(std::net::Shutdown::Write).unwrap();
    }

    /// Closes abruptly with a reset (SO_LINGER 0), as a crashed peer or a middlebox would.
    pub fn reset(self) {
        set_linger_zero(&self.writer);
        drop(self);
    }
}

/// The first port of the kernel's ephemeral range (`ip_local_port_range`), Linux's default
/// when it cannot be read.
/// Ports from 10000 up to the kernel's ephemeral range, which no `connect` takes as its local
/// port: a server stopped and started again on one of them finds it free. Spread by process
/// id, so that test binaries running side by side rarely try the same ones.
pub(crate) fn quiet_ports() -> impl Iterator<Item = u16> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let span = u64::from(ephemeral_range_start().saturating_sub(10_000)).max(1);
    let first = u64::from(std::process::id()) * 7_919;
    std::iter::repeat_with(move || {
        let offset = (first + NEXT.fetch_add(1, Ordering::Relaxed) * 104_729) % span;
        10_000 + u16::try_from(offset).expect("the span is below 65536")
    })
}

fn ephemeral_range_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

#[allow(unsafe_code)]
fn set_linger_zero(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the pointer and size describe a live `linger` value, and the descriptor is
    // open for the duration of the call.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt SO_LINGER: {}",
        io::Error::last_os_error()
    );
}

/// Raises the open-file soft limit to `wanted` (capped at the hard limit) for tests with
/// thousands of sockets; returns the limit in force.
#[allow(unsafe_code)]
pub fn raise_fd_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable rlimit for both calls.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        if limit.rlim_cur < wanted {
            limit.rlim_cur = wanted.min(limit.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
        }
    }
    limit.rlim_cur
}
