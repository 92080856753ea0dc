//! Unit tests of `reader`: finding newlines, matching deliveries as the protocol spells
//! them, checking room lines against the receiver's room, and reading a peer's frames and
//! chatd's WebSocket frames.

use std::net::TcpStream;

use super::*;
use crate::loadgen::board::Barrier;
use crate::loadgen::check::ReceiverCheck;
use crate::loadgen::client::Naming;
use crate::loadgen::payload::{Codec, Stamp};
use crate::loadgen::tls::Link;
use chatd_proto::{Nick, Reply};

#[test]
fn newlines_are_found_where_a_plain_search_finds_them() {
    let mut bytes = Vec::new();
    // A cheap deterministic mix of newlines, bytes just around '\n', and high bytes.
    let mut x = 12345u32;
    for _ in 0..4000 {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
        bytes.push([b'\n', 9, 11, 0, 0x8a, b'a', 0xff, b'\n' + 0x80][(x >> 16) as usize % 8]);
    }
    for start in 0..bytes.len() {
        for len in [0, 1, 7, 8, 9, 15, 16, 17, 64] {
            let slice = &bytes[start..(start + len).min(bytes.len())];
            let plain = slice.iter().position(|&b| b == b'\n');
            assert_eq!(find_newline(slice), plain, "{slice:?}");
        }
    }
    assert_eq!(find_newline(b"ALL b000001n3 0003....\nALL"), Some(22));
}

/// The byte matching of deliveries agrees with `Reply::parse` on what `Reply` formats.
#[test]
fn deliveries_are_matched_as_the_protocol_spells_them() {
    let from = Nick::parse("b00000an3").unwrap();
    let text = "0003000000010000000000aa5b......".to_owned();
    for reply in [
        Reply::All {
            from: from.clone(),
            text: text.clone(),
        },
        Reply::Msg {
            from: from.clone(),
            text: text.clone(),
        },
    ] {
        let line = reply.to_line();
        let line = line.trim_end_matches('\n').as_bytes();
        let rest = line
            .strip_prefix(b"ALL ")
            .or_else(|| line.strip_prefix(b"MSG "))
            .expect("a delivery");
        let space = rest.iter().position(|&b| b == b' ').unwrap();
        assert_eq!(&rest[..space], from.as_str().as_bytes());
        assert_eq!(&rest[space + 1..], text.as_bytes());
        assert_eq!(Reply::parse(std::str::from_utf8(line).unwrap()), Ok(reply));
    }
}

/// A room's lines count for a member of that room only, from the room's senders only.
#[test]
fn room_lines_are_checked_against_the_receiver_s_room() {
    let naming = Naming::with_tag(0xa);
    let codec = Codec::new(32).unwrap();
    let rules = Arc::new(Rules {
        dialect: Dialect::Chatd,
        naming: naming.clone(),
        codec,
        latency_from_us: None,
    });
    let board = Arc::new(Board::new(8, Instant::now()));
    let (notices, _) = crossbeam_channel::unbounded();
    let mut reader = Reader::new(&rules, &board, &notices);
    let (stream, _server) = socket_pair();
    // Client 6 is in room 1 (clients 4..8), whose senders are clients 4 and 5.
    let route = Route::Room {
        room: 1,
        first: 4,
        senders: 2,
    };
    reader.conns.push(conn_state(6, stream, Some(route), &[]));
    let line = |room: u32, from: u32, seq: u32| {
        let mut text = String::new();
        let stamp = crate::loadgen::payload::Stamp {
            sender: from,
            seq,
            sent_us: 0,
        };
        codec.encode(stamp, &mut text);
        Reply::RoomMsg {
            room: chatd_proto::Room::parse(&naming.room(room)).unwrap(),
            from: Nick::parse(&naming.nick(from)).unwrap(),
            text,
        }
        .to_line()
    };
    let stranger = Nick::parse("alice").unwrap();
    let room1 = chatd_proto::Room::parse(&naming.room(1)).unwrap();
    let bytes = [
        line(1, 4, 0),
        line(1, 5, 0),
        line(1, 4, 1),
        // Another room's line, and a member of the room that is not a sender.
        line(0, 4, 2),
        line(1, 7, 0),
        format!("MSG {room1} alice hi\n"),
        Reply::RoomJoin {
            room: room1.clone(),
            nick: stranger,
        }
        .to_line(),
        Reply::RoomJoin {
            room: room1,
            nick: Nick::parse(&naming.nick(7)).unwrap(),
        }
        .to_line(),
    ]
    .concat();
    reader.consume(0, bytes.as_bytes(), Instant::now()).unwrap();
    let state = reader.conns.pop().unwrap();
    let (_, check) = state.conn.check.unwrap();
    let (counts, order) = check.finish(|_| 2);
    assert_eq!(counts.received, 3);
    assert_eq!(counts.corrupt, 2);
    assert_eq!(counts.lost, 1);
    let ids = [(0, 0), (1, 0), (0, 1)].map(|(s, q)| crate::loadgen::check::message_id(s, q));
    assert_eq!(order.unwrap(), ids);
    assert_eq!(state.tally.foreign, 2);
    // This run's own clients join no room during a run.
    assert_eq!(state.tally.unexpected, 1);
}

