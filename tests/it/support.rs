//! The server's test harness: [`chatd_testkit`]'s in-process server and client, and the
//! `chatd` binary run as a child process ([`ChatdProcess`]) for what only a real process
//! shows (signals, descriptors, threads, memory).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

pub use chatd_testkit::*;

/// The `chatd` binary run as a child process on `127.0.0.1:0`, its log lines readable one by
/// one with deadlines.
pub struct ChatdProcess {
    child: Option<Child>,
    pub addr: SocketAddr,
    log: Receiver<String>,
    log_reader: Option<JoinHandle<()>>,
}

impl ChatdProcess {
    /// Starts `chatd` with `args` (after `--addr 127.0.0.1:0`), and with a soft limit of
    /// `soft_fd_limit` open files if given (the hard limit is left as it is, so chatd may
    /// raise it); waits for its "listening on" line.
    pub fn spawn(args: &[&str], soft_fd_limit: Option<u32>) -> ChatdProcess {
        let limit = soft_fd_limit.map(|limit| format!("ulimit -Sn {limit}"));
        ChatdProcess::spawn_limited(args, limit.as_deref())
    }

    /// As [`ChatdProcess::spawn`], with `ulimit` run first in a shell when given (for
    /// example `ulimit -f 64`: files of at most 64 KiB, a disk that fills up).
    pub fn spawn_limited(args: &[&str], ulimit: Option<&str>) -> ChatdProcess {
        let binary = env!("CARGO_BIN_EXE_chatd");
        let mut command = match ulimit {
            Some(ulimit) => {
                let mut shell = Command::new("sh");
                let script = format!("{ulimit} && exec \"$0\" \"$@\"");
                shell.args(["-c", &script, binary]);
                shell
            }
            None => Command::new(binary),
        };
        // Never the default data folder in the working directory: a test that wants its
        // history on disk gives `--data-dir`.
        if !args.contains(&"--data-dir") {
            command.arg("--ephemeral");
        }
        // Never the default web port either: tests run side by side.
        if !args.contains(&"--http") {
            command.args(["--http", "127.0.0.1:0"]);
        }
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

    /// The process id, for tests that act on the process itself (its limits, its sockets).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Every log line up to and including the next one containing `needle`.
    pub fn log_until(&mut self, needle: &str) -> Vec<String> {
        let end = Instant::now() + DEADLINE;
        let mut lines = Vec::new();
        loop {
            match self.log.recv_deadline(end) {
                Ok(line) => {
                    let found = line.contains(needle);
                    lines.push(line);
                    if found {
                        return lines;
                    }
                }
                Err(_) => panic!("no log line with {needle:?} within {DEADLINE:?}: {lines:?}"),
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

/// Runs `command` (the `chatd` binary, or a shell that execs it) until it exits, at most
/// [`DEADLINE`], its stdin empty (a command that asked the terminal would fail, not wait): its
/// status and its stdout and stderr. Killed and failed at the deadline.
pub fn output_of(mut command: Command) -> Output {
    let what = format!("{command:?}");
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = crossbeam_channel::bounded(1);
    let waiter = thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(output) = rx.recv_timeout(DEADLINE) else {
        let pid = i32::try_from(pid).unwrap();
        #[allow(unsafe_code)]
        // SAFETY: kill(2) on a child this test spawned and has not reaped; no memory is
        // involved.
        unsafe {
            libc::kill(pid, libc::SIGKILL)
        };
        panic!("{what} still ran after {DEADLINE:?}");
    };
    waiter.join().unwrap();
    output.unwrap()
}

/// [`output_of`] `chatd args...`.
pub fn chatd_output(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatd"));
    command.args(args);
    output_of(command)
}

/// Runs `command` to its exit (see [`output_of`]): its status and its stderr.
pub fn run_to_exit(command: Command) -> (ExitStatus, String) {
    let output = output_of(command);
    (output.status, String::from_utf8(output.stderr).unwrap())
}

/// Runs `chatd args...` to its exit: see [`run_to_exit`].
pub fn run_chatd_to_exit(args: &[&str]) -> (ExitStatus, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chatd"));
    command.args(args);
    run_to_exit(command)
}

/// A file in the temporary directory, for this test process alone, rewritten at will and
/// removed when dropped.
pub struct TempFile {
    path: std::path::PathBuf,
}

impl TempFile {
    /// `name` keeps tests that run at once apart.
    pub fn new(name: &str, text: &str) -> TempFile {
        let file = format!("chatd-it-{}-{name}", std::process::id());
        let temp = TempFile {
            path: std::env::temp_dir().join(file),
        };
        temp.write(text);
        temp
    }

    pub fn write(&self, text: &str) {
        std::fs::write(&self.path, text).unwrap();
    }

    pub fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A connection that turned on `caps` (before registering), registered as `nick`.
pub fn with_caps(server: &TestServer, nick: &str, caps: &[&str]) -> TestClient {
    registered_at(server.addr, nick, caps)
}

/// A connection to the server at `addr` (in this process or not) that turned on `caps`
/// before registering as `nick`.
pub fn registered_at(addr: SocketAddr, nick: &str, caps: &[&str]) -> TestClient {
    let mut client = TestClient::connect_raw(addr);
    let hello = client.recv();
    assert!(hello.starts_with("HELLO "), "greeting: {hello:?}");
    for cap in caps {
        client.send(&format!("CAP {cap}"));
        client.expect(&format!("OK CAP {cap}"));
    }
    client.send(&format!("NICK {nick}"));
    client.expect(&format!("OK NICK {nick}"));
    client
}
