//! A server process the run started: a `chatd` child, started on ephemeral ports with the
//! flags it is given, its addresses read from its log, and its stop (SIGTERM, then SIGKILL
//! after a deadline), which [`stop_process`] also gives any other child (the `nats-server`
//! of `--nodes`).
//!
//! In scope: starting, watching the log for the addresses, draining the log, stopping, the
//! history folder made for a child, and the log lines' addresses. Out of scope: which flags a
//! run gives its server (`target`, `nodes`) and what the run does with it.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::loadgen::alloc;
use crate::loadgen::transport::Endpoints;

/// How long a child may take to log its address, and to exit after SIGTERM.
pub const CHILD_START_TIMEOUT: Duration = Duration::from_secs(10);
pub const CHILD_STOP_TIMEOUT: Duration = Duration::from_secs(15);

/// A `chatd` child process.
pub struct ChildServer {
    child: Child,
    /// Drains the child's stderr (its log) so it never blocks on a full pipe.
    log: JoinHandle<()>,
    /// The history folder made for it, removed when it stops.
    _data: Option<TempDir>,
}

/// A history folder for one server of the run, removed when dropped.
pub fn data_folder() -> io::Result<TempDir> {
    tempfile::Builder::new()
        .prefix("chatd-bench-data-")
        .tempdir()
}

/// Starts `binary --addr 127.0.0.1:0 --http 127.0.0.1:0 <args>` (no `--http` of its own if
/// `args` have one) and waits for the address in its log (`listening on ADDR`) and, if
/// `with_web`, for its web listener's, logged right after it (`web page at http://ADDR/`),
/// and if `args` give it a certificate (`--tls-cert`), for its TLS listener's (`listening
/// with TLS on ADDR`), returned beside the others. The log needs `--log-level` `info` or
/// more verbose among `args` (the server's default is `info`). Unless `args` say where history goes (`--data-dir`, `--ephemeral`), it goes to a
/// folder made for this server and removed after, never to the working directory.
pub fn spawn_child(
    binary: &Path,
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
    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then waits for the exit (the server shuts down gracefully); SIGKILL if it
    /// takes longer than [`CHILD_STOP_TIMEOUT`].
    pub fn stop(mut self) -> io::Result<()> {
        let result = stop_process(&mut self.child, "chatd");
        let _ = self.log.join();
        result
    }
}

/// Stops `child` (called `name` in the error) as a server is stopped: SIGTERM, then a wait
/// of at most [`CHILD_STOP_TIMEOUT`], then SIGKILL. Reaped either way; an error if it had to
/// be killed. A child that has already exited is only reaped.
pub fn stop_process(child: &mut Child, name: &str) -> io::Result<()> {
    if child.try_wait()?.is_some() {
        return Ok(());
    }
    send_sigterm(child.id())?;
    let deadline = Instant::now() + CHILD_STOP_TIMEOUT;
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            return Ok(());
        }
        // No signal to wait on for a child's exit short of SIGCHLD, which is process-wide.
        thread::sleep(Duration::from_millis(20));
    }
    child.kill()?;
    child.wait()?;
    Err(io::Error::other(format!(
        "{name} did not exit within {CHILD_STOP_TIMEOUT:?} of SIGTERM and was killed"
    )))
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
        let secure = "12:00:01 [INFO] web page at https://127.0.0.1:40124/";
        assert_eq!(web_page_addr(secure), web_page_addr(web));
        let tls = "12:00:01 [INFO] listening with TLS on 127.0.0.1:40125";
        assert_eq!(
            tls_listening_addr(tls),
            Some("127.0.0.1:40125".parse().unwrap())
        );
        assert_eq!(listening_addr(tls), None);
        assert_eq!(tls_listening_addr(line), None);
    }
}
