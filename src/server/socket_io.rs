//! The system calls on a client socket, its descriptor's life, and the counts of the writes.
//!
//! In scope: [`ClientSocket`], an admitted connection's socket shared by its connection and
//! its writer, which holds the connection's place in the open counts until its descriptor
//! closes, and a TLS client's session (`tls::wire`), through which its reads and writes go
//! (left-over ciphertext is written by the writer, as in [`ClientSocket::write_left_over`]);
//! the read that never blocks (`recv` with `MSG_DONTWAIT`, whatever the socket's
//! mode), the discard of unread input before a close, batching queued lines into vectored
//! writes (blocking for a writer thread, non-blocking for a flush on a worker), and
//! [`WriteTotals`]. Out of scope: who writes when (`writer`, `outbox`'s flush), who reads
//! when (`connection`), and the counts (`admission`).
//!
//! Why the socket stays in blocking mode: `O_NONBLOCK` belongs to the open file, so the
//! worker that reads and the writer that writes would share it, and anything else that
//! writes to the socket would have to handle `EAGAIN`. Every call that must not block asks
//! for it per call instead (`MSG_DONTWAIT`); a writer thread that finds the socket full waits
//! for it in `poll`, with a deadline (a peer that stops reading stalls its own writer thread
//! and nothing else).
//!
//! The writes go through `socket2` (`send_vectored_with_flags`). Two calls stay `unsafe`,
//! because `socket2` has no safe form of them: `recv` with flags, which it offers only into
//! uninitialised memory (reading the bytes back would need `unsafe` here anyway), and `poll`,
//! which it does not wrap.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::ops::Deref;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use socket2::SockRef;

use crate::server::admission::Slot;
use crate::server::line::Line;
use crate::server::tls::wire::TlsWire;

/// An admitted connection's socket: shared (in an `Arc`) by its connection, its writer, and
/// for a moment a flush or a cut; it reads as the `TcpStream` it wraps.
///
/// It owns the connection's admission [`Slot`], so the connection counts against
/// `--max-clients` and `--max-per-ip` until the last handle is dropped: until the connection
/// has ended *and* its writer has exited. A writer blocked on a peer that reads nothing used to
/// keep its thread and descriptor after the place was given back, so one address could hold
/// any number of them (issue 13). When the last handle drops, unread input is discarded (see
/// [`discard_pending_input`]), then the place is given back, then the descriptor closes, which
/// sends the server's FIN: a client that saw its connection end finds its place free.
#[derive(Debug)]
pub struct ClientSocket {
    peer: SocketAddr,
    /// Set by the writer when it cut the connection because nothing could be written for
    /// `--write-timeout`, so that the end is announced with that reason.
    write_timed_out: AtomicBool,
    /// A TLS client's session (`--tls-addr`): every read and write goes through it. Boxed:
    /// rustls's state is a kilobyte or more, which a plain client's socket would carry unused.
    tls: Option<Box<TlsWire>>,
    /// Before `stream`: fields drop in the order they are declared.
    _slot: Slot,
    stream: TcpStream,
}

impl ClientSocket {
    /// A client's socket; with `tls`, a TLS client's, whose bytes are records.
    pub fn new(
        stream: TcpStream,
        peer: SocketAddr,
        slot: Slot,
        tls: Option<TlsWire>,
    ) -> ClientSocket {
        ClientSocket {
            peer,
            write_timed_out: AtomicBool::new(false),
            tls: tls.map(Box::new),
            _slot: slot,
            stream,
        }
    }

    /// Names the connection's writer thread, which a TLS session wakes for the ciphertext
    /// others could not write without blocking.
    pub fn set_writer(&self, writer: std::thread::Thread) {
        if let Some(tls) = &self.tls {
            tls.set_writer(writer);
        }
    }

    /// Reads what the client sent, without blocking: `WouldBlock` when nothing is there,
    /// `Ok(0)` at its end. Through TLS, plaintext; its handshake runs here.
    pub fn read_now(&self, buf: &mut [u8]) -> io::Result<usize> {
        match &self.tls {
            None => recv_now(&self.stream, buf),
            Some(tls) => tls.read(
                &mut RecvNow(&self.stream),
                &mut SendNow::new(&self.stream),
                buf,
            ),
        }
    }

    /// Whether input was read from the socket but not yet handed out (TLS buffers a record's
    /// plaintext), which the socket's readiness would not report.
    pub fn has_buffered_input(&self) -> bool {
        self.tls
            .as_ref()
            .is_some_and(|tls| tls.has_buffered_input())
    }

