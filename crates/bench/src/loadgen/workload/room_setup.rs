//! The set-up of a rooms run that the other workloads do not have: every client joins its
//! room, then the run waits until every line that caused has arrived, so that the measured
//! window holds only the rooms' `MSG` lines.
//!
//! In scope: [`join`] and the check of the set-up's lines. Out of scope: the rooms workload's
//! plan (`rooms`) and running it (`engine`, which calls [`join`] before the window opens).

use std::sync::Arc;
use std::time::Instant;

use crate::loadgen::client::{IO_TIMEOUT, Naming};
use crate::loadgen::tls::Link;
use crate::loadgen::transport::{Transport, Transports};
use chatd_proto::{Command, Reply, Room};

/// The `PING` token of the barrier that ends the set-up.
const SETTLED: &str = "bench-settled";
/// How long a client of several nodes waits before it asks the barrier again.
const NODES_SETTLE: std::time::Duration = std::time::Duration::from_millis(10);

/// Puts client `i` (of `streams`, all registered, each over `transports.of(i)`) into room
/// `i / members`, then waits until each client has every line the joins sent it.
/// `leftovers` are the bytes each client has read and not handled; they are replaced by what
/// is left after the set-up (normally nothing), for the client's reader.
///
/// The clients join one at a time, each waiting for its `END WHO #room`: by then its `JOIN`
/// was announced to the members before it. Once all have joined, every client is sent
/// `PING bench-settled`; its `PONG` comes after every announcement queued for it (over
/// several nodes, asked again until the client has seen its room's joins). Lines from
/// the set-up are checked on the way: each member must see the `JOIN #room` of exactly the
/// members after it.
pub(super) fn join(
    streams: &[Arc<Link>],
    leftovers: &mut [Vec<u8>],
    members: u32,
    naming: &Naming,
    transports: Transports,
) -> Result<(), String> {
    let room_of = |index: u32| {
        Room::parse(&naming.room(index / members)).map_err(|e| format!("room name: {e}"))
    };
    let mut seen = vec![0u32; streams.len()];
    // Reads `index`'s lines until `until`, counting the JOINs of its room's members.
    let mut settle = |index: u32, stream: &Link, leftover: &mut Vec<u8>, until: SetupLine| {
        let room = room_of(index)?;
        let what = match until {
            SetupLine::ListEnd => format!("END WHO {room}"),
            _ => format!("PONG {SETTLED}"),
        };
        let seen = &mut seen[index as usize];
        let transport = transports.of(index);
        let rest = read_setup(
            transport,
            stream,
            leftover,
            &what,
            |line| match SetupLine::of(line, naming, &room)? {
                SetupLine::MemberJoined(who) if who / members != index / members => {
                    Err(format!("JOIN {room} of client {who}, of another room"))
                }
                SetupLine::MemberJoined(_) => {
                    *seen += 1;
                    Ok(false)
                }
                got => Ok(got == until),
            },
        );
        *leftover = rest.map_err(|e| format!("client {index}, {room}: {e}"))?;
        // The joins it has seen so far.
        Ok::<u32, String>(*seen)
    };
    for (index, (stream, leftover)) in (0u32..).zip(streams.iter().zip(leftovers.iter_mut())) {
        let join = Command::Join {
            room: room_of(index)?,
            key: None,
        };
        let transport = transports.of(index);
        let sent = transport.send_command(stream, &join);
        sent.map_err(|e| format!("client {index}: {e}"))?;
        settle(index, stream, leftover, SetupLine::ListEnd)?;
    }
    let ping = Command::Ping {
        token: Some(SETTLED),
    };
    for (index, stream) in (0u32..).zip(streams) {
        let sent = transports.of(index).send_command(stream, &ping);
        sent.map_err(|e| format!("client {index}: {e}"))?;
    }
    let expected = |index: u32| members - 1 - index % members;
    for (index, (stream, leftover)) in (0u32..).zip(streams.iter().zip(leftovers.iter_mut())) {
        let mut joins_seen = settle(index, stream, leftover, SetupLine::Settled)?;
        // Over several nodes a `PONG` waits for nothing the client did not send: a join on
        // another node reaches this one's members when its feed reads it, so the barrier
        // is asked again until they all have (a single server's first `PONG` comes after
        // them).
        let deadline = Instant::now() + IO_TIMEOUT;
        while joins_seen < expected(index) && Instant::now() < deadline {
            std::thread::sleep(NODES_SETTLE);
            let sent = transports.of(index).send_command(stream, &ping);
            sent.map_err(|e| format!("client {index}: {e}"))?;
            joins_seen = settle(index, stream, leftover, SetupLine::Settled)?;
        }
    }
    for (index, &seen) in (0u32..).zip(&seen) {
        let expected = expected(index);
        if seen != expected {
            return Err(format!(
                "client {index} got {seen} JOIN {} lines, not {expected}",
                room_of(index)?
            ));
        }
    }
    Ok(())
}

