//! The client's socket: connecting (again and again, with exponential back-off), one reader
//! thread per connection, and the writer thread that owns it all.
//!
//! In scope: TCP, and TLS on it with `--tls` (`tls`: the handshake, and why one session
//! serves both threads), framing through `line_buffer`, parsing through `protocol`,
//! reporting what happens as [`NetEvent`]s on the app's event channel, and writing the lines
//! the app decided to send. Out of scope: what to send (registration, `PONG`, re-joining
//! rooms: `app` decides that), which certificates are trusted (`trust`) and any display.
//!
//! A refused TLS handshake (a certificate not trusted, expired, for another name) is not
//! retried soon: the wait before the next attempt is the longest back-off at once, as the
//! next attempt would fail the same way until someone changes a certificate.
//!
//! Threads: `chat-writer` connects, writes, notices the end of a connection and waits out the
//! back-off; `chat-reader` reads one connection's lines and ends with it. Dropping [`Net`]
//! closes its line channel: the writer sends what was queued (a `QUIT`), shuts the socket
//! down, which ends the reader, joins it, and ends; `Drop` joins the writer.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, select};

use crate::address;
use crate::event::{Event, NetEvent};
use crate::trust::{self, Trust};
use chatd_proto::Reply;
use chatd_proto::{Frame, LineBuffer};
use tls::TlsStream;

/// The longest server line accepted (the server's own lines stay within 4 KiB of text plus a
/// message of at most `--max-line`); a longer one is reported, not kept.
pub const MAX_SERVER_LINE: usize = 64 * 1024;

mod tls;

/// How to reach the server and how patiently.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// `host:port`, or several separated by commas (tried in turn), resolved again on every
    /// attempt.
    pub addr: String,
    /// TLS (`--tls`): the server's certificate is checked against `trust` for the host part
    /// of `addr`.
    pub tls: bool,
    /// The roots trusted: `--ca`'s, else the system's. The file threads' HTTPS uses them
    /// too, with or without `tls`.
    pub trust: Trust,
    pub connect_timeout: Duration,
    /// A write that blocks this long ends the connection (the server stopped reading).
    pub write_timeout: Duration,
    /// The wait after the first failure; it doubles with each further one.
    pub backoff_initial: Duration,
    /// The longest wait between attempts.
    pub backoff_max: Duration,
    /// A connection that lasted this long counts as good: the back-off starts again from
    /// `backoff_initial`. (A server that accepts and closes at once, as when it is full,
    /// does not reset it.)
    pub stable_after: Duration,
}

impl NetConfig {
    pub fn new(addr: impl Into<String>) -> NetConfig {
        NetConfig {
            addr: addr.into(),
            tls: false,
            trust: Trust::system(),
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(15),
            stable_after: Duration::from_secs(10),
        }
    }

    /// The wait after `failures` failures in a row (1 for the first).
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(16));
        self.backoff_initial
            .saturating_mul(factor)
            .min(self.backoff_max)
    }

    /// The wait after `failures` failures in a row, the last one `error`: the longest for a
    /// refused TLS handshake, which trying again soon would not mend.
    pub fn backoff_after(&self, failures: u32, error: &io::Error) -> Duration {
        if refused(error) {
            self.backoff_max
        } else {
            self.backoff(failures)
        }
    }
}

/// One connection, plain or TLS. Clones share it: one for the reader, one for the writer.
#[derive(Clone)]
pub struct Connection {
    link: Arc<Link>,
}

#[allow(
    clippy::large_enum_variant,
    reason = "one per connection, behind an Arc: boxing would only add an indirection"
)]
enum Link {
    Plain(TcpStream),
    Tls(TlsStream),
}

impl Connection {
    /// Sends all of `bytes` (over TLS: encrypted).
    pub fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        match &*self.link {
            Link::Plain(tcp) => (&*tcp).write_all(bytes),
            Link::Tls(tls) => tls.write_all(bytes),
        }
    }

    /// Closes the connection, which also ends a [`Connection::read_lines`] waiting on it.
    pub fn shutdown(&self) {
        match &*self.link {
            Link::Plain(tcp) => {
                let _ = tcp.shutdown(Shutdown::Both);
            }
            Link::Tls(tls) => tls.shutdown(),
        }
    }

    /// Reads server lines until the connection ends, handing each to `deliver` as a
    /// [`NetEvent::Line`], a [`NetEvent::IdLine`] (or [`NetEvent::Unparsed`]); stops early
    /// when `deliver` returns false. Returns why it stopped, for the user.
    pub fn read_lines(&self, deliver: impl FnMut(NetEvent) -> bool) -> String {
        match &*self.link {
            Link::Plain(tcp) => read_lines(tcp, deliver),
            Link::Tls(tls) => read_lines(tls.reader(), deliver),
        }
    }
}

