//! Generator sockets: connecting, registering a nick, how a run names its clients, and the
//! raw socket calls the readers and the stalled clients need.
//!
//! In scope: one client's socket set-up and the lines it sends outside the hot path (`NICK`,
//! `PING`). Out of scope: reading many sockets (`reader`) and writing message streams
//! (`sender`).
//!
//! Sockets stay in blocking mode: sender threads write whole batches with `write_all`, and
//! `O_NONBLOCK` would apply to every handle of the socket. Readers ask for non-blocking
//! behaviour per call instead ([`recv_now`]), as the server does.

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::protocol::{Command, Nick, Reply};

/// How long one connect, one registration or one blocked write may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The nicks of one run: `b<tag>n<index>`. The tag differs between runs, so runs against a
/// shared server do not collide, and a line from someone else's client is recognised as such.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    prefix: String,
}

impl Naming {
    /// A naming scheme with a fresh tag.
    pub fn fresh() -> Naming {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ d.as_secs() as u32);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        Naming::with_tag(clock ^ std::process::id().rotate_left(16) ^ run.wrapping_mul(0x9e37))
    }

    pub fn with_tag(tag: u32) -> Naming {
        Naming {
            prefix: format!("b{:06x}n", tag & 0xff_ffff),
        }
    }

    pub fn nick(&self, index: u32) -> String {
        format!("{}{index}", self.prefix)
    }

    /// The client index in one of this run's nicks; `None` for anyone else's.
    pub fn index_of(&self, nick: &[u8]) -> Option<u32> {
        let digits = nick.strip_prefix(self.prefix.as_bytes())?;
        if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let value = digits
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
        u32::try_from(value).ok()
    }
}

/// A connected socket with Nagle off and writes bounded by [`IO_TIMEOUT`].
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    // A server that stops reading must fail the run, not hang a sender.
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Writes one command line.
pub fn send_command(mut stream: &TcpStream, command: &Command<'_>) -> io::Result<()> {
    send_line(&mut stream, command)
}

fn send_line(stream: &mut impl Write, line: &impl Display) -> io::Result<()> {
    stream.write_all(format!("{line}\n").as_bytes())
}

/// Sends `NICK <nick>` without waiting for the answer.
pub fn send_nick(stream: &TcpStream, nick: &str) -> io::Result<()> {
    let nick = Nick::parse(nick).map_err(|e| io::Error::other(format!("{nick}: {e}")))?;
    send_command(stream, &Command::Nick(nick))
}

/// Registers `nick` and waits for `OK NICK` (the greeting and anything else before it are
/// skipped). Returns the bytes read after that line: they belong to whoever reads next.
pub fn register(stream: &TcpStream, nick: &str) -> io::Result<Vec<u8>> {
    send_nick(stream, nick)?;
    let deadline = Instant::now() + IO_TIMEOUT;
    let mut pending = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        while let Some(end) = pending.iter().position(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(&pending[..end]).into_owned();
            pending.drain(..=end);
            match Reply::parse(&line) {
                Ok(Reply::OkNick(got)) if got.as_str() == nick => return Ok(pending),
                Ok(Reply::Err { code, text }) => {
                    return Err(io::Error::other(format!("NICK {nick}: ERR {code} {text}")));
                }
                _ => {}
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no OK NICK for {nick} within {IO_TIMEOUT:?}"),
            ));
        }
        stream.set_read_timeout(Some(left))?;
        match (&*stream).read(&mut chunk) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the server closed {nick}'s connection before OK NICK"),
                ));
            }
            Ok(n) => pending.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
}

/// One `recv` that never blocks, whatever the socket's mode.
#[allow(unsafe_code)]
pub fn recv_now(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call, and the
    // descriptor stays open because `stream` is borrowed for the call.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Shrinks the socket's receive buffer, so a client that stops reading fills up fast. Set
/// after connecting (std has no hook before), which is enough: the window only shrinks.
#[allow(unsafe_code)]
pub fn set_recv_buffer(stream: &TcpStream, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).map_err(io::Error::other)?;
    // SAFETY: the pointer and size describe a live c_int for the duration of the call, and
    // the descriptor is open because `stream` is borrowed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&raw const value).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nicks_are_valid_and_map_back_to_their_index() {
        let naming = Naming::with_tag(0xabc123);
        for index in [0, 7, 199, 65_535, u32::MAX] {
            let nick = naming.nick(index);
            assert!(Nick::parse(&nick).is_ok(), "{nick}");
            assert_eq!(naming.index_of(nick.as_bytes()), Some(index));
        }
        assert_eq!(naming.nick(12), "babc123n12");
    }

    #[test]
    fn other_nicks_are_not_ours() {
        let naming = Naming::with_tag(1);
        let other = Naming::with_tag(2);
        assert_eq!(naming.index_of(other.nick(3).as_bytes()), None);
        for nick in [
            "alice",
            "b000001n",
            "b000001nx",
            "b000001n-1",
            "b000001n99999999999",
        ] {
            assert_eq!(naming.index_of(nick.as_bytes()), None, "{nick}");
        }
    }
}