/// [`Transport::read_until`] with a deadline of [`IO_TIMEOUT`], for a check that says why a
/// line is wrong.
fn read_setup(
    transport: Transport,
    stream: &Link,
    leftover: &mut Vec<u8>,
    what: &str,
    mut line: impl FnMut(&[u8]) -> Result<bool, String>,
) -> std::io::Result<Vec<u8>> {
    let deadline = Instant::now() + IO_TIMEOUT;
    transport.read_until(stream, std::mem::take(leftover), deadline, what, |bytes| {
        line(bytes).map_err(std::io::Error::other)
    })
}

/// A line a client may get while the rooms are set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetupLine {
    /// Nothing to act on: a lobby `JOIN` (the registrations after the client's), the
    /// client's `OK JOIN` and member list, or a line about someone else's client.
    Other,
    /// `JOIN #room <nick>` of this run's client with this index.
    MemberJoined(u32),
    /// `END WHO #room`: the client's own `JOIN` is done.
    ListEnd,
    /// The `PONG` of the set-up barrier.
    Settled,
}

impl SetupLine {
    /// What `line` means to a member of `room`; an error for a line that has no business in
    /// the set-up.
    fn of(line: &[u8], naming: &Naming, room: &Room) -> Result<SetupLine, String> {
        // Thousands of lobby JOINs per client: not worth parsing (nicks never start with #).
        if line
            .strip_prefix(b"JOIN ")
            .is_some_and(|rest| rest.first() != Some(&b'#'))
        {
            return Ok(SetupLine::Other);
        }
        let text = String::from_utf8_lossy(line);
        let ours = |nick: &chatd_proto::Nick| naming.index_of(nick.as_str().as_bytes());
        let reply = Reply::parse(&text).map_err(|_| format!("unexpected line {text:?}"))?;
        Ok(match reply {
            Reply::OkJoin(r) | Reply::RoomWho { room: r, .. } if r == *room => SetupLine::Other,
            Reply::EndRoomWho(r) if r == *room => SetupLine::ListEnd,
            Reply::RoomJoin { room: r, nick } if r == *room => match ours(&nick) {
                Some(index) => SetupLine::MemberJoined(index),
                None => SetupLine::Other,
            },
            Reply::Pong { token: Some(token) } if token == SETTLED => SetupLine::Settled,
            Reply::All { from: nick, .. }
            | Reply::Msg { from: nick, .. }
            | Reply::Quit { nick, .. }
            | Reply::NickChanged { old: nick, .. }
                if ours(&nick).is_none() =>
            {
                SetupLine::Other
            }
            _ => return Err(format!("unexpected line {text:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_up_lines_are_told_apart() {
        let naming = Naming::with_tag(0xb);
        let room = Room::parse(&naming.room(1)).unwrap();
        let of = |line: &str| SetupLine::of(line.as_bytes(), &naming, &room);
        let (r1, r2) = (naming.room(1), naming.room(2));
        let (n3, n4) = (naming.nick(3), naming.nick(4));
        assert_eq!(of(&format!("JOIN {n3}")), Ok(SetupLine::Other));
        assert_eq!(of("JOIN alice"), Ok(SetupLine::Other));
        assert_eq!(of(&format!("OK JOIN {r1}")), Ok(SetupLine::Other));
        assert_eq!(of(&format!("WHO {r1} {n3} {n4}")), Ok(SetupLine::Other));
        assert_eq!(of(&format!("END WHO {r1}")), Ok(SetupLine::ListEnd));
        assert_eq!(
            of(&format!("JOIN {r1} {n4}")),
            Ok(SetupLine::MemberJoined(4))
        );
        assert_eq!(of(&format!("JOIN {r1} alice")), Ok(SetupLine::Other));
        assert_eq!(of("PONG bench-settled"), Ok(SetupLine::Settled));
        assert_eq!(of("ALL alice hi"), Ok(SetupLine::Other));
        assert_eq!(of("QUIT alice"), Ok(SetupLine::Other));
        // Another room's lines, this run's clients' other lines, errors: the set-up failed.
        for wrong in [
            format!("OK JOIN {r2}"),
            format!("END WHO {r2}"),
            format!("JOIN {r2} {n4}"),
            format!("QUIT {n4}"),
            format!("ALL {n3} hi"),
            "ERR TOO_MANY_ROOMS you are in 32 rooms already, the most allowed".to_owned(),
            "PONG".to_owned(),
            "nonsense".to_owned(),
        ] {
            assert!(of(&wrong).is_err(), "{wrong}");
        }
    }
}
