//! chatd's lines over WebSocket as the generator's clients speak them: the upgrade of a
//! connected socket to `/ws`, a line sent as one masked text frame, and the server's frames
//! read where they lie.
//!
//! In scope: [`upgrade`] (tungstenite writes the request and parses the answer; the bytes read
//! past the answer are returned, they are the start of the server's frames), [`push_text`]
//! (one line as a client's text frame, masked as RFC 6455 requires of a client), and
//! [`Frames`], the [`Framing`] of the server's frames for `frame::split` and
//! `client::read_framed`: tungstenite parses each frame's header, and the payload is handed
//! over where it lies in the read buffer, so a delivery costs no copy and no allocation.
//! Out of scope: what a line means (`reader`), which client goes over WebSocket and the
//! set-up lines (`transport`).
//!
//! Why not tungstenite's `WebSocket`: it owns its socket and reads into a buffer of its own,
//! one message per call, whereas a reader thread of the generator watches hundreds of sockets
//! with one large buffer, and sender threads write batches of lines to the same sockets.
//! What they share is the frame layer: tungstenite's `FrameHeader`, both ways.
//!
//! The server sends each line as one text frame, whole (never fragmented) and unmasked; a
//! frame of any other shape is not chatd's `/ws`, and its connection cannot be followed
//! further ([`Frame::Invalid`]).

use std::io::{self, Cursor, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::{Response, generate_request};
use tungstenite::handshake::derive_accept_key;
use tungstenite::handshake::machine::TryParse;
use tungstenite::http::StatusCode;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Control, Data, OpCode};

use crate::loadgen::client;
use crate::loadgen::dialect::frame::{Frame, Framing, MAX_FRAME};

/// Where chatd's web listener serves the line protocol.
pub const PATH: &str = "/ws";
/// The longest answer to the upgrade: far more than chatd's, a few hundred bytes.
const MAX_ANSWER: usize = 64 * 1024;

/// Upgrades `stream`, connected to the web listener at `web`, to a WebSocket at [`PATH`], by
/// `deadline`. Returns the bytes read after the server's answer: the start of its frames
/// (the greeting, often in the same segment as the answer), for whoever reads next.
pub fn upgrade(stream: &TcpStream, web: SocketAddr, deadline: Instant) -> io::Result<Vec<u8>> {
    let url = format!("ws://{web}{PATH}");
    let request = url
        .as_str()
        .into_client_request()
        .map_err(io::Error::other)?;
    let (request, key) = generate_request(request).map_err(io::Error::other)?;
    (&*stream).write_all(&request)?;
    let accept = derive_accept_key(key.as_bytes());
    let what = format!("the answer to the WebSocket upgrade at {url}");
    let mut pending = Vec::new();
    let mut chunk = vec![0u8; 4096];
    loop {
        let parsed =
            Response::try_parse(&pending).map_err(|e| io::Error::other(format!("{what}: {e}")))?;
        if let Some((len, response)) = parsed {
            if response.status() != StatusCode::SWITCHING_PROTOCOLS {
                return Err(io::Error::other(format!(
                    "{url} answered {} to the WebSocket upgrade",
                    response.status()
                )));
            }
            let accepted = response.headers().get("Sec-WebSocket-Accept");
            if accepted.is_none_or(|value| value.as_bytes() != accept.as_bytes()) {
                return Err(io::Error::other(format!(
                    "{url} accepted the upgrade with the wrong Sec-WebSocket-Accept"
                )));
            }
            pending.drain(..len);
            return Ok(pending);
        }
        if pending.len() > MAX_ANSWER {
            return Err(io::Error::other(format!("{what} is longer than 64 KiB")));
        }
        client::read_more(stream, &mut pending, &mut chunk, deadline, &what)?;
    }
}