/// A connected client socket and the server's end of it.
fn socket_pair() -> (TcpStream, TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (client, server)
}

fn conn_state(
    index: u32,
    stream: TcpStream,
    route: Option<Route>,
    pongs: &'static [Barrier],
) -> ConnState {
    ConnState {
        conn: Conn {
            index,
            stream: Arc::new(Link::plain(stream)),
            transport: Transport::Tcp,
            leftover: Vec::new(),
            check: route.map(|route| (route, ReceiverCheck::new(route.slots(), true))),
            pongs,
        },
        carry: Vec::new(),
        tally: Tally::default(),
        pongs_seen: 0,
    }
}

/// The payload of line `seq` of client `sender`.
fn payload(codec: Codec, sender: u32, seq: u32) -> Vec<u8> {
    let mut text = String::new();
    let stamp = Stamp {
        sender,
        seq,
        sent_us: 0,
    };
    codec.encode(stamp, &mut text);
    text.into_bytes()
}

/// What one peer connection's reader made of `bytes`, read in pieces of every size from 1
/// byte up: the client's counts, tally and the notices it sent, the same for every split.
fn read_in_pieces(
    peer: Peer,
    index: u32,
    route: Route,
    pongs: &'static [Barrier],
    naming: &Naming,
    bytes: &[u8],
) -> (crate::loadgen::check::Counts, Tally, Vec<Notice>) {
    let codec = Codec::new(32).unwrap();
    let rules = Arc::new(Rules {
        dialect: Dialect::Peer(peer),
        naming: naming.clone(),
        codec,
        latency_from_us: None,
    });
    let mut seen = None;
    for piece in [1, 2, 3, 5, 8, 13, 64, 1000, bytes.len()] {
        let board = Arc::new(Board::with_write_gates(8, Instant::now()));
        let (notify, notices) = crossbeam_channel::unbounded();
        let mut reader = Reader::new(&rules, &board, &notify);
        let (stream, _server) = socket_pair();
        reader
            .conns
            .push(conn_state(index, stream, Some(route), pongs));
        for chunk in bytes.chunks(piece) {
            reader.consume(0, chunk, Instant::now()).unwrap();
        }
        let state = reader.conns.pop().unwrap();
        assert!(state.carry.is_empty(), "pieces of {piece}");
        let (_, check) = state.conn.check.unwrap();
        let (counts, _) = check.finish(|slot| if slot == index as usize { 0 } else { 2 });
        let got = (counts, state.tally, notices.try_iter().collect::<Vec<_>>());
        match &seen {
            None => seen = Some(got),
            Some(first) => assert_eq!(&got, first, "pieces of {piece}"),
        }
    }
    seen.unwrap()
}

