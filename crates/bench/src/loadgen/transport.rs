//! How a run's clients reach chatd: over TCP, where a line ends in `\n`, over the web
//! listener's WebSocket (`/ws`), where a line is one text frame, or half of them each way; or
//! over TLS at the server's `--tls-addr`, the same lines as over TCP inside TLS records.
//!
//! In scope: [`Transport`] (one client's), [`Transports`] (a run's choice: `tcp`, `ws`, `mix`
//! or `tls`), [`Endpoints`] (the server's addresses), connecting a client over any, and
//! the lines sent and read outside the measured hot path: registering, joining rooms, the
//! barriers' `PING`s. Out of scope: the framing itself (`websocket`), the records (`tls`),
//! and the hot path, where
//! `sender` frames each line and `reader` finds them, one match on the transport per batch
//! or per read.
//!
//! A peer (Redis, NATS) is always reached over TCP: it has no WebSocket listener of chatd's
//! kind nor TLS listener, and a run that asks for either against a peer is refused before it
//! starts.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use crate::loadgen::client::{self, IO_TIMEOUT};
use crate::loadgen::dialect::Dialect;
use crate::loadgen::tls::{Link, TlsEndpoint};
use crate::loadgen::websocket::{self, WsEvent};
use chatd_proto::{Command, Nick};

/// How one client reaches the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    WebSocket,
    Tls,
}

/// Which transport each client of a run uses (`--transport`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Transports {
    /// Every client over TCP.
    #[default]
    Tcp,
    /// Every client over WebSocket.
    WebSocket,
    /// Even clients over TCP, odd ones over WebSocket: every workload then has senders and
    /// receivers of both kinds (fan-out and rooms from two senders; in the direct run each
    /// pair is one of each), and all of them share one order.
    Mix,
    /// Every client over TLS, to the server's `--tls-addr`.
    Tls,
}

impl Transports {
    pub const ALL: [Transports; 4] = [
        Transports::Tcp,
        Transports::WebSocket,
        Transports::Mix,
        Transports::Tls,
    ];

    /// Client `index`'s transport.
    pub fn of(self, index: u32) -> Transport {
        match self {
            Transports::Tcp => Transport::Tcp,
            Transports::WebSocket => Transport::WebSocket,
            Transports::Mix if index % 2 == 0 => Transport::Tcp,
            Transports::Mix => Transport::WebSocket,
            Transports::Tls => Transport::Tls,
        }
    }

    /// Its `--transport` value: `tcp`, `ws`, `mix`, `tls`.
    pub fn name(self) -> &'static str {
        match self {
            Transports::Tcp => "tcp",
            Transports::WebSocket => "ws",
            Transports::Mix => "mix",
            Transports::Tls => "tls",
        }
    }

    /// The value of `--transport` named `text`.
    pub fn parse(text: &str) -> Result<Transports, String> {
        Transports::ALL
            .into_iter()
            .find(|t| t.name() == text)
            .ok_or_else(|| format!("{text:?} is not a transport: tcp, ws, mix or tls"))
    }

    /// Whether any client goes over WebSocket.
    pub fn uses_websocket(self) -> bool {
        matches!(self, Transports::WebSocket | Transports::Mix)
    }

    /// Whether any client goes over TLS.
    pub fn uses_tls(self) -> bool {
        self == Transports::Tls
    }

    /// Descriptors a server holds for one client, on average: a WebSocket client is its
    /// socket and both ends of its bridge to the chat core (the server's `web::bridge`); a
    /// TLS client is its socket, as a TCP one.
    pub fn server_fds_per_client(self) -> u64 {
        match self {
            Transports::Tcp | Transports::Tls => 1,
            Transports::WebSocket => 3,
            Transports::Mix => 2,
        }
    }
}

impl fmt::Display for Transport {
    /// `TCP`, `WebSocket`, `TLS`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Transport::Tcp => "TCP",
            Transport::WebSocket => "WebSocket",
            Transport::Tls => "TLS",
        })
    }
}

impl fmt::Display for Transports {
    /// `tcp`, `ws`, `mix`, `tls`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a server takes clients: its line protocol's TCP address, its web listener's and its
/// TLS listener's (`None`: unknown, or a server without one).
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub lines: SocketAddr,
    pub web: Option<SocketAddr>,
    pub tls: Option<TlsEndpoint>,
}

impl Transport {
    /// A connected client: a socket to `server.lines`, to `server.web` upgraded to WebSocket,
    /// or to `server.tls` after the TLS handshake. Returns it with the bytes read past the
    /// upgrade or the handshake, for whoever reads next.
    pub fn connect(self, server: &Endpoints) -> io::Result<(Link, Vec<u8>)> {
        match self {
            Transport::Tcp => Ok((Link::plain(client::connect(server.lines)?), Vec::new())),
            Transport::Tls => {
                let tls = server.tls.as_ref().ok_or_else(|| {
                    io::Error::other(
                        "no TLS listener to connect to: give --tls-addr with --addr (and --ca)",
                    )
                })?;
                let stream = client::connect(tls.addr)?;
                Link::handshake(stream, tls, Instant::now() + IO_TIMEOUT)
            }
            Transport::WebSocket => {
                let web = server.web.ok_or_else(|| {
                    io::Error::other(
                        "no web listener to reach /ws on: the server runs with --http off, or \
                         give --web with --addr",
                    )
                })?;
                let stream = client::connect(web)?;
                let leftover = websocket::upgrade(&stream, web, Instant::now() + IO_TIMEOUT)?;
                Ok((Link::plain(stream), leftover))
            }
        }
    }

