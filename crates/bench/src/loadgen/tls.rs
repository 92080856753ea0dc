//! chatd's line protocol inside TLS as the generator's clients speak it: a [`Link`] is one
//! client's socket, and over TLS the rustls session its sender and its reader share.
//!
//! In scope: the handshake (blocking, outside the measured window), sealing a batch of lines
//! into records and writing them ([`Link::write_all`]), opening the records of one read
//! ([`Link::decrypt`], for the reader; [`Link::read_more`], for the set-up), and the
//! [`TlsEndpoint`] a client connects to (address, name, what it trusts). Out of scope: what the
//! lines mean (`reader`, `transport`), and making certificates (`pki`).
//!
//! The hot path's cost is one lock of the session per read or per batch, never per line: a
//! reader decrypts a whole read at once and hands the plaintext to the same line splitter as
//! TCP's, and a sender seals a whole batch at once. The socket is read and written outside
//! the session's lock, so a sender blocked on a full socket never stalls the reader thread
//! that watches hundreds of other clients.
//!
//! Why two locks: records carry sequence numbers and must reach the socket in the order
//! rustls sealed them. `outgoing` is held from taking records out of the session until they
//! are all written, by whoever writes (the sender, or the coordinator's barrier `PING`s);
//! `state` only while rustls works. The reader takes `state` alone and writes nothing: a
//! record its reading might queue (a key update chatd never asks for) goes out with the next
//! write.

use std::io::{self, BufRead, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};

use crate::loadgen::client;

/// Where and how a client reaches the server's TLS listener.
#[derive(Debug, Clone)]
pub struct TlsEndpoint {
    /// The server's `--tls-addr`.
    pub addr: SocketAddr,
    /// The name its certificate must carry: the host as given (`127.0.0.1`, `chat.example`).
    pub name: ServerName<'static>,
    /// The certificates it trusts, TLS 1.3 and 1.2 (`pki`).
    pub config: Arc<ClientConfig>,
}

/// One client's connection: its socket, and over TLS its session.
#[derive(Debug)]
pub struct Link {
    stream: TcpStream,
    tls: Option<Session>,
}

#[derive(Debug)]
struct Session {
    /// rustls's state both ways. Locked by the reader once per read (to decrypt it) and by a
    /// writer once per batch (to seal it); never held across socket I/O. A `parking_lot`
    /// mutex: uncontended but for the moments a sender and the reader meet on one client.
    state: Mutex<ClientConnection>,
    /// Sealed records on their way to the socket, and with them the right to write: held
    /// across taking records out of `state` and writing them, so they reach the socket in
    /// the order they were sealed. The buffer is reused, batch after batch.
    outgoing: Mutex<Vec<u8>>,
}

impl Link {
    /// A plain TCP client.
    pub fn plain(stream: TcpStream) -> Link {
        Link { stream, tls: None }
    }