/// Redis: deliveries are lobby pushes; a client's own messages come back and are dropped,
/// `PUBLISH`'s counts are skipped, and a `PING`'s token says which barrier it answers.
#[test]
fn redis_frames_are_checked_wherever_the_reads_end() {
    let naming = Naming::with_tag(0xc);
    let codec = Codec::new(32).unwrap();
    let lobby = naming.lobby_channel().as_bytes();
    let push = |channel: &[u8], sender: u32, seq: u32| {
        let mut bytes = b">3\r\n$7\r\nmessage\r\n".to_vec();
        for part in [channel, &payload(codec, sender, seq)] {
            bytes.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
            bytes.extend_from_slice(part);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes
    };
    // Client 1 of a fan-out whose senders are clients 0 and 1.
    let bytes = [
        push(lobby, 0, 0),
        push(lobby, 1, 0),
        b":8\r\n".to_vec(),
        push(lobby, 0, 1),
        push(lobby, 1, 1),
        b":8\r\n$10\r\nbench-sent\r\n".to_vec(),
        // Another run's lobby, and garbage in a payload.
        push(b"b00000dall", 0, 2),
        b">3\r\n$7\r\nmessage\r\n$10\r\nb00000call\r\n$2\r\nhi\r\n".to_vec(),
        b"-ERR something\r\n$11\r\nbench-drain\r\n".to_vec(),
    ]
    .concat();
    let route = Route::Broadcast { senders: 2 };
    let (counts, tally, notices) = read_in_pieces(Peer::Redis, 1, route, &[], &naming, &bytes);
    assert_eq!((counts.received, counts.lost, counts.duplicated), (2, 0, 0));
    assert_eq!(counts.corrupt, 2);
    assert_eq!(tally.unexpected, 1);
    assert_eq!(tally.first_unexpected.as_deref(), Some("ERR something"));
    assert_eq!(
        notices,
        [Barrier::Sent, Barrier::Drain].map(|barrier| Notice::Pong { client: 1, barrier })
    );
}

/// NATS: subjects are checked against the receiver's route, bare `PONG`s answer the
/// barriers in the order they were sent, and the server's `PING` is answered on the socket.
#[test]
fn nats_frames_are_checked_and_its_pings_answered() {
    let naming = Naming::with_tag(0xd);
    let codec = Codec::new(32).unwrap();
    let msg = |subject: &str, sender: u32, seq: u32| {
        let mut bytes = format!("MSG {subject} 1 32\r\n").into_bytes();
        bytes.extend_from_slice(&payload(codec, sender, seq));
        bytes.extend_from_slice(b"\r\n");
        bytes
    };
    // Client 3, the partner of client 2.
    let own = naming.nick(3);
    let bytes = [
        b"INFO {\"server_id\":\"N\"} \r\n".to_vec(),
        msg(&own, 2, 0),
        msg(&own, 2, 1),
        b"PONG\r\n".to_vec(),
        // Someone else's channel, and a line from a client that is not the partner.
        msg(&naming.nick(4), 2, 2),
        msg(&own, 5, 0),
        b"PONG\r\nPONG\r\n".to_vec(),
    ]
    .concat();
    let pongs = &[Barrier::Sent, Barrier::Drain];
    let route = Route::Partner(2);
    let (counts, tally, notices) = read_in_pieces(Peer::Nats, 3, route, pongs, &naming, &bytes);
    assert_eq!((counts.received, counts.lost, counts.corrupt), (2, 0, 2));
    assert_eq!(tally.unexpected, 1, "a PONG no barrier waited for");
    assert_eq!(
        notices,
        [Barrier::Sent, Barrier::Drain].map(|barrier| Notice::Pong { client: 3, barrier })
    );

    // The server's PING is answered with PONG, through the board's write gate.
    let rules = Arc::new(Rules {
        dialect: Dialect::Peer(Peer::Nats),
        naming: naming.clone(),
        codec,
        latency_from_us: None,
    });
    let board = Arc::new(Board::with_write_gates(8, Instant::now()));
    let (notify, _notices) = crossbeam_channel::unbounded();
    let mut reader = Reader::new(&rules, &board, &notify);
    let (stream, mut server) = socket_pair();
    reader.conns.push(conn_state(3, stream, Some(route), pongs));
    reader.consume(0, b"PI", Instant::now()).unwrap();
    reader.consume(0, b"NG\r\n", Instant::now()).unwrap();
    let mut answer = [0u8; 6];
    server
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    std::io::Read::read_exact(&mut server, &mut answer).unwrap();
    assert_eq!(&answer, b"PONG\r\n");
    // A stream that is not the protocol cannot be followed.
    let garbage = reader.consume(0, b"MSG x 1 2\r\nabc\r\n", Instant::now());
    assert_eq!(
        garbage,
        Err("NATS sent what is not its protocol: a payload longer than its byte count".to_owned())
    );
}

/// Over WebSocket each text frame is one line, wherever the reads end: deliveries are
/// checked (a gap is a lost line), barriers answered, and the server's close frame ends the
/// connection with its reason.
#[test]
fn websocket_frames_are_lines_wherever_the_reads_end() {
    let naming = Naming::with_tag(0xe);
    let codec = Codec::new(32).unwrap();
    let rules = Arc::new(Rules {
        dialect: Dialect::Chatd,
        naming: naming.clone(),
        codec,
        latency_from_us: None,
    });
    let all = |sender: u32, seq: u32| {
        let text = String::from_utf8(payload(codec, sender, seq)).unwrap();
        websocket::server_text(&format!("ALL {} {text}", naming.nick(sender)))
    };
    // Client 2 of a fan-out whose senders are clients 0 and 1; sender 0's line 1 is missing.
    let bytes = [
        websocket::server_text("HELLO chatd 1"),
        all(0, 0),
        all(1, 0),
        all(0, 2),
        all(1, 1),
        websocket::server_text("PONG bench-drain"),
    ]
    .concat();
    for piece in [1, 2, 5, 64, bytes.len()] {
        let board = Arc::new(Board::new(3, Instant::now()));
        let (notify, notices) = crossbeam_channel::unbounded();
        let mut reader = Reader::new(&rules, &board, &notify);
        let (stream, _server) = socket_pair();
        let mut state = conn_state(2, stream, Some(Route::Broadcast { senders: 2 }), &[]);
        state.conn.transport = Transport::WebSocket;
        reader.conns.push(state);
        for chunk in bytes.chunks(piece) {
            reader.consume(0, chunk, Instant::now()).unwrap();
        }
        assert_eq!(board.received(2), 4, "pieces of {piece}");
        let close = websocket::server_close(1000, "closed by the server");
        assert_eq!(
            reader.consume(0, &close, Instant::now()),
            Err("the server closed the WebSocket (1000 closed by the server)".to_owned())
        );
        let state = reader.conns.pop().unwrap();
        assert_eq!(state.tally, Tally::default(), "pieces of {piece}");
        let (_, check) = state.conn.check.unwrap();
        let (counts, _) = check.finish(|slot| [3, 2][slot]);
        assert_eq!((counts.received, counts.lost, counts.corrupt), (4, 1, 0));
        let pong = Notice::Pong {
            client: 2,
            barrier: Barrier::Drain,
        };
        assert_eq!(notices.try_iter().collect::<Vec<_>>(), [pong]);
    }
}
