//! What each line (or a peer's frame) that a reader finds means: a delivery to check and
//! time, a barrier's `PONG`, a `JOIN`, a slow consumer's `QUIT`, or a line that should not
//! be there.
//!
//! In scope: [`Arrival`], the context of the lines of one read, and [`find_newline`].
//! Out of scope: reading and splitting the bytes (`reader`; a peer's frames, `dialect`; a
//! WebSocket's, `websocket`) and the types of a reader's clients (`conn`).
//!
//! `ALL`, `MSG` and room `MSG` deliveries are matched on bytes here rather than with
//! `protocol::Reply::parse`, which allocates two strings a line: the generator must cost far
//! less than the server per line. A unit test holds the two in agreement. Every other line
//! is rare and goes through `Reply::parse`.

use std::time::Instant;

use crossbeam_channel::Sender;

use super::conn::{Conn, Route, Rules, Sink, Tally};
use crate::loadgen::board::{Barrier, Board, Notice};
use crate::loadgen::check::ReceiverCheck;
use crate::loadgen::dialect::Peer;
use crate::loadgen::dialect::frame::Event as PeerEvent;
use crate::loadgen::payload::Stamp;
use chatd_proto::{Reply, reason};

/// The context of the lines from one read.
pub(super) struct Arrival<'a> {
    pub rules: &'a Rules,
    pub notices: &'a Sender<Notice>,
    pub sink: &'a mut Sink,
    /// Where a peer's `PING` is answered.
    pub board: &'a Board,
    pub now: Instant,
    /// `now` in microseconds since the board's epoch, as payloads stamp their send time.
    pub now_us: u64,
}

