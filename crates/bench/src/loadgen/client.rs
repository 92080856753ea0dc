//! Generator sockets: connecting, registering a nick (or on a peer, opening a session and
//! subscribing), how a run names its clients and channels, and the raw socket calls the
//! readers and the stalled clients need.
//!
//! In scope: one client's socket set-up, the lines it sends outside the hot path (`NICK`,
//! `JOIN`, `PING`; a peer's handshake), and reading their answers before a reader takes the
//! client over ([`read_until`], [`register_peer`]). Out of scope: reading many sockets
//! (`reader`), writing message streams (`sender`), and a peer's spelling (`dialect`).
//!
//! Sockets stay in blocking mode: sender threads write whole batches with `write_all`, and
//! `O_NONBLOCK` would apply to every handle of the socket. Readers ask for non-blocking
//! behaviour per call instead ([`recv_now`]), as the server does.

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::loadgen::board::Barrier;
use crate::loadgen::dialect::Peer;
use crate::loadgen::dialect::frame::{Event, Frame, Framing};
use chatd_proto::{Command, Nick, Reply};

/// How long one connect, one registration or one blocked write may take.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// The nicks of one run, `b<tag>n<index>`, and its rooms, `#b<tag>r<index>`. The tag differs
/// between runs, so runs against a shared server do not collide, and a line from someone
/// else's client is recognised as such.
///
/// On a peer the same names make the channels: a client's own channel is its nick, a
/// room's is its name without `#`, and the lobby's is `b<tag>all`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naming {
    prefix: String,
    room_prefix: String,
    lobby: String,
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
        let tag = tag & 0xff_ffff;
        Naming {
            prefix: format!("b{tag:06x}n"),
            room_prefix: format!("#b{tag:06x}r"),
            lobby: format!("b{tag:06x}all"),
        }
    }

    pub fn nick(&self, index: u32) -> String {
        format!("{}{index}", self.prefix)
    }

    /// The client index in one of this run's nicks; `None` for anyone else's.
    pub fn index_of(&self, nick: &[u8]) -> Option<u32> {
        number(nick.strip_prefix(self.prefix.as_bytes())?)
    }

    /// The name of room `index`, `#` included.
    pub fn room(&self, index: u32) -> String {
        format!("{}{index}", self.room_prefix)
    }

    /// The room index in one of this run's room names; `None` for anyone else's.
    pub fn room_index_of(&self, room: &[u8]) -> Option<u32> {
        number(room.strip_prefix(self.room_prefix.as_bytes())?)
    }

    /// A peer's channel for everyone (the lobby).
    pub fn lobby_channel(&self) -> &str {
        &self.lobby
    }

    /// A peer's channel for room `index`: its name without `#`.
    pub fn room_channel(&self, index: u32) -> String {
        format!("{}{index}", &self.room_prefix[1..])
    }

    /// The room index in one of this run's room channels; `None` for anything else.
    pub fn room_index_of_channel(&self, channel: &[u8]) -> Option<u32> {
        number(channel.strip_prefix(&self.room_prefix.as_bytes()[1..])?)
    }
}

/// The decimal number that is all of `digits`, if it fits in a `u32`.
fn number(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
    u32::try_from(value).ok()
}

/// A connected socket with Nagle off and writes bounded by [`IO_TIMEOUT`].
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    stream.set_nodelay(true)?;
    // A server that stops reading must fail the run, not hang a sender.
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Like [`connect`], with a receive buffer of `bytes` set before connecting, so the window
/// the client advertises is small from the first segment. (Shrinking it after connecting,
/// as [`set_recv_buffer`] does, leaves a window already promised that the buffer cannot
/// hold: the kernel then drops the server's segments, acknowledgements of our data
/// included, and our own writes stall although the server reads everything.)
pub fn connect_with_recv_buffer(addr: SocketAddr, bytes: usize) -> io::Result<TcpStream> {
    connect_with(
        addr,
        &SocketOptions {
            recv_buffer: Some(bytes),
            ..SocketOptions::default()
        },
    )
}