    /// Writes what a TLS session left over, waiting as a writer does: a writer thread's
    /// first step at each wake-up. Nothing to do on a plain socket.
    pub fn write_left_over(&self) -> io::Result<()> {
        match &self.tls {
            None => Ok(()),
            Some(tls) => drain_blocking(&self.stream, tls),
        }
    }

    /// The writer's last step: a TLS session says it ends (close_notify) and writes what is
    /// left, if the peer takes it in time. Nothing to do on a plain socket.
    pub fn close_politely(&self) {
        if let Some(tls) = &self.tls {
            tls.close();
            let _ = drain_blocking(&self.stream, tls);
        }
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Notes that the writer cuts the connection for `--write-timeout`.
    pub fn note_write_timeout(&self) {
        self.write_timed_out.store(true, Ordering::SeqCst);
    }

    /// Whether the writer cut the connection for `--write-timeout`.
    pub fn write_timed_out(&self) -> bool {
        self.write_timed_out.load(Ordering::SeqCst)
    }
}

impl Deref for ClientSocket {
    type Target = TcpStream;

    fn deref(&self) -> &TcpStream {
        &self.stream
    }
}

impl Drop for ClientSocket {
    fn drop(&mut self) {
        // Without waiting; at once on a socket already shut down or reset.
        discard_pending_input(&self.stream);
    }
}

/// At most this many lines (and `MAX_BATCH_BYTES`) go into one `writev`. Small enough that
/// the `iovec`s fit on the stack (1 KiB), large enough that a busy writer makes one call per
/// 64 lines.
const MAX_BATCH_LINES: usize = 64;
const MAX_BATCH_BYTES: usize = 256 * 1024;

/// Counts over every write to a client socket, by writers and flushes, for the server's
/// `Stats`: the load benchmark divides them by the lines it received.
#[derive(Debug, Default)]
pub struct WriteTotals {
    /// Write calls that wrote something.
    calls: AtomicU64,
    lines: AtomicU64,
}

impl WriteTotals {
    fn count(&self, calls: u64, lines: usize) {
        if calls > 0 {
            self.calls.fetch_add(calls, Ordering::Relaxed);
        }
        if lines > 0 {
            self.lines.fetch_add(lines as u64, Ordering::Relaxed);
        }
    }

    /// Write calls made and lines written so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.calls.load(Ordering::Relaxed),
            self.lines.load(Ordering::Relaxed),
        )
    }
}

