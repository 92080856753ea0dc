//! One chat connection over TLS (issue 18): the handshake, then plaintext in and out of one
//! rustls `ClientConnection` shared by the reader and the writer thread.
//!
//! Why a `Mutex` around the session: rustls keeps one state machine for both directions,
//! while the client reads on one thread and writes on another (as it does over plain TCP).
//! The reader waits for the socket *outside* the lock, then takes it only to feed the bytes
//! it got and take the plaintext out; the writer takes it to encrypt a line and send the
//! records. So neither waits for the other but during memory work, or while the writer's
//! socket write blocks (at most the write timeout). One I/O thread would need non-blocking
//! sockets and a poller; this keeps `net`'s two threads as they are.
//!
//! Out of scope: which roots and name are checked (`trust`), lines (`net`).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustls::ClientConnection;
use rustls::pki_types::ServerName;

/// Raw bytes read from the socket at a time.
const RAW_READ: usize = 16 * 1024;

/// A TCP connection with TLS on top, after a complete handshake.
pub struct TlsStream {
    tcp: TcpStream,
    /// Both directions' TLS state; see the module doc for why one lock is enough. Held only
    /// for memory work and the writer's socket writes, never while waiting to read.
    session: Mutex<ClientConnection>,
}

impl TlsStream {
    /// Runs the handshake on `tcp`, checking the server's certificate for `name`; it fails
    /// with the rustls error inside the `io::Error` (see `trust::tls_error`) when refused,
    /// or with a timeout after `timeout` without an answer.
    pub fn handshake(
        tcp: TcpStream,
        config: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        timeout: Duration,
    ) -> io::Result<TlsStream> {
        let mut session = ClientConnection::new(config, name).map_err(io::Error::other)?;
        tcp.set_read_timeout(Some(timeout))?;
        while session.is_handshaking() {
            match session.complete_io(&mut &tcp) {
                Ok(_) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => {
                    return Err(io::Error::new(
                        ErrorKind::TimedOut,
                        "no TLS answer from the server (is it its TLS port?)",
                    ));
                }
                Err(error) => return Err(error),
            }
        }
        tcp.set_read_timeout(None)?;
        Ok(TlsStream {
            tcp,
            session: Mutex::new(session),
        })
    }

    fn session(&self) -> io::Result<MutexGuard<'_, ClientConnection>> {
        self.session
            .lock()
            .map_err(|_| io::Error::other("the TLS session broke (a thread panicked)"))
    }

    /// Encrypts and sends all of `bytes`.
    pub fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        let mut session = self.session()?;
        while !bytes.is_empty() {
            let taken = session.writer().write(bytes)?;
            bytes = &bytes[taken..];
            if taken == 0 && !session.wants_write() {
                return Err(ErrorKind::WriteZero.into());
            }
            while session.wants_write() {
                session.write_tls(&mut &self.tcp)?;
            }
        }
        Ok(())
    }

    /// Says goodbye (`close_notify`) if it can, and shuts the socket, which ends a read
    /// waiting on it.
    pub fn shutdown(&self) {
        if let Ok(mut session) = self.session.try_lock() {
            session.send_close_notify();
            let _ = session.write_tls(&mut &self.tcp);
        }
        let _ = self.tcp.shutdown(Shutdown::Both);
    }

    /// The plaintext side, for the reader thread.
    pub fn reader(&self) -> TlsReader<'_> {
        TlsReader {
            stream: self,
            raw: vec![0; RAW_READ],
            start: 0,
            end: 0,
        }
    }
}

/// Reads plaintext: 0 when the server said goodbye or closed the socket.
pub struct TlsReader<'a> {
    stream: &'a TlsStream,
    /// Bytes read from the socket; `start..end` are not given to rustls yet.
    raw: Vec<u8>,
    start: usize,
    end: usize,
}

impl Read for TlsReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            {
                let mut session = self.stream.session()?;
                match session.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(error) if error.kind() == ErrorKind::WouldBlock => {}
                    Err(error) => return Err(error),
                }
                // No plaintext is waiting: rustls has room for what the socket gave.
                if self.start < self.end {
                    let mut pending = &self.raw[self.start..self.end];
                    self.start += session.read_tls(&mut pending)?;
                    if let Err(error) = session.process_new_packets() {
                        // rustls queued an alert telling the server why.
                        let _ = session.write_tls(&mut &self.stream.tcp);
                        return Err(io::Error::new(ErrorKind::InvalidData, error));
                    }
                    // A key update or a goodbye to answer.
                    while session.wants_write() {
                        session.write_tls(&mut &self.stream.tcp)?;
                    }
                    continue;
                }
            }
            let n = (&self.stream.tcp).read(&mut self.raw)?;
            if n == 0 {
                return Ok(0);
            }
            (self.start, self.end) = (0, n);
        }
    }
}