/// Appends `text` (one line, without its line ending) as one final text frame, masked with
/// a fresh key as every client frame must be.
pub fn push_text(out: &mut Vec<u8>, text: &[u8]) {
    let mask = fastrand::u32(..).to_ne_bytes();
    let header = FrameHeader {
        is_final: true,
        opcode: OpCode::Data(Data::Text),
        mask: Some(mask),
        ..FrameHeader::default()
    };
    header
        .format(text.len() as u64, out)
        .expect("writing to a Vec cannot fail");
    let start = out.len();
    out.extend_from_slice(text);
    for (byte, key) in out[start..].iter_mut().zip(mask.iter().cycle()) {
        *byte ^= key;
    }
}

/// What one of the server's frames means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WsEvent<'a> {
    /// A text frame: one line, without a line ending.
    Text(&'a [u8]),
    /// The server closes the WebSocket, with a code if it gave one, and its reason.
    Close { code: Option<u16>, reason: &'a [u8] },
    /// A well-formed frame chatd never sends (binary, ping, pong), named.
    Other(&'static str),
}

/// The server's side of chatd's `/ws`.
#[derive(Debug)]
pub struct Frames;

impl Framing for Frames {
    type Event<'a> = WsEvent<'a>;

    fn frame(bytes: &[u8]) -> Frame<WsEvent<'_>> {
        let mut cursor = Cursor::new(bytes);
        let (header, length) = match FrameHeader::parse(&mut cursor) {
            Ok(Some(found)) => found,
            Ok(None) => return Frame::Incomplete,
            Err(_) => return Frame::Invalid("a WebSocket frame with a reserved opcode"),
        };
        let Some(length) = usize::try_from(length).ok().filter(|&n| n <= MAX_FRAME) else {
            return Frame::Invalid("a WebSocket frame longer than 2 MiB");
        };
        if header.mask.is_some() {
            return Frame::Invalid("a masked frame from the server");
        }
        if header.rsv1 || header.rsv2 || header.rsv3 {
            return Frame::Invalid("a frame of a WebSocket extension nobody asked for");
        }
        if !header.is_final || header.opcode == OpCode::Data(Data::Continue) {
            return Frame::Invalid("a fragmented message, where each line is one frame");
        }
        // At most 14 bytes of header.
        let start = cursor.position() as usize;
        let Some(payload) = bytes.get(start..start + length) else {
            return Frame::Incomplete;
        };
        let event = match header.opcode {
            OpCode::Data(Data::Text) => WsEvent::Text(payload),
            OpCode::Data(_) => WsEvent::Other("a binary frame"),
            OpCode::Control(Control::Close) => WsEvent::Close {
                code: payload
                    .get(..2)
                    .map(|code| u16::from_be_bytes([code[0], code[1]])),
                reason: payload.get(2..).unwrap_or_default(),
            },
            OpCode::Control(Control::Ping) => WsEvent::Other("a WebSocket ping"),
            OpCode::Control(_) => WsEvent::Other("a WebSocket pong"),
        };
        Frame::Complete {
            len: start + length,
            event,
        }
    }
}

/// What a connection's tally says of a close frame: `the server closed the WebSocket (1000
/// closed by the server)`.
pub fn closed(code: Option<u16>, reason: &[u8]) -> String {
    let reason = String::from_utf8_lossy(&reason[..reason.len().min(120)]);
    match code {
        Some(code) => format!("the server closed the WebSocket ({code} {reason})"),
        None => "the server closed the WebSocket".to_owned(),
    }
}

/// `text` as the server sends it: one final, unmasked text frame.
#[cfg(test)]
pub fn server_text(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    tungstenite::protocol::frame::Frame::message(text.to_owned(), OpCode::Data(Data::Text), true)
        .format(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

/// A close frame as the server sends it.
#[cfg(test)]
pub fn server_close(code: u16, reason: &'static str) -> Vec<u8> {
    use tungstenite::protocol::frame::{CloseFrame, Utf8Bytes};
    let close = CloseFrame {
        code: code.into(),
        reason: Utf8Bytes::from_static(reason),
    };
    let mut out = Vec::new();
    tungstenite::protocol::frame::Frame::close(Some(close))
        .format(&mut out)
        .expect("writing to a Vec cannot fail");
    out
}

#[cfg(test)]
mod tests;