/// One `recv` that never blocks, whatever the socket's mode.
#[allow(unsafe_code)]
pub fn recv_now(socket: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call, and the
    // descriptor stays open because `socket` is borrowed for the call.
    let n = unsafe {
        libc::recv(
            socket.as_raw_fd(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            libc::MSG_DONTWAIT,
        )
    };
    usize::try_from(n).map_err(|_| io::Error::last_os_error())
}

/// Drops input the peer sent that nobody will read (at most 256 KiB, without waiting), just
/// before a close: closing a socket with unread input sends a reset instead of a FIN, and a
/// reset may destroy our last lines before the peer has read them.
// Out of line: its 4 KiB buffer must not sit in the frame of a caller that it could be inlined
// into (a writer's loop drops its socket at its end), or every idle writer would keep a third
// stack page resident.
#[inline(never)]
#[cold]
pub fn discard_pending_input(socket: &TcpStream) {
    const MAX_DISCARD: usize = 256 * 1024;
    let mut sink = [0u8; 4096];
    let mut dropped = 0;
    while dropped < MAX_DISCARD {
        match recv_now(socket, &mut sink) {
            Ok(n) if n > 0 => dropped += n,
            _ => return,
        }
    }
}

/// Writes and removes every line of `lines`, `MAX_BATCH_LINES` per `writev` at most, the
/// first from byte `front_written` on, waiting as long as the peer does not read, but never
/// longer than the socket's write timeout (`SO_SNDTIMEO`, `--write-timeout`) without a byte
/// written: then it fails with `TimedOut`. Returns the bytes written. A writer thread's write.
pub fn write_blocking(
    socket: &ClientSocket,
    lines: &mut VecDeque<Line>,
    front_written: usize,
    totals: &WriteTotals,
) -> io::Result<usize> {
    let mut total = 0;
    let mut skip = front_written;
    while !lines.is_empty() {
        let mut iovecs = [IoSlice::new(&[]); MAX_BATCH_LINES];
        let (count, bytes) = fill_batch(&mut iovecs, lines.iter(), skip);
        let written = match &socket.tls {
            None => write_all(&socket.stream, &mut iovecs[..count]),
            Some(tls) => write_all_tls(&socket.stream, tls, &mut iovecs[..count]),
        };
        let lines_written = if written.result.is_ok() { count } else { 0 };
        totals.count(written.calls, lines_written);
        written.result?;
        lines.drain(..count);
        total += bytes;
        skip = 0;
    }
    Ok(total)
}

struct Written {
    /// `writev` calls that wrote something.
    calls: u64,
    result: io::Result<()>,
}

/// Writes all of `slices` with as few calls as the socket allows, waiting while it is full.
///
/// Why not a blocking `writev` with `SO_SNDTIMEO`: the kernel's timer restarts with every
/// call, and a call that wrote some bytes before the peer's window shut returns them only
/// when its timer is up, so the next call waits a whole timeout again: a peer that stopped
/// reading was cut up to twice the timeout after the last byte it took. Here each send
/// returns at once, and the wait is measured from the last byte written.
fn write_all(socket: &TcpStream, mut slices: &mut [IoSlice<'_>]) -> Written {
    let sock = SockRef::from(socket);
    let mut calls = 0;
    let mut last_progress = Instant::now();
    while !slices.is_empty() {
        let error = match sock.send_vectored_with_flags(slices, SEND_NOW) {
            Ok(0) => io::ErrorKind::WriteZero.into(),
            Ok(n) => {
                calls += 1;
                last_progress = Instant::now();
                IoSlice::advance_slices(&mut slices, n);
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match wait_writable(socket, last_progress) {
                    Ok(()) => continue,
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        return Written {
            calls,
            result: Err(error),
        };
    }
    Written {
        calls,
        result: Ok(()),
    }
}

/// [`write_all`] through a TLS session: the plaintext is encrypted as the session's buffer
/// takes it, and its ciphertext written as the socket takes it, waiting while it is full.
fn write_all_tls(stream: &TcpStream, tls: &TlsWire, mut slices: &mut [IoSlice<'_>]) -> Written {
    let mut send = SendNow::new(stream);
    let mut last_progress = Instant::now();
    let result = loop {
        if slices.is_empty() {
            break drain(stream, tls, &mut send, &mut last_progress);
        }
        let sent_before = send.bytes;
        let wrote = match tls.write(&mut send, slices) {
            Ok(wrote) => wrote,
            Err(error) => break Err(error),
        };
        if wrote.taken > 0 || send.bytes > sent_before {
            last_progress = Instant::now();
        }
        if wrote.taken == 0 && !wrote.left_over {
            // Nothing taken and nothing to wait for: the session is closing.
            break Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the TLS session takes no more data",
            ));
        }
        IoSlice::advance_slices(&mut slices, wrote.taken);
        if wrote.left_over {
            if let Err(error) = wait_writable(stream, last_progress) {
                break Err(error);
            }
        }
    };
    Written {
        calls: send.calls,
        result,
    }
}

/// Writes the ciphertext a TLS session holds, waiting while the socket is full.
fn drain_blocking(stream: &TcpStream, tls: &TlsWire) -> io::Result<()> {
    drain(stream, tls, &mut SendNow::new(stream), &mut Instant::now())
}

fn drain(
    stream: &TcpStream,
    tls: &TlsWire,
    send: &mut SendNow<'_>,
    last_progress: &mut Instant,
) -> io::Result<()> {
    loop {
        let sent_before = send.bytes;
        let done = tls.flush(send)?;
        if send.bytes > sent_before {
            *last_progress = Instant::now();
        }
        if done {
            return Ok(());
        }
        wait_writable(stream, *last_progress)?;
    }
}

/// Waits until `socket` takes bytes again (or has failed, or was shut down: the next send
/// says which), at most until its write timeout after `last_progress`: then `TimedOut`.
#[allow(unsafe_code)]
fn wait_writable(socket: &TcpStream, last_progress: Instant) -> io::Result<()> {
    // Read each time it is needed: a reload changes it on every socket (`WriterSet`).
    let deadline = socket
        .write_timeout()?
        .map(|timeout| last_progress + timeout);
    loop {
        let timeout_ms = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                // Rounded up, so that the wait never ends before the deadline.
                i32::try_from(left.as_micros().div_ceil(1000)).unwrap_or(i32::MAX)
            }
        };
        let mut pollfd = libc::pollfd {
            fd: socket.as_raw_fd(),
            events: libc::POLLOUT,
            revents: 0,
        };
        // SAFETY: `pollfd` is valid for the call and names one descriptor, which stays open
        // because `socket` is borrowed for the call.
        let ready = unsafe { libc::poll(&mut pollfd, 1, timeout_ms) };
        match ready {
            n if n > 0 => return Ok(()),
            0 => {}
            _ => {
                let error = io::Error::last_os_error();
                if error.kind() != io::ErrorKind::Interrupted {
                    return Err(error);
                }
            }
        }
    }
}

/// What [`send_without_blocking`] got out.
pub struct Sent {
    /// Lines written in full.
    pub lines: usize,
    pub bytes: usize,
    /// Bytes written of the line after those, if the socket took part of it.
    pub front_written: usize,
}

/// Writes as many of `lines` (the first from byte `front_written` on) as the socket takes
/// without blocking. A flush's write, on the thread that pushed the line.
pub fn send_without_blocking(
    socket: &ClientSocket,
    lines: &VecDeque<Line>,
    front_written: usize,
    totals: &WriteTotals,
) -> Sent {
    let mut send = SendNow::new(&socket.stream);
    let mut sent = Sent {
        lines: 0,
        bytes: 0,
        front_written,
    };
    while sent.lines < lines.len() {
        let mut iovecs = [IoSlice::new(&[]); MAX_BATCH_LINES];
        let batch = lines.range(sent.lines..);
        let (count, bytes) = fill_batch(&mut iovecs, batch, sent.front_written);
        let (n, full) = match &socket.tls {
            None => match send.write_vectored(&iovecs[..count]) {
                Ok(n) => (n, n < bytes),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // Full (`WouldBlock`) or failing: the writer takes over, and meets any error
                // itself.
                Err(_) => break,
            },
            Some(tls) => match tls.write(&mut send, &iovecs[..count]) {
                Ok(wrote) => {
                    if wrote.left_over {
                        // Even when every line was taken: their ciphertext is the writer's.
                        tls.wake_writer();
                    }
                    (wrote.taken, wrote.left_over || wrote.taken < bytes)
                }
                Err(_) => break,
            },
        };
        sent.bytes += n;
        // Which lines that covered, and how far into the next one.
        let mut left = n + sent.front_written;
        for line in lines.range(sent.lines..sent.lines + count) {
            if left < line.len() {
                break;
            }
            left -= line.len();
            sent.lines += 1;
        }
        sent.front_written = left;
        if full {
            break;
        }
    }
    // Once per flush: the totals are shared by every thread that writes.
    totals.count(send.calls, sent.lines);
    sent
}

/// A socket's `Read` that never blocks (`recv` with `MSG_DONTWAIT`), for rustls.
struct RecvNow<'a>(&'a TcpStream);

impl Read for RecvNow<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        recv_now(self.0, buf)
    }
}