    /// Completes a TLS handshake on `stream` with `server` by `deadline`, outside any measured
    /// window. Returns the client with the plaintext that came with the handshake (the start
    /// of the server's lines), for whoever reads next. A certificate the client does not
    /// trust is the error, and says so.
    pub fn handshake(
        stream: TcpStream,
        server: &TlsEndpoint,
        deadline: Instant,
    ) -> io::Result<(Link, Vec<u8>)> {
        let mut session = ClientConnection::new(Arc::clone(&server.config), server.name.clone())
            .map_err(io::Error::other)?;
        // A batch is sealed whole: rustls must never take only part of it.
        session.set_buffer_limit(None);
        let mut socket = &stream;
        while session.is_handshaking() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no TLS handshake with {} in time", server.addr),
                ));
            }
            stream.set_read_timeout(Some(left))?;
            session
                .complete_io(&mut socket)
                .map_err(|e| handshake_error(e, server))?;
        }
        let mut leftover = Vec::new();
        take_plaintext(&mut session, &mut leftover)?;
        let link = Link {
            stream,
            tls: Some(Session {
                state: Mutex::new(session),
                outgoing: Mutex::new(Vec::new()),
            }),
        };
        Ok((link, leftover))
    }

    /// The socket, to watch it, cut it or read it raw (the reader, before [`Link::decrypt`]).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Whether the client's bytes are TLS records.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Writes all of `bytes` (whole lines), sealed into records over TLS.
    pub fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        let Some(session) = &self.tls else {
            return (&self.stream).write_all(bytes);
        };
        let mut outgoing = session.outgoing.lock();
        {
            let mut state = session.state.lock();
            state.writer().write_all(bytes)?;
            while state.wants_write() {
                state.write_tls(&mut *outgoing)?;
            }
        }
        let written = (&self.stream).write_all(&outgoing);
        outgoing.clear();
        written
    }

    /// Opens the records in `ciphertext` (one read of the socket) and appends their plaintext
    /// to `plain`; the start of a record whose end has not arrived stays in the session.
    /// Returns whether the server ended the session (`close_notify`). An error is a record
    /// that is not TLS or does not open: the connection cannot be followed further.
    /// A plain client's bytes are appended as they are.
    pub fn decrypt(&self, ciphertext: &[u8], plain: &mut Vec<u8>) -> io::Result<bool> {
        let Some(session) = &self.tls else {
            plain.extend_from_slice(ciphertext);
            return Ok(false);
        };
        let mut state = session.state.lock();
        let mut rest = ciphertext;
        let mut closed = false;
        // Never an empty slice: rustls takes a read of 0 bytes for the end of the stream.
        while !rest.is_empty() {
            if state.read_tls(&mut rest)? == 0 {
                break;
            }
            let io_state = state
                .process_new_packets()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            closed |= io_state.peer_has_closed();
            // Emptied after every record batch: rustls refuses more while it holds 16 KiB.
            take_plaintext(&mut state, plain)?;
        }
        Ok(closed)
    }

    /// [`client::read_more`] in plaintext: one read from the socket, decrypted onto the end
    /// of `pending` (nothing, when it held only part of a record). For the set-up outside the
    /// measured window.
    pub fn read_more(
        &self,
        pending: &mut Vec<u8>,
        chunk: &mut [u8],
        deadline: Instant,
        what: &str,
    ) -> io::Result<()> {
        if self.tls.is_none() {
            return client::read_more(&self.stream, pending, chunk, deadline, what);
        }
        let mut ciphertext = Vec::new();
        client::read_more(&self.stream, &mut ciphertext, chunk, deadline, what)?;
        // A `close_notify` is followed by the end of the connection, which the next read
        // reports as such.
        self.decrypt(&ciphertext, pending)
            .map(|_| ())
            .map_err(|e| io::Error::new(e.kind(), format!("TLS, before {what}: {e}")))
    }
}

/// Moves every byte of plaintext the session holds to the end of `plain`.
fn take_plaintext(state: &mut ClientConnection, plain: &mut Vec<u8>) -> io::Result<()> {
    let mut reader = state.reader();
    loop {
        let taken = match reader.fill_buf() {
            // The server ended the session and everything before was taken.
            Ok([]) => return Ok(()),
            Ok(chunk) => {
                plain.extend_from_slice(chunk);
                chunk.len()
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) => return Err(e),
        };
        reader.consume(taken);
    }
}

/// The handshake's error, with what a refused certificate means for the run.
fn handshake_error(error: io::Error, server: &TlsEndpoint) -> io::Error {
    let refused = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .is_some_and(|e| matches!(e, rustls::Error::InvalidCertificate(_)));
    let name = server.name.to_str();
    let text = if refused {
        format!(
            "TLS handshake with {} refused the server's certificate for {name}: {error} (give \
             --ca the certificate of the authority that signed it)",
            server.addr
        )
    } else {
        format!("TLS handshake with {} ({name}): {error}", server.addr)
    };
    io::Error::new(error.kind(), text)
}

impl client::Source for Link {
    fn read_more(
        &self,
        pending: &mut Vec<u8>,
        chunk: &mut [u8],
        deadline: Instant,
        what: &str,
    ) -> io::Result<()> {
        Link::read_more(self, pending, chunk, deadline, what)
    }
}

#[cfg(test)]
mod tests;
