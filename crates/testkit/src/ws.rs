//! [`WsClient`]: a client of the line protocol over the web listener's `/ws`, one text frame
//! per line, with a deadline on every wait, as [`TestClient`](crate::TestClient) is over TCP.
//!
//! Out of scope: the server side (`chatd`'s `web` module) and HTTP other than the upgrade.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use tungstenite::protocol::CloseFrame;
use tungstenite::{ClientRequestBuilder, Message, WebSocket};

use crate::lines;

/// What a test waits at most for one frame.
const DEADLINE: Duration = Duration::from_secs(10);

pub struct WsClient {
    socket: WebSocket<TcpStream>,
}

/// How a WebSocket ended, as the client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEnd {
    /// A close frame with this code and reason.
    Closed { code: u16, reason: String },
    /// The connection ended without a close frame.
    Dropped,
}

impl WsClient {
    /// Opens `ws://<web>/ws`, with `origin` as a browser page would send it.
    pub fn try_connect(web: SocketAddr, origin: Option<&str>) -> Result<WsClient, String> {
        let stream = TcpStream::connect(web).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(DEADLINE))
            .map_err(|e| e.to_string())?;
        let uri = format!("ws://{web}/ws")
            .parse()
            .map_err(|e| format!("{e}"))?;
        let mut request = ClientRequestBuilder::new(uri);
        if let Some(origin) = origin {
            request = request.with_header("Origin", origin);
        }
        let (socket, _) = tungstenite::client(request, stream).map_err(|e| e.to_string())?;
        Ok(WsClient { socket })
    }

    /// Opens `/ws` and reads the greeting.
    pub fn connect(web: SocketAddr) -> WsClient {
        let mut client = WsClient::connect_raw(web);
        let hello = client.recv();
        assert!(hello.starts_with("HELLO "), "greeting: {hello:?}");
        client
    }

    /// Opens `/ws`; nothing read yet.
    pub fn connect_raw(web: SocketAddr) -> WsClient {
        WsClient::try_connect(web, None).expect("the WebSocket upgrade")
    }

    /// A client registered as `nick`.
    pub fn client(web: SocketAddr, nick: &str) -> WsClient {
        let mut client = WsClient::connect(web);
        client.send(&format!("NICK {nick}"));
        client.expect(&format!("OK NICK {nick}"));
        client
    }

    /// Sends one line as one text frame.
    pub fn send(&mut self, line: &str) {
        self.send_message(Message::text(line));
    }

    pub fn send_message(&mut self, message: Message) {
        self.socket.send(message).expect("send a frame");
    }

    /// The next text frame; `Err` with how the WebSocket ended instead.
    pub fn try_recv(&mut self) -> Result<String, WsEnd> {
        let end = Instant::now() + DEADLINE;
        loop {
            assert!(Instant::now() < end, "no frame within {DEADLINE:?}");
            match self.socket.read() {
                Ok(Message::Text(text)) => return Ok(text.as_str().to_owned()),
                Ok(Message::Close(frame)) => {
                    return Err(match frame {
                        Some(CloseFrame { code, reason }) => WsEnd::Closed {
                            code: code.into(),
                            reason: reason.as_str().to_owned(),
                        },
                        None => WsEnd::Dropped,
                    });
                }
                Ok(Message::Binary(bytes)) => panic!("a binary frame: {bytes:?}"),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
                {
                    panic!("no frame within {DEADLINE:?}")
                }
                Err(_) => return Err(WsEnd::Dropped),
            }
        }
    }

    pub fn recv(&mut self) -> String {
        match self.try_recv() {
            Ok(line) => line,
            Err(end) => panic!("the WebSocket ended: {end:?}"),
        }
    }

    pub fn expect(&mut self, expected: &str) {
        assert_eq!(self.recv(), expected);
    }

    /// Expects `ERR <code> <some text>`.
    pub fn expect_err(&mut self, code: &str) {
        lines::assert_err(&self.recv(), code);
    }

    /// Reads until the WebSocket ends; the lines before, and how it ended.
    pub fn until_end(&mut self) -> (Vec<String>, WsEnd) {
        let mut lines = Vec::new();
        loop {
            match self.try_recv() {
                Ok(line) => lines.push(line),
                Err(end) => return (lines, end),
            }
        }
    }

    /// `PING <token>`, then every line received before `PONG <token>`.
    pub fn barrier(&mut self) -> Vec<String> {
        let barrier = lines::Barrier::new();
        self.send(&barrier.ping);
        barrier.lines_before(|| self.recv())
    }
}