impl Arrival<'_> {
    /// One of chatd's lines, without its line ending, for `conn`.
    pub(super) fn line(&mut self, conn: &mut Conn, tally: &mut Tally, line: &[u8]) {
        if let Some(rest) = line.strip_prefix(b"ALL ") {
            self.delivery(conn, tally, rest);
        } else if let Some(rest) = line.strip_prefix(b"MSG ") {
            // Nicks never start with `#`.
            if rest.first() == Some(&b'#') {
                self.room_delivery(conn, tally, rest);
            } else {
                self.delivery(conn, tally, rest);
            }
        } else {
            self.control(conn, tally, line);
        }
    }

    /// `#room <from> <payload>` of a room's `MSG` line: the room must be the receiver's.
    fn room_delivery(&mut self, conn: &mut Conn, tally: &mut Tally, rest: &[u8]) {
        let Some((route, check)) = &mut conn.check else {
            tally.note_unexpected(rest);
            return;
        };
        let space = rest.iter().position(|&b| b == b' ');
        let room = space.and_then(|space| self.rules.naming.room_index_of(&rest[..space]));
        match (space, *route) {
            (Some(space), Route::Room { room: mine, .. }) if room == Some(mine) => {
                self.delivery(conn, tally, &rest[space + 1..]);
            }
            _ => check.corrupt(),
        }
    }

    /// `<from> <payload>` of an `ALL` or `MSG` line.
    fn delivery(&mut self, conn: &mut Conn, tally: &mut Tally, rest: &[u8]) {
        let Some((route, check)) = &mut conn.check else {
            tally.note_unexpected(rest);
            return;
        };
        let Some(space) = rest.iter().position(|&b| b == b' ') else {
            check.corrupt();
            return;
        };
        let (nick, payload) = (&rest[..space], &rest[space + 1..]);
        let Some(from) = self.rules.naming.index_of(nick) else {
            tally.foreign += 1;
            return;
        };
        match self.rules.codec.decode(payload) {
            Ok(stamp) if stamp.sender == from => self.record(*route, check, stamp),
            _ => check.corrupt(),
        }
    }

    /// A delivery that decoded: checked, counted, and timed.
    fn record(&mut self, route: Route, check: &mut ReceiverCheck, stamp: Stamp) {
        check.delivery(route.slot(stamp.sender), stamp.seq);
        self.sink.unpublished += 1;
        self.sink.last_delivery = Some(self.now);
        if self
            .rules
            .latency_from_us
            .is_some_and(|from| stamp.sent_us >= from)
        {
            let latency = self.now_us.saturating_sub(stamp.sent_us);
            self.sink.latency.saturating_record(latency);
        }
    }

    /// One frame from a peer.
    pub(super) fn event(
        &mut self,
        peer: Peer,
        conn: &mut Conn,
        tally: &mut Tally,
        pongs_seen: &mut usize,
        event: PeerEvent<'_>,
    ) {
        match event {
            PeerEvent::Delivery { channel, payload } => {
                self.published(peer, conn, tally, channel, payload);
            }
            PeerEvent::Pong(token) => {
                let barrier = match token {
                    Some(token) => std::str::from_utf8(token)
                        .ok()
                        .and_then(Barrier::from_token),
                    None => {
                        *pongs_seen += 1;
                        conn.pongs.get(*pongs_seen - 1).copied()
                    }
                };
                let client = conn.index;
                let _ = match barrier {
                    Some(Barrier::Registered) => self.notices.send(Notice::Registered(client)),
                    Some(barrier) => self.notices.send(Notice::Pong { client, barrier }),
                    None => {
                        tally.note_unexpected(b"PONG (no PING of a barrier was waiting)");
                        Ok(())
                    }
                };
            }
            PeerEvent::ServerPing => {
                // A write that fails shows on the read side as the connection's end.
                if let Some(pong) = peer.pong() {
                    let _ = self.board.write(conn.index, || conn.stream.write_all(pong));
                }
            }
            PeerEvent::Subscribed | PeerEvent::Ignored => {}
            PeerEvent::Error(text) | PeerEvent::Other(text) => tally.note_unexpected(text),
        }
    }

    /// A peer's message on `channel`: it must be one the receiver's route listens on.
    fn published(
        &mut self,
        peer: Peer,
        conn: &mut Conn,
        tally: &mut Tally,
        channel: &[u8],
        payload: &[u8],
    ) {
        let Some((route, check)) = &mut conn.check else {
            tally.note_unexpected(payload);
            return;
        };
        let naming = &self.rules.naming;
        let heard = match *route {
            Route::Broadcast { .. } => channel == naming.lobby_channel().as_bytes(),
            Route::Partner(_) => naming.index_of(channel) == Some(conn.index),
            Route::Room { room, .. } => naming.room_index_of_channel(channel) == Some(room),
        };
        if !heard {
            check.corrupt();
            return;
        }
        match self.rules.codec.decode(payload) {
            Ok(stamp) if stamp.sender == conn.index && peer.echoes_own_messages() => {}
            Ok(stamp) => self.record(*route, check, stamp),
            Err(_) => check.corrupt(),
        }
    }

    /// Every line that is not a delivery.
    fn control(&mut self, conn: &Conn, tally: &mut Tally, line: &[u8]) {
        let Ok(text) = std::str::from_utf8(line) else {
            tally.note_unexpected(line);
            return;
        };
        let ours = |nick: &chatd_proto::Nick| self.rules.naming.index_of(nick.as_str().as_bytes());
        match Reply::parse(text) {
            Ok(Reply::Hello { .. }) => {}
            Ok(Reply::OkNick(nick)) if ours(&nick) == Some(conn.index) => {
                let _ = self.notices.send(Notice::Registered(conn.index));
            }
            Ok(Reply::Join(nick)) => match ours(&nick) {
                Some(_) => {
                    tally.joins += 1;
                    self.sink.unpublished += 1;
                    self.sink.last_join = Some(self.now);
                }
                None => tally.foreign += 1,
            },
            Ok(Reply::Pong { token: Some(token) }) if Barrier::from_token(&token).is_some() => {
                let barrier = Barrier::from_token(&token).expect("checked in the guard");
                let client = conn.index;
                let _ = self.notices.send(Notice::Pong { client, barrier });
            }
            // Someone else's client in one of this run's rooms, on a shared server.
            Ok(Reply::RoomJoin { nick, .. } | Reply::RoomPart { nick, .. })
                if ours(&nick).is_none() =>
            {
                tally.foreign += 1;
            }
            Ok(Reply::Quit { nick, reason }) => match ours(&nick) {
                Some(index) if reason.as_deref() == Some(reason::SLOW_CONSUMER) => {
                    tally.slow_quits.push(index);
                }
                Some(_) => tally.note_unexpected(line),
                None => tally.foreign += 1,
            },
            _ => tally.note_unexpected(line),
        }
    }
}

/// The position of the first `\n`, eight bytes at a time: every byte read is scanned once,
/// the hottest loop of a reader. On `word ^ "\n\n\n\n\n\n\n\n"`, `(x - 0x01..) & !x & 0x80..` marks
/// the zero bytes; a borrow can also mark bytes after a zero, never before, so the lowest
/// mark is the first newline.
pub(super) fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut chunks = bytes.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes")) ^ NEWLINES;
        let marks = word.wrapping_sub(ONES) & !word & HIGHS;
        if marks != 0 {
            return Some(at + (marks.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = chunks.remainder().iter().position(|&b| b == b'\n');
    tail.map(|i| at + i)
}
