//! One TLS connection's state, shared by the worker that reads it and whoever writes it.
//!
//! In scope: [`TlsWire`], a rustls `ServerConnection` behind a mutex, and moving bytes through
//! it: ciphertext read from the socket becomes plaintext lines, queued lines become records,
//! and the handshake runs inside the reads (so in a worker's turn, never waiting: a client
//! that stops half-way holds no worker and is closed by the register timeout like any silent
//! client). Out of scope: the system calls, which the caller hands in as `Read`/`Write` that
//! never block (`socket_io`), waiting for a full socket (`socket_io`, the writer), and who
//! writes when (`outbox`, `writer`).
//!
//! Why one mutex for both directions: rustls keeps one state machine per connection (a read
//! may have to answer, a key update changes both sides), so the reader and the writer take
//! turns on it; each holds it only to move bytes in memory and make calls that do not block.
//! The socket keeps one byte stream because every write of ciphertext happens under the lock,
//! in the order rustls produced it, whoever makes it. Ciphertext the socket did not take stays
//! in rustls (at most its buffer limit, 64 KiB, as a socket's own buffer would), and whoever
//! leaves some behind wakes the connection's writer thread, which writes it out waiting as
//! for plain bytes (`socket_io::write_blocking`), so a stalled peer stalls only its writer.

use std::io::{self, IoSlice, Read, Write};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;

use parking_lot::Mutex;
use rustls::{ServerConfig, ServerConnection};

/// Ciphertext (and, before the handshake's end, plaintext) rustls holds for a connection that
/// the socket has not taken: rustls's default, the TLS twin of a full socket.
const BUFFER_LIMIT: usize = 64 * 1024;

/// A TLS connection's state (see the module doc).
pub struct TlsWire {
    conn: Mutex<ServerConnection>,
    /// The connection's writer thread, woken when ciphertext is left for it.
    writer: OnceLock<Thread>,
}

impl TlsWire {
    pub fn new(config: &Arc<ServerConfig>) -> io::Result<TlsWire> {
        let mut conn = ServerConnection::new(Arc::clone(config)).map_err(io::Error::other)?;
        // Until the handshake ends, rustls holds what is written as plaintext, and a writer
        // it refused for its limit would have nothing to wait for but the handshake. What an
        // unregistered client is sent before it (the greeting) is small; the limit comes
        // back with the handshake's end (`read`).
        conn.set_buffer_limit(None);
        Ok(TlsWire {
            conn: Mutex::new(conn),
            writer: OnceLock::new(),
        })
    }

    /// Names the thread that writes whatever ciphertext the others leave.
    pub fn set_writer(&self, writer: Thread) {
        let _ = self.writer.set(writer);
    }

    /// Reads plaintext into `buf`: what rustls holds first, then as much as `socket` gives
    /// without blocking. `WouldBlock` when there is none yet (the handshake is under way, or
    /// a record is incomplete); `Ok(0)` at the end of the stream; `InvalidData` when the peer
    /// broke the protocol (the alert that says so is sent first). Handshake answers are sent
    /// on the way (`reply`).
    pub fn read(
        &self,
        socket: &mut dyn Read,
        reply: &mut dyn Write,
        buf: &mut [u8],
    ) -> io::Result<usize> {
        let mut conn = self.conn.lock();
        let mut filled = 0;
        let mut ended = false;
        loop {
            match conn.reader().read(&mut buf[filled..]) {
                // The peer's close_notify: the end, after what came before.
                Ok(0) => return Ok(filled),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        return Ok(filled);
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // The TCP stream ended without close_notify: an end like any other, since a
                // line protocol's lines end on their own (a truncated line is not run).
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(filled),
                Err(error) => return Err(error),
            }
            if ended {
                return Ok(filled);
            }
            match conn.read_tls(socket) {
                Ok(0) => ended = true,
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::WouldBlock && filled > 0 => {
                    return Ok(filled);
                }
                Err(error) => return Err(error),
            }
            let processed = conn.process_new_packets();
            if !conn.is_handshaking() {
                conn.set_buffer_limit(Some(BUFFER_LIMIT));
            }
            // An answer to send (handshake messages, or the alert of an error).
            if conn.wants_write() && !flush_locked(&mut conn, reply)? {
                self.wake_writer();
            }
            if let Err(error) = processed {
                return Err(io::Error::new(io::ErrorKind::InvalidData, error));
            }
        }
    }

    /// Whether plaintext already read from the socket waits in rustls: the socket's readiness
    /// would not report it.
    pub fn has_buffered_input(&self) -> bool {
        // Nothing new to process here (every read processes what it read): this only reports.
        self.conn
            .lock()
            .process_new_packets()
            .is_ok_and(|state| state.plaintext_bytes_to_read() > 0)
    }

    /// Encrypts as much of `slices` as rustls takes (all of it, unless ciphertext the socket
    /// did not take is already up to the buffer limit) and writes what `socket` takes without
    /// blocking. Returns the plaintext bytes taken, and whether ciphertext is left.
    pub fn write(&self, socket: &mut dyn Write, slices: &[IoSlice<'_>]) -> io::Result<Wrote> {
        let mut conn = self.conn.lock();
        if conn.wants_write() && !flush_locked(&mut conn, socket)? {
            return Ok(Wrote {
                taken: 0,
                left_over: true,
            });
        }
        let taken = conn.writer().write_vectored(slices)?;
        let left_over = conn.wants_write() && !flush_locked(&mut conn, socket)?;
        Ok(Wrote { taken, left_over })
    }

    /// Writes ciphertext left over without blocking: `Ok(true)` once none is left.
    pub fn flush(&self, socket: &mut dyn Write) -> io::Result<bool> {
        let mut conn = self.conn.lock();
        flush_locked(&mut conn, socket)
    }

    /// Ends the TLS session politely (close_notify), before the writer's last flush.
    pub fn close(&self) {
        self.conn.lock().send_close_notify();
    }

    /// Hands left-over ciphertext to the writer thread: an unpark before its `park` is kept.
    pub fn wake_writer(&self) {
        if let Some(writer) = self.writer.get() {
            writer.unpark();
        }
    }
}

impl std::fmt::Debug for TlsWire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsWire").finish_non_exhaustive()
    }
}

/// What [`TlsWire::write`] did.
pub struct Wrote {
    /// Plaintext bytes encrypted (or held for the end of the handshake).
    pub taken: usize,
    /// Ciphertext the socket did not take yet.
    pub left_over: bool,
}

/// Writes rustls's ciphertext until none is left (`true`) or the socket is full (`false`).
fn flush_locked(conn: &mut ServerConnection, socket: &mut dyn Write) -> io::Result<bool> {
    while conn.wants_write() {
        match conn.write_tls(socket) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(true)
}