/// The running network side. Lines given to [`Net::send`] go out on the current connection.
pub struct Net {
    outgoing: Option<Sender<String>>,
    writer: Option<JoinHandle<()>>,
}

impl Net {
    /// Starts the writer thread; it connects at once and reports on `events`.
    pub fn start(config: NetConfig, events: Sender<Event>) -> io::Result<Net> {
        let (outgoing, lines) = crossbeam_channel::unbounded();
        let writer = thread::Builder::new()
            .name("chat-writer".to_owned())
            .spawn(move || writer_loop(&config, &lines, &events))?;
        Ok(Net {
            outgoing: Some(outgoing),
            writer: Some(writer),
        })
    }

    /// Queues one line (without its ending). Lines queued while there is no connection are
    /// dropped when the next connection starts: the app sends nothing until `Connected`.
    pub fn send(&self, line: String) {
        if let Some(outgoing) = &self.outgoing {
            // The writer ends only when this channel closes, so it cannot be gone here.
            let _ = outgoing.send(line);
        }
    }

    /// Sends what is queued, closes the connection and joins the threads.
    pub fn stop(mut self) {
        self.shut();
    }

    fn shut(&mut self) {
        drop(self.outgoing.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.shut();
    }
}

/// Why `serve` returned.
enum End {
    /// The app dropped `Net`.
    Stop,
    /// The connection ended; the text says why.
    Lost(String),
}

fn writer_loop(config: &NetConfig, lines: &Receiver<String>, events: &Sender<Event>) {
    let report = |event: NetEvent| events.send(Event::Net(event)).is_ok();
    let mut failures: u32 = 0;
    loop {
        if !report(NetEvent::Connecting {
            attempt: failures + 1,
        }) {
            return;
        }
        let started = Instant::now();
        // A refused TLS handshake: see the module doc.
        let mut refused = false;
        let reason = match connect(config) {
            Ok(stream) => {
                // Lines queued before this connection was announced belong to an older one.
                loop {
                    match lines.try_recv() {
                        Ok(_) => {}
                        Err(crossbeam_channel::TryRecvError::Empty) => break,
                        Err(crossbeam_channel::TryRecvError::Disconnected) => return,
                    }
                }
                if !report(NetEvent::Connected) {
                    return;
                }
                match serve(stream, lines, events) {
                    End::Stop => return,
                    End::Lost(reason) => reason,
                }
            }
            Err(error) => {
                refused = self::refused(&error);
                error.to_string()
            }
        };
        if started.elapsed() >= config.stable_after {
            failures = 0;
        }
        failures = failures.saturating_add(1);
        let retry_in = if refused {
            config.backoff_max
        } else {
            config.backoff(failures)
        };
        if !report(NetEvent::Lost { reason, retry_in }) {
            return;
        }
        if !wait_out(lines, retry_in) {
            return;
        }
    }
}

/// Waits out the back-off; closing the channel ends the wait at once (false: the app is gone).
fn wait_out(lines: &Receiver<String>, retry_in: Duration) -> bool {
    let deadline = Instant::now() + retry_in;
    loop {
        match lines.recv_deadline(deadline) {
            Ok(_) => {} // nothing can be sent without a connection
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// One connection to the first of `config.addr`'s servers that takes it (each address each
/// one resolves to, in turn), with `TCP_NODELAY` and the write timeout set, and with
/// `config.tls` its TLS handshake done. The last failure is the error; a refused handshake's
/// says which host and why ([`refused`] tells it apart).
pub fn connect(config: &NetConfig) -> io::Result<Connection> {
    let mut last = io::Error::new(ErrorKind::NotFound, "no server address");
    for addr in address::each(&config.addr) {
        match connect_to(config, addr) {
            Ok(connection) => return Ok(connection),
            Err(error) => last = error,
        }
    }
    Err(last)
}

fn connect_to(config: &NetConfig, addr: &str) -> io::Result<Connection> {
    let tcp = connect_tcp(config, addr)?;
    if !config.tls {
        return Ok(Connection {
            link: Arc::new(Link::Plain(tcp)),
        });
    }
    let trust = &config.trust;
    let name = trust::server_name(addr).map_err(io::Error::other)?;
    let host = name.to_str().into_owned();
    let tls = TlsStream::handshake(tcp, trust.chat_config(), name, config.connect_timeout)
        .map_err(|error| match trust::tls_error(&error) {
            Some(refused) => {
                let told = trust.explain(&host, refused);
                io::Error::new(ErrorKind::InvalidData, Refused { told })
            }
            None => error,
        })?;
    let link = Link::Tls(tls);
    Ok(Connection {
        link: Arc::new(link),
    })
}

/// Whether `error` (from [`connect`]) is a refused TLS handshake.
pub fn refused(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<Refused>().is_some())
}

/// A refused TLS handshake, in the words for the user.
#[derive(Debug)]
struct Refused {
    told: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.told)
    }
}

// No `source`: the words above already tell the rustls error beneath, and a chain printed
// whole (`{:#}`) would say it twice.
impl std::error::Error for Refused {}

fn connect_tcp(config: &NetConfig, addr: &str) -> io::Result<TcpStream> {
    let addrs: Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    let mut last = io::Error::new(ErrorKind::NotFound, "the address resolved to nothing");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, config.connect_timeout) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                stream.set_write_timeout(Some(config.write_timeout))?;
                return Ok(stream);
            }
            Err(error) => last = error,
        }
    }
    Err(last)
}

