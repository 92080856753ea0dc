//! Unit tests of `websocket`: a client's text frames as tungstenite reads them, the server's
//! frames as the generator reads them (whole, cut short, split between reads, or not
//! chatd's), and the upgrade, whose answer may carry the first frames with it.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::thread;

use tungstenite::protocol::frame::Frame as TungsteniteFrame;

use super::*;
use crate::loadgen::client::IO_TIMEOUT;
use crate::loadgen::dialect::frame::{self, assert_every_cut_short_frame_is_incomplete};

#[test]
fn a_line_is_one_masked_text_frame_whatever_its_length() {
    // Lengths in one byte, in two, and in eight.
    for length in [0, 5, 125, 126, 65_535, 65_536] {
        let text: Vec<u8> = (0..length).map(|i| b'a' + (i % 26) as u8).collect();
        let mut out = b"before".to_vec();
        push_text(&mut out, &text);
        let mut cursor = Cursor::new(&out[6..]);
        let (header, len) = FrameHeader::parse(&mut cursor).unwrap().unwrap();
        assert!(header.is_final, "{length}");
        assert_eq!(header.opcode, OpCode::Data(Data::Text));
        assert_eq!(len, length as u64);
        let mask = header.mask.expect("a client's frame is masked");
        let start = 6 + cursor.position() as usize;
        assert_eq!(out.len(), start + length);
        let unmasked: Vec<u8> = out[start..]
            .iter()
            .zip(mask.iter().cycle())
            .map(|(byte, key)| byte ^ key)
            .collect();
        assert_eq!(unmasked, text, "{length}");
    }
}

#[test]
fn the_server_s_frames_are_read_where_they_lie() {
    let long = "x".repeat(70_000);
    let session = [
        server_text("HELLO chatd 1"),
        server_text(""),
        server_text(&long),
        server_close(1000, "closed by the server"),
    ]
    .concat();
    assert_every_cut_short_frame_is_incomplete::<Frames>(&session);
    let mut at = 0;
    let mut events = Vec::new();
    while let Frame::Complete { len, event } = Frames::frame(&session[at..]) {
        events.push(event);
        at += len;
    }
    assert_eq!(at, session.len());
    assert_eq!(
        events,
        [
            WsEvent::Text(b"HELLO chatd 1"),
            WsEvent::Text(b""),
            WsEvent::Text(long.as_bytes()),
            WsEvent::Close {
                code: Some(1000),
                reason: b"closed by the server"
            },
        ]
    );
    assert_eq!(
        closed(Some(1000), b"closed by the server"),
        "the server closed the WebSocket (1000 closed by the server)"
    );
}

#[test]
fn lines_come_out_whole_wherever_the_reads_end() {
    let lines: Vec<String> = (0..50)
        .map(|i| format!("ALL b00000an1 {}", "y".repeat(i * 7)))
        .collect();
    let session: Vec<u8> = lines.iter().flat_map(|line| server_text(line)).collect();
    for piece in [1, 2, 3, 7, 64, 1000] {
        let mut carry = Vec::new();
        let mut seen = Vec::new();
        for chunk in session.chunks(piece) {
            frame::split::<Frames>(&mut carry, chunk, |event| match event {
                WsEvent::Text(text) => seen.push(String::from_utf8(text.to_vec()).unwrap()),
                other => panic!("{other:?}"),
            })
            .unwrap();
        }
        assert_eq!(seen, lines, "pieces of {piece}");
        assert!(carry.is_empty());
    }
}

#[test]
fn frames_chatd_never_sends_are_named_or_refused() {
    let frame_of = |frame: TungsteniteFrame| {
        let mut out = Vec::new();
        frame.format(&mut out).unwrap();
        out
    };
    let ping = frame_of(TungsteniteFrame::ping(b"p".to_vec()));
    assert!(matches!(
        Frames::frame(&ping),
        Frame::Complete {
            event: WsEvent::Other("a WebSocket ping"),
            ..
        }
    ));
    let binary = frame_of(TungsteniteFrame::message(
        b"b".to_vec(),
        OpCode::Data(Data::Binary),
        true,
    ));
    assert!(matches!(
        Frames::frame(&binary),
        Frame::Complete {
            event: WsEvent::Other("a binary frame"),
            ..
        }
    ));
    let mut masked = Vec::new();
    push_text(&mut masked, b"PING x");
    assert_eq!(
        Frames::frame(&masked),
        Frame::Invalid("a masked frame from the server")
    );
    let first_part = frame_of(TungsteniteFrame::message(
        b"half".to_vec(),
        OpCode::Data(Data::Text),
        false,
    ));
    assert_eq!(
        Frames::frame(&first_part),
        Frame::Invalid("a fragmented message, where each line is one frame")
    );
    assert_eq!(
        Frames::frame(&[0x83, 0]),
        Frame::Invalid("a WebSocket frame with a reserved opcode")
    );
}

/// A server that reads one upgrade request and answers what `answer` makes of its key, in
/// one write.
fn fake_server(answer: fn(&str) -> Vec<u8>) -> (SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut request = BufReader::new(&stream);
        let mut key = String::new();
        loop {
            let mut line = String::new();
            request.read_line(&mut line).unwrap();
            if let Some(value) = line.strip_prefix("Sec-WebSocket-Key: ") {
                key = value.trim().to_owned();
            }
            if line == "\r\n" {
                break;
            }
        }
        (&stream).write_all(&answer(&key)).unwrap();
        // Until the client hangs up.
        let _ = (&stream).read(&mut [0u8; 16]);
    });
    (addr, server)
}

#[test]
fn the_bytes_after_the_upgrade_s_answer_are_the_first_frames() {
    let (addr, server) = fake_server(|key| {
        let mut answer = format!(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Accept: {}\r\n\r\n",
            derive_accept_key(key.as_bytes())
        )
        .into_bytes();
        answer.extend(server_text("HELLO chatd 1"));
        answer
    });
    let stream = TcpStream::connect(addr).unwrap();
    let leftover = upgrade(&stream, addr, Instant::now() + IO_TIMEOUT).unwrap();
    assert_eq!(leftover, server_text("HELLO chatd 1"));
    drop(stream);
    server.join().unwrap();
}

#[test]
fn an_upgrade_refused_or_badly_accepted_is_an_error() {
    let (addr, server) =
        fake_server(|_| b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n".to_vec());
    let stream = TcpStream::connect(addr).unwrap();
    let error = upgrade(&stream, addr, Instant::now() + IO_TIMEOUT).unwrap_err();
    assert!(
        error.to_string().contains("answered 403 Forbidden"),
        "{error}"
    );
    drop(stream);
    server.join().unwrap();

    let (addr, server) = fake_server(|_| {
        b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope\r\n\r\n".to_vec()
    });
    let stream = TcpStream::connect(addr).unwrap();
    let error = upgrade(&stream, addr, Instant::now() + IO_TIMEOUT).unwrap_err();
    assert!(
        error.to_string().contains("wrong Sec-WebSocket-Accept"),
        "{error}"
    );
    drop(stream);
    server.join().unwrap();
}
