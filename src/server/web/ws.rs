//! `/ws`: the line protocol over WebSocket. One text frame is one line, both ways; the
//! client is an ordinary connection of the core, reached through the [`Bridge`].
//!
//! In scope: the upgrade (with its origin check), the relay of one client in both
//! directions, what a bad frame gets, and closing the WebSocket with the reason. Out of
//! scope: what a line means and every limit on lines (the core applies them to what the relay
//! writes, exactly as to a TCP client's bytes).
//!
//! Frames and their answers:
//! - a text frame is one line: a trailing line ending is allowed, one inside is not (closed
//!   with 1007 and a reason, since splitting it would make two lines of one frame);
//! - a text frame up to `max_line` + 64 KiB goes to the core, which answers an over-long
//!   one `ERR LINE_TOO_LONG` as it answers an over-long TCP line; a larger frame or message
//!   (or a fragmented one growing past that) is closed with 1009;
//! - a binary frame is closed with 1003, a text frame that is not UTF-8 with 1007 (the
//!   WebSocket layer checks);
//! - pings are answered by the WebSocket layer; the protocol's own `PING` is a line.
//!
//! Both directions run at once, so a browser that sends while it is read slowly is treated as
//! a TCP client would be: the core pauses what it reads, not what it writes. A browser that
//! reads nothing stalls its relay's sends; the core's writer then finds the pair full and
//! cuts the client after `--write-timeout` (or as a slow consumer), and the relay gives up
//! a send after that long too, so nothing of it stays behind.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::server::admission::Transport;
use crate::server::web::bridge::Bridge;

/// Beyond `max_line`, what a frame may carry and still reach the core, which then answers it
/// as it answers an over-long TCP line. Larger frames are closed: nobody's text is that long,
/// and the relay holds a whole frame in memory.
pub const FRAME_SLACK: usize = 64 * 1024;

/// What one read from the core asks for at most: a burst of lines in one system call.
const READ_CHUNK: usize = 64 * 1024;

/// What the WebSocket side of the web listener needs.
pub struct Relays {
    pub bridge: Bridge,
    /// The longest frame read (`max_line` + [`FRAME_SLACK`]).
    pub max_frame: usize,
    /// The longest a send to a browser that reads nothing may wait (`--write-timeout`).
    pub write_timeout: Duration,
}

/// WebSocket close codes (RFC 6455, 7.4.1).
mod close_code {
    pub const NORMAL: u16 = 1000;
    pub const UNSUPPORTED_DATA: u16 = 1003;
    pub const INVALID_DATA: u16 = 1007;
    pub const TOO_BIG: u16 = 1009;
    pub const SERVER_ERROR: u16 = 1011;
}

/// `GET /ws`: upgrades to a WebSocket and relays it, unless a browser page of another site
/// asks (its `Origin` names another host than the one it asked).
pub async fn upgrade(
    upgrade: WebSocketUpgrade,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(relays): State<Arc<Relays>>,
    headers: HeaderMap,
) -> Response {
    if !same_origin(&headers) {
        return (
            StatusCode::FORBIDDEN,
            "a page of another site may not open this server's WebSocket\n",
        )
            .into_response();
    }
    upgrade
        .max_message_size(relays.max_frame)
        .max_frame_size(relays.max_frame)
        .on_upgrade(move |socket| relay(socket, peer, relays))
}

/// Whether a browser's `Origin` (absent for other clients) is the host it connects to. A
/// page elsewhere could otherwise chat through its visitor's browser, from the visitor's
/// address and on a server only the visitor can reach.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// Relays one client until either side ends.
async fn relay(socket: WebSocket, peer: SocketAddr, relays: Arc<Relays>) {
    let attached = {
        let relays = Arc::clone(&relays);
        tokio::task::spawn_blocking(move || relays.bridge.attach(peer, Transport::WebSocket)).await
    };
    let stream = match attached {
        Ok(Ok(stream)) => stream
            .set_nonblocking(true)
            .and_then(|()| TcpStream::from_std(stream)),
        Ok(Err(error)) => Err(error),
        Err(join) => Err(std::io::Error::other(join)),
    };
    let (mut sink, frames) = socket.split();
    let stream = match stream {
        Ok(stream) => stream,
        Err(error) => {
            log::error!("{peer}: websocket: cannot reach the chat core: {error}");
            let close = close_frame(close_code::SERVER_ERROR, "server error");
            let _ = sink.send(Message::Close(Some(close))).await;
            return;
        }
    };
    let (from_core, to_core) = stream.into_split();
    // Set by the browser's side when it ends the client for a bad frame, read by the core's
    // side when it closes the WebSocket after the core's last line.
    let reason = Arc::new(Mutex::new(None));
    let inbound = tokio::spawn(browser_to_core(frames, to_core, Arc::clone(&reason)));
    core_to_browser(from_core, &mut sink, relays.write_timeout, &reason).await;
    inbound.abort();
}

type Frames = futures_util::stream::SplitStream<WebSocket>;
type Sink = futures_util::stream::SplitSink<WebSocket, Message>;