/// What a client socket is given before it connects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SocketOptions {
    /// The local address to connect from (port chosen by the kernel): on loopback, any of
    /// 127.0.0.0/8, so that one machine can be many addresses to a server that limits each.
    pub source: Option<IpAddr>,
    /// `SO_RCVBUF`, set before connecting (see [`connect_with_recv_buffer`]).
    pub recv_buffer: Option<usize>,
    /// `TCP_MAXSEG`, announced in the SYN. The kernel sizes the server's send buffer by the
    /// segment size (on loopback's 64 KiB segments it grows to `tcp_wmem`'s maximum, 4 MiB,
    /// for a peer that reads nothing), so a client that means to stop reading asks for small
    /// segments, and the server's writes to it stall after about a hundred KiB instead.
    pub max_segment: Option<u32>,
}

/// Like [`connect`], with `options` applied before connecting.
pub fn connect_with(addr: SocketAddr, options: &SocketOptions) -> io::Result<TcpStream> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::STREAM,
        None,
    )?;
    if let Some(source) = options.source {
        socket.bind(&SocketAddr::new(source, 0).into())?;
    }
    if let Some(bytes) = options.recv_buffer {
        socket.set_recv_buffer_size(bytes)?;
    }
    if let Some(mss) = options.max_segment {
        let mss = libc::c_int::try_from(mss).map_err(io::Error::other)?;
        set_int_option(socket.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_MAXSEG, mss)?;
    }
    socket.connect_timeout(&addr.into(), IO_TIMEOUT)?;
    let stream = TcpStream::from(socket);
    stream.set_nodelay(true)?;
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
    let what = format!("OK NICK for {nick}");
    read_until(stream, Vec::new(), deadline, &what, |line| {
        registered(line, nick)
    })
}

/// Whether `line` is the `OK NICK` that registers `nick`; an `ERR` is the error.
pub fn registered(line: &[u8], nick: &str) -> io::Result<bool> {
    match Reply::parse(&String::from_utf8_lossy(line)) {
        Ok(Reply::OkNick(got)) if got.as_str() == nick => Ok(true),
        Ok(Reply::Err { code, text }) => {
            Err(io::Error::other(format!("NICK {nick}: ERR {code} {text}")))
        }
        _ => Ok(false),
    }
}

/// Opens a client's session on a peer (Redis: `HELLO 3`; NATS: `CONNECT`), subscribes it to
/// `channels`, and waits for the answer to the [`Barrier::Registered`] `PING` sent after
/// them: the server handles a connection's commands in order, so by then every
/// subscription is in place. Returns the bytes read after that answer.
pub fn register_peer(stream: &TcpStream, peer: Peer, channels: &[&[u8]]) -> io::Result<Vec<u8>> {
    let mut hello = Vec::new();
    peer.handshake(channels, &mut hello);
    peer.ping(Barrier::Registered.token(), &mut hello);
    (&*stream).write_all(&hello)?;
    let token = Barrier::Registered.token().as_bytes();
    let mut subscribed = 0;
    let deadline = Instant::now() + IO_TIMEOUT;
    let what = format!("{peer}'s answer to PING after subscribing");
    let rest = read_frames(stream, peer, deadline, &what, |event| match event {
        Event::Pong(Some(got)) if got != token => Err(unexpected(peer, got)),
        Event::Pong(_) => Ok(true),
        Event::Subscribed => {
            subscribed += 1;
            Ok(false)
        }
        Event::Ignored => Ok(false),
        Event::ServerPing => {
            (&*stream).write_all(peer.pong().unwrap_or_default())?;
            Ok(false)
        }
        Event::Error(text) => Err(io::Error::other(format!(
            "{peer} refused the handshake (Redis needs version 6 or later, for HELLO 3): {}",
            String::from_utf8_lossy(text)
        ))),
        Event::Delivery { payload, .. } => Err(unexpected(peer, payload)),
        Event::Other(bytes) => Err(unexpected(peer, bytes)),
    })?;
    // Redis confirms each subscription; NATS confirms none.
    if peer == Peer::Redis && subscribed != channels.len() {
        return Err(io::Error::other(format!(
            "{peer} confirmed {subscribed} of {} subscriptions",
            channels.len()
        )));
    }
    Ok(rest)
}