/// Runs one connection: a reader thread reports lines; this thread writes. Returns when the
/// reader saw the end, a write failed, or the app let go of the channel.
fn serve(stream: Connection, lines: &Receiver<String>, events: &Sender<Event>) -> End {
    let (done, reader_done) = crossbeam_channel::bounded::<String>(1);
    let read_half = stream.clone();
    let reader_events = events.clone();
    let spawned = thread::Builder::new()
        .name("chat-reader".to_owned())
        .spawn(move || {
            let reason =
                read_half.read_lines(|event| reader_events.send(Event::Net(event)).is_ok());
            let _ = done.send(reason);
        });
    let reader = match spawned {
        Ok(reader) => reader,
        Err(error) => return End::Lost(format!("cannot start the reader: {error}")),
    };
    let mut out = Vec::new();
    let end = loop {
        select! {
            recv(lines) -> line => match line {
                Ok(line) => {
                    out.clear();
                    out.extend_from_slice(line.as_bytes());
                    out.push(b'\n');
                    if let Err(error) = stream.write_all(&out) {
                        break End::Lost(format!("cannot send: {error}"));
                    }
                }
                Err(_) => break End::Stop,
            },
            recv(reader_done) -> reason => {
                break End::Lost(reason.unwrap_or_else(|_| "the reader stopped".to_owned()));
            }
        }
    };
    // Wakes the reader if it is still reading; it then ends.
    stream.shutdown();
    let _ = reader.join();
    end
}

/// [`Connection::read_lines`] from the plaintext `source`.
fn read_lines(mut source: impl Read, mut deliver: impl FnMut(NetEvent) -> bool) -> String {
    let mut framer = LineBuffer::new(MAX_SERVER_LINE);
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        let n = match source.read(&mut chunk) {
            Ok(0) => return "the server closed the connection".to_owned(),
            Ok(n) => n,
            Err(error) if error.kind() == ErrorKind::Interrupted => continue,
            Err(error) => return error.to_string(),
        };
        framer.push(&chunk[..n]);
        while let Some(frame) = framer.next_frame() {
            let event = match frame {
                Frame::Line(line) => match Reply::parse_with_id(line) {
                    Ok((None, reply)) => NetEvent::Line(reply),
                    Ok((Some(id), reply)) => NetEvent::IdLine(id, reply),
                    Err(_) => NetEvent::Unparsed(line.to_owned()),
                },
                Frame::TooLong => NetEvent::Unparsed("(a line too long to show)".to_owned()),
                Frame::BadEncoding => NetEvent::Unparsed("(a line that is not UTF-8)".to_owned()),
            };
            if !deliver(event) {
                return "stopped".to_owned();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let config = NetConfig {
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(3),
            ..NetConfig::new("127.0.0.1:1")
        };
        let waits: Vec<u128> = (1..=7).map(|f| config.backoff(f).as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 2000, 3000, 3000, 3000]);
        assert_eq!(config.backoff(u32::MAX), Duration::from_secs(3));
    }
}