/// Writes each text frame to the core as a line, until the browser closes, errs or sends a
/// bad frame; then ends the core's input, so the core ends the client as it would a TCP one
/// that hung up (a `QUIT` to the others, the queue written first).
async fn browser_to_core(
    mut frames: Frames,
    mut to_core: OwnedWriteHalf,
    reason: Arc<Mutex<Option<CloseFrame>>>,
) {
    let mut line = Vec::new();
    while let Some(frame) = frames.next().await {
        let bad = match frame {
            Ok(Message::Text(text)) => match one_line(text.as_str()) {
                Some(text) => {
                    line.clear();
                    line.extend_from_slice(text.as_bytes());
                    line.push(b'\n');
                    if to_core.write_all(&line).await.is_err() {
                        break;
                    }
                    continue;
                }
                None => close_frame(
                    close_code::INVALID_DATA,
                    "one line per frame: no line break inside",
                ),
            },
            Ok(Message::Binary(_)) => close_frame(
                close_code::UNSUPPORTED_DATA,
                "text frames only, one line each",
            ),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            Ok(Message::Close(_)) => break,
            Err(error) => bad_frame(&error),
        };
        *reason.lock() = Some(bad);
        break;
    }
    let _ = to_core.shutdown().await;
}

/// The line a frame holds: its text without one trailing line ending, if nothing else in it
/// breaks the line.
fn one_line(frame: &str) -> Option<&str> {
    let text = frame.strip_suffix('\n').unwrap_or(frame);
    let text = text.strip_suffix('\r').unwrap_or(text);
    (!text.contains(['\n', '\r'])).then_some(text)
}

/// The close for a frame the WebSocket layer refused.
fn bad_frame(error: &axum::Error) -> CloseFrame {
    use tungstenite::error::{CapacityError, Error};
    let inner = std::error::Error::source(error)
        .and_then(|source| source.downcast_ref::<Error>())
        .or_else(|| {
            // axum's error is a box around the layer's own.
            let inner: &(dyn std::error::Error + 'static) = error;
            inner.downcast_ref::<Error>()
        });
    match inner {
        Some(Error::Capacity(CapacityError::MessageTooLong { .. })) => {
            close_frame(close_code::TOO_BIG, "frame too long: one line per frame")
        }
        Some(Error::Utf8(_)) => close_frame(close_code::INVALID_DATA, "text that is not UTF-8"),
        _ => close_frame(close_code::INVALID_DATA, "not a WebSocket frame"),
    }
}

fn close_frame(code: u16, reason: &'static str) -> CloseFrame {
    CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }
}

/// Sends each of the core's lines to the browser as a text frame, flushing when no further
/// line is buffered, until the core closes the client; then closes the WebSocket, with the
/// bad frame's reason if that is why.
///
/// A line is cut out of the read buffer as a shared slice of it and becomes its frame's
/// payload as is: no allocation or copy per line, one buffer per [`READ_CHUNK`] read.
async fn core_to_browser(
    mut from_core: OwnedReadHalf,
    sink: &mut Sink,
    write_timeout: Duration,
    reason: &Mutex<Option<CloseFrame>>,
) {
    let mut buffer = BytesMut::with_capacity(READ_CHUNK);
    'read: loop {
        while let Some(end) = buffer.iter().position(|&byte| byte == b'\n') {
            let mut line = buffer.split_to(end + 1);
            line.truncate(end);
            // The core writes UTF-8 only; lossy should that ever break, never a panic.
            let line = line.freeze();
            let text = Utf8Bytes::try_from(line.clone())
                .unwrap_or_else(|_| String::from_utf8_lossy(&line).into_owned().into());
            // Many lines at once go out in one write: a fan-out burst costs one system call.
            let message = Message::Text(text);
            let sent = if buffer.contains(&b'\n') {
                tokio::time::timeout(write_timeout, sink.feed(message)).await
            } else {
                tokio::time::timeout(write_timeout, sink.send(message)).await
            };
            if !matches!(sent, Ok(Ok(()))) {
                return;
            }
        }
        if buffer.capacity() - buffer.len() < READ_CHUNK / 4 {
            buffer.reserve(READ_CHUNK);
        }
        match from_core.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => break 'read,
            Ok(_) => {}
        }
    }
    let close = reason
        .lock()
        .take()
        .unwrap_or_else(|| close_frame(close_code::NORMAL, "closed by the server"));
    let _ = tokio::time::timeout(write_timeout, sink.send(Message::Close(Some(close)))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_one_line_with_at_most_a_trailing_ending() {
        assert_eq!(one_line("ALL hi"), Some("ALL hi"));
        assert_eq!(one_line("ALL hi\n"), Some("ALL hi"));
        assert_eq!(one_line("ALL hi\r\n"), Some("ALL hi"));
        assert_eq!(one_line(""), Some(""));
        assert_eq!(one_line("ALL a\nALL b"), None);
        assert_eq!(one_line("ALL a\rb"), None);
        assert_eq!(one_line("ALL a\n\n"), None);
    }

    #[test]
    fn only_a_page_of_the_same_host_may_open_it() {
        let headers = |origin: Option<&str>, host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, host.parse().unwrap());
            if let Some(origin) = origin {
                headers.insert(header::ORIGIN, origin.parse().unwrap());
            }
            headers
        };
        assert!(same_origin(&headers(None, "127.0.0.1:8080")));
        assert!(same_origin(&headers(
            Some("http://127.0.0.1:8080"),
            "127.0.0.1:8080"
        )));
        assert!(same_origin(&headers(
            Some("https://Chat.Example.org"),
            "chat.example.org"
        )));
        assert!(!same_origin(&headers(
            Some("http://evil.example"),
            "127.0.0.1:8080"
        )));
        assert!(!same_origin(&headers(Some("null"), "127.0.0.1:8080")));
    }
}