fn unexpected(peer: Peer, bytes: &[u8]) -> io::Error {
    let shown = &bytes[..bytes.len().min(120)];
    io::Error::other(format!(
        "unexpected from {peer} while subscribing: {:?}",
        String::from_utf8_lossy(shown)
    ))
}

/// [`read_until`] for a peer's frames: hands the event of every frame from `stream` to
/// `event` until it returns `Ok(true)`, and returns the bytes read after that frame.
pub fn read_frames(
    stream: &TcpStream,
    peer: Peer,
    deadline: Instant,
    what: &str,
    mut event: impl FnMut(Event<'_>) -> io::Result<bool>,
) -> io::Result<Vec<u8>> {
    let mut pending = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let mut start = 0;
        loop {
            match peer.frame(&pending[start..]) {
                Frame::Complete { len, event: got } => {
                    start += len;
                    if event(got)? {
                        pending.drain(..start);
                        return Ok(pending);
                    }
                }
                Frame::Incomplete => break,
                Frame::Invalid(why) => {
                    return Err(io::Error::other(format!(
                        "{peer} sent what is not its protocol ({why}) before {what}"
                    )));
                }
            }
        }
        pending.drain(..start);
        read_more(stream, &mut pending, &mut chunk, deadline, what)?;
    }
}

/// Hands every line from `stream` to `line` (first those complete in `pending`, bytes read
/// before), without its `\n`, until `line` returns `Ok(true)`. Returns the bytes read after
/// that line: they belong to whoever reads next. Fails with `line`'s error, when the
/// connection ends, or at `deadline`; `what` names what was awaited, for those errors.
///
/// For the set-up outside the measured window (registering, joining rooms): it blocks, one
/// client at a time.
pub fn read_until<S: Source + ?Sized>(
    stream: &S,
    mut pending: Vec<u8>,
    deadline: Instant,
    what: &str,
    line: impl FnMut(&[u8]) -> io::Result<bool>,
) -> io::Result<Vec<u8>> {
    read_lines(stream, &mut pending, deadline, what, line)?;
    Ok(pending)
}

/// [`read_until`] on a buffer the caller keeps: whatever the outcome, `pending` holds the
/// bytes read and not handed over (after a timeout, a line's first part, which the next
/// read completes).
pub fn read_lines<S: Source + ?Sized>(
    stream: &S,
    pending: &mut Vec<u8>,
    deadline: Instant,
    what: &str,
    mut line: impl FnMut(&[u8]) -> io::Result<bool>,
) -> io::Result<()> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        // Lines are consumed by offset and the rest moved once: a client may have
        // thousands of lines waiting.
        let mut start = 0;
        while let Some(end) = pending[start..].iter().position(|&b| b == b'\n') {
            let handed = line(&pending[start..start + end]);
            start += end + 1;
            match handed {
                Ok(false) => {}
                Ok(true) => {
                    pending.drain(..start);
                    return Ok(());
                }
                Err(e) => {
                    pending.drain(..start);
                    return Err(e);
                }
            }
        }
        pending.drain(..start);
        stream.read_more(pending, &mut chunk, deadline, what)?;
    }
}

/// [`read_lines`] for a stream of `F`'s frames: hands the event of every frame from `stream`
/// (first those complete in `pending`) to `event` until it returns `Ok(true)`. Whatever the
/// outcome, `pending` holds the bytes read and not handed over.
pub fn read_framed<F: Framing, S: Source + ?Sized>(
    stream: &S,
    pending: &mut Vec<u8>,
    deadline: Instant,
    what: &str,
    mut event: impl FnMut(F::Event<'_>) -> io::Result<bool>,
) -> io::Result<()> {
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let mut start = 0;
        let handed = loop {
            let handed = match F::frame(&pending[start..]) {
                Frame::Complete { len, event: got } => {
                    start += len;
                    event(got)
                }
                Frame::Incomplete => break None,
                Frame::Invalid(why) => Err(io::Error::other(format!(
                    "the server sent what is not its protocol ({why}) before {what}"
                ))),
            };
            if !matches!(handed, Ok(false)) {
                break Some(handed);
            }
        };
        pending.drain(..start);
        match handed {
            Some(result) => return result.map(|_| ()),
            None => stream.read_more(pending, &mut chunk, deadline, what)?,
        }
    }
}

