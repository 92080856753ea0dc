//! Test harness: an in-process server on `127.0.0.1:0` ([`TestServer`]) and a line-oriented
//! client whose every wait has a deadline ([`TestClient`]).

use std::io::{self, BufRead, BufReader, ErrorKind, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use chatd::config::Config;
use chatd::server::{Server, ServerHandle, ShutdownReport, Stats};

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
}

impl TestServer {
    pub fn start() -> TestServer {
        TestServer::with(|_| {})
    }

    /// A server whose config starts as the default (port 0, test worker count) and is then
    /// adjusted by `adjust`.
    pub fn with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        chatd::logging::init_test_log();
        let mut config = Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            workers: default_workers(),
            // Every test client comes from 127.0.0.1; tests of the limit set it.
            max_per_ip: usize::MAX,
            // Tests send bursts of thousands of lines; the flood-control tests set it.
            rate: 0,
            ..Config::default()
        };
        adjust(&mut config);
        let handle = Server::bind(config).unwrap().start().unwrap();
        let addr = handle.local_addr();
        TestServer {
            handle: Some(handle),
            addr,
        }
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
        let line = self.recv();
        let prefix = format!("ERR {code} ");
        assert!(
            line.starts_with(&prefix) && line.len() > prefix.len(),
            "expected ERR {code} with a text, got {line:?}"
        );
    }

    /// Expects a clean end of stream (FIN, not a reset) next.
    pub fn expect_closed(&mut self) {
        if let Some(line) = self.try_recv() {
            panic!("expected the connection to close, got {line:?}");
        }
    }

    /// `PING <token>`, then every line received before `PONG <token>`.
    pub fn barrier(&mut self) -> Vec<String> {
        static TOKENS: AtomicU64 = AtomicU64::new(1);
        let token = format!("barrier-{}", TOKENS.fetch_add(1, Ordering::Relaxed));
        self.send(&format!("PING {token}"));
        let pong = format!("PONG {token}");
        let mut before = Vec::new();
        loop {
            let line = self.recv();
            if line == pong {
                return before;
            }
            before.push(line);
        }
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

/// The `chatd` binary run as a child process on `127.0.0.1:0`, its log lines readable one by
/// one with deadlines.
pub struct ChatdProcess {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: Receiver<String>,
    log_reader: Option<JoinHandle<()>>,
}

impl ChatdProcess {
    /// Starts `chatd` with `args` (after `--addr 127.0.0.1:0`), and with at most
    /// `fd_limit` open files if given; waits for its "listening on" line.
    pub fn spawn(args: &[&str], fd_limit: Option<u32>) -> ChatdProcess {
        let binary = env!("CARGO_BIN_EXE_chatd");
        let mut command = match fd_limit {
            Some(limit) => {
                let mut shell = Command::new("sh");
                let script = format!("ulimit -n {limit} && exec \"$0\" \"$@\"");
                shell.args(["-c", &script, binary]);
                shell
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, log) = crossbeam_channel::unbounded();
        // Drains stderr to the end, so the server never blocks on a full pipe.
        let log_reader = thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { return };
                let _ = tx.send(line);
            }
        });
        let mut process = ChatdProcess {
            child: Some(child),
            addr: "0.0.0.0:0".parse().unwrap(),
            log,
            log_reader: Some(log_reader),
        };
        let listening = process.expect_log("listening on ");
        let addr = listening.split("listening on ").nth(1).unwrap();
        process.addr = addr.split(',').next().unwrap().parse().unwrap();
        process
    }

    /// The next log line containing `needle`; earlier lines are skipped.
    pub fn expect_log(&mut self, needle: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            match self.log.recv_deadline(end) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => panic!("no log line with {needle:?} within {DEADLINE:?}"),
            }
        }
    }

    #[allow(unsafe_code)]
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.as_ref().unwrap().id()).unwrap();
        // SAFETY: kill(2) on a child we spawned and have not reaped; no memory is involved.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
    }

    /// The process's live threads, open descriptors and resident memory (KiB), from /proc.
    pub fn resources(&self) -> Resources {
        let pid = self.child.as_ref().unwrap().id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let field = |name: &str| -> usize {
            let line = status.lines().find(|l| l.starts_with(name)).unwrap();
            line.split_whitespace().nth(1).unwrap().parse().unwrap()
        };
        Resources {
            threads: field("Threads:"),
            fds: std::fs::read_dir(format!("/proc/{pid}/fd"))
                .unwrap()
                .count(),
            rss_kib: field("VmRSS:"),
        }
    }

    /// CPU time (user + system) the process has used so far.
    pub fn cpu_time(&self) -> Duration {
        let pid = self.child.as_ref().unwrap().id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10)
    }

    /// Waits for the process to exit, at most `DEADLINE`.
    pub fn wait(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let waiter = thread::spawn(move || {
            let status = child.wait();
            let _ = tx.send(status);
        });
        let status = rx
            .recv_timeout(DEADLINE)
            .expect("chatd did not exit in time")
            .unwrap();
        waiter.join().unwrap();
        status
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resources {
    pub threads: usize,
    pub fds: usize,
    pub rss_kib: usize,
}

impl Drop for ChatdProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(reader) = self.log_reader.take() {
            let _ = reader.join();
        }
    }
}