/// A socket's `Write` that never blocks (`SEND_NOW`), counting the calls that wrote.
struct SendNow<'a> {
    socket: SockRef<'a>,
    calls: u64,
    bytes: usize,
}

impl<'a> SendNow<'a> {
    fn new(stream: &'a TcpStream) -> SendNow<'a> {
        SendNow {
            socket: SockRef::from(stream),
            calls: 0,
            bytes: 0,
        }
    }
}

impl Write for SendNow<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let n = self.socket.send_vectored_with_flags(bufs, SEND_NOW)?;
        self.calls += 1;
        self.bytes += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// `send` flags of a flush: never block; a closed peer gives `EPIPE`, not `SIGPIPE`.
const SEND_NOW: i32 = libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;

/// Points `iovecs` at the first `lines` (the first from byte `skip` on), at most
/// `MAX_BATCH_BYTES` of them unless one line is longer; returns how many and their bytes.
fn fill_batch<'a>(
    iovecs: &mut [IoSlice<'a>; MAX_BATCH_LINES],
    lines: impl Iterator<Item = &'a Line>,
    skip: usize,
) -> (usize, usize) {
    let mut bytes = 0;
    let mut count = 0;
    for (iovec, line) in iovecs.iter_mut().zip(lines) {
        let rest = &line.as_bytes()[if count == 0 { skip } else { 0 }..];
        if count > 0 && bytes + rest.len() > MAX_BATCH_BYTES {
            break;
        }
        *iovec = IoSlice::new(rest);
        bytes += rest.len();
        count += 1;
    }
    (count, bytes)
}