/// What the set-up reads lines from: a TCP socket as it is, or a client over TLS (`tls`)
/// in plaintext.
pub trait Source {
    /// One read onto the end of `pending`, as [`read_more`].
    fn read_more(
        &self,
        pending: &mut Vec<u8>,
        chunk: &mut [u8],
        deadline: Instant,
        what: &str,
    ) -> io::Result<()>;
}

impl Source for TcpStream {
    fn read_more(
        &self,
        pending: &mut Vec<u8>,
        chunk: &mut [u8],
        deadline: Instant,
        what: &str,
    ) -> io::Result<()> {
        read_more(self, pending, chunk, deadline, what)
    }
}

/// One read from `stream` onto the end of `pending`, waiting until `deadline` at most. A
/// read that times out before the deadline adds nothing and is not an error.
pub fn read_more(
    stream: &TcpStream,
    pending: &mut Vec<u8>,
    chunk: &mut [u8],
    deadline: Instant,
    what: &str,
) -> io::Result<()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("no {what} in time"),
        ));
    }
    stream.set_read_timeout(Some(left))?;
    match (&*stream).read(chunk) {
        Ok(0) => Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("the server closed the connection before {what}"),
        )),
        Ok(n) => {
            pending.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
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
pub fn set_recv_buffer(stream: &TcpStream, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes).map_err(io::Error::other)?;
    set_int_option(stream.as_raw_fd(), libc::SOL_SOCKET, libc::SO_RCVBUF, value)
}

/// `setsockopt` of an `int` option on `fd`, which the caller keeps open for the call.
#[allow(unsafe_code)]
fn set_int_option(
    fd: std::os::fd::RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: the pointer and size describe a live c_int for the duration of the call; a
    // descriptor that is not open only makes the call fail.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
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
    fn rooms_are_valid_and_map_back_to_their_index() {
        let naming = Naming::with_tag(0xabc123);
        for index in [0, 7, 199, 65_535, u32::MAX] {
            let room = naming.room(index);
            assert!(chatd_proto::Room::parse(&room).is_ok(), "{room}");
            assert_eq!(naming.room_index_of(room.as_bytes()), Some(index));
            // A room is not a nick, nor the other way round.
            assert_eq!(naming.index_of(room.as_bytes()), None);
            assert_eq!(naming.room_index_of(naming.nick(index).as_bytes()), None);
        }
        assert_eq!(naming.room(12), "#babc123r12");
        let other = Naming::with_tag(2);
        assert_eq!(naming.room_index_of(other.room(3).as_bytes()), None);
        assert_eq!(naming.room_index_of(b"#babc123r"), None);
    }

    #[test]
    fn peer_channels_are_the_names_and_map_back() {
        let naming = Naming::with_tag(0xabc123);
        assert_eq!(naming.lobby_channel(), "babc123all");
        assert_eq!(naming.room_channel(12), "babc123r12");
        assert_eq!(naming.room_index_of_channel(b"babc123r12"), Some(12));
        assert_eq!(naming.room_index_of_channel(b"#babc123r12"), None);
        assert_eq!(naming.room_index_of_channel(b"babc123all"), None);
        assert_eq!(naming.index_of(naming.lobby_channel().as_bytes()), None);
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

    #[test]
    fn read_until_hands_over_lines_and_returns_the_rest() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"b\nc\nstop\nd\npart").unwrap();
        let deadline = Instant::now() + IO_TIMEOUT;
        let mut seen = Vec::new();
        let rest = read_until(&client, b"a\n".to_vec(), deadline, "stop", |line| {
            seen.push(String::from_utf8(line.to_vec()).unwrap());
            Ok(line == b"stop")
        })
        .unwrap();
        assert_eq!(seen, ["a", "b", "c", "stop"]);
        assert_eq!(rest, b"d\npart");
        // A closed connection fails the wait, and so does the callback's error.
        drop(server);
        let closed = read_until(&client, rest, deadline, "never", |_| Ok(false));
        assert_eq!(closed.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
        let refused = read_until(&client, b"x\n".to_vec(), deadline, "x", |_| {
            Err(io::Error::other("no"))
        });
        assert_eq!(refused.unwrap_err().to_string(), "no");
    }
}