    /// Appends one line (`line` has no line ending) as this transport carries it.
    pub fn push_line(self, line: &[u8], out: &mut Vec<u8>) {
        match self {
            // Over TLS the same bytes: the records are made as they are written.
            Transport::Tcp | Transport::Tls => {
                out.extend_from_slice(line);
                out.push(b'\n');
            }
            Transport::WebSocket => websocket::push_text(out, line),
        }
    }

    /// `command` as one write.
    pub fn command(self, command: &Command<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        self.push_line(command.to_string().as_bytes(), &mut out);
        out
    }

    /// Writes one command line.
    pub fn send_command(self, link: &Link, command: &Command<'_>) -> io::Result<()> {
        link.write_all(&self.command(command))
    }

    /// A barrier `PING` with `token` in `dialect`, as one write. A peer is only ever reached
    /// over TCP (see the module's documentation).
    pub fn ping(self, dialect: Dialect, token: &str) -> Vec<u8> {
        match (self, dialect) {
            (Transport::WebSocket, Dialect::Chatd) => {
                self.command(&Command::Ping { token: Some(token) })
            }
            _ => dialect.ping(token),
        }
    }

    /// Sends `NICK <nick>` without waiting for the answer.
    pub fn send_nick(self, link: &Link, nick: &str) -> io::Result<()> {
        let parsed = Nick::parse(nick).map_err(|e| io::Error::other(format!("{nick}: {e}")))?;
        self.send_command(link, &Command::Nick(parsed))
    }

    /// Sends `NICK <nick>` and waits for its `OK NICK`, after `pending` (bytes already read,
    /// such as those past the upgrade). Returns the bytes read after it.
    pub fn register(self, link: &Link, pending: Vec<u8>, nick: &str) -> io::Result<Vec<u8>> {
        self.send_nick(link, nick)?;
        let deadline = Instant::now() + IO_TIMEOUT;
        let what = format!("OK NICK for {nick}");
        self.read_until(link, pending, deadline, &what, |line| {
            client::registered(line, nick)
        })
    }

    /// [`client::read_until`] in this transport: hands every line to `line` until it returns
    /// `Ok(true)`, and returns the bytes read after that line. Over WebSocket, a close frame
    /// or a frame chatd never sends is the error; over TLS, a record that does not open.
    pub fn read_until(
        self,
        link: &Link,
        mut pending: Vec<u8>,
        deadline: Instant,
        what: &str,
        mut line: impl FnMut(&[u8]) -> io::Result<bool>,
    ) -> io::Result<Vec<u8>> {
        match self {
            Transport::Tcp | Transport::Tls => {
                client::read_until(link, pending, deadline, what, line)
            }
            Transport::WebSocket => {
                client::read_framed::<websocket::Frames, _>(
                    link,
                    &mut pending,
                    deadline,
                    what,
                    |event| match event {
                        WsEvent::Text(text) => line(text),
                        WsEvent::Close { code, reason } => Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("{} before {what}", websocket::closed(code, reason)),
                        )),
                        WsEvent::Other(frame) => Err(io::Error::other(format!(
                            "{frame} from the server before {what}, which chatd never sends"
                        ))),
                    },
                )?;
                Ok(pending)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_alternates_and_names_parse_back() {
        let of = |transports: Transports| (0..4).map(|i| transports.of(i)).collect::<Vec<_>>();
        let (tcp, ws) = (Transport::Tcp, Transport::WebSocket);
        assert_eq!(of(Transports::Tcp), [tcp; 4]);
        assert_eq!(of(Transports::Tls), [Transport::Tls; 4]);
        assert_eq!(of(Transports::WebSocket), [ws; 4]);
        assert_eq!(of(Transports::Mix), [tcp, ws, tcp, ws]);
        for transports in Transports::ALL {
            assert_eq!(Transports::parse(transports.name()), Ok(transports));
        }
        assert!(
            Transports::parse("udp")
                .unwrap_err()
                .contains("tcp, ws, mix or tls")
        );
    }

    #[test]
    fn a_tcp_line_ends_in_a_newline_and_a_websocket_line_is_a_frame() {
        let ping = Command::Ping { token: Some("t") };
        assert_eq!(Transport::Tcp.command(&ping), b"PING t\n");
        let framed = Transport::WebSocket.command(&ping);
        // FIN and text, then masked, 6 bytes, the key, and the masked text.
        assert_eq!(framed[..2], [0x81, 0x80 | 6]);
        let key = &framed[2..6];
        let text: Vec<u8> = framed[6..]
            .iter()
            .zip(key.iter().cycle())
            .map(|(byte, key)| byte ^ key)
            .collect();
        assert_eq!(text, b"PING t");
        assert_eq!(
            Transport::WebSocket.ping(Dialect::Chatd, "t").len(),
            framed.len()
        );
        assert_eq!(Transport::Tcp.ping(Dialect::Chatd, "t"), b"PING t\n");
        // Inside TLS, the lines of TCP: the records are made as they are written.
        assert_eq!(Transport::Tls.command(&ping), b"PING t\n");
    }
}
