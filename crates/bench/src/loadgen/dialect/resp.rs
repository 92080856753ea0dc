//! Redis's wire protocol, RESP3, as far as a pub/sub client needs it: the commands the
//! generator sends (`HELLO 3`, `SUBSCRIBE`, `PUBLISH`, `PING token`) and the frames it reads.
//!
//! In scope: encoding those commands as RESP arrays of bulk strings, and reading any RESP3
//! value as one frame ([`Resp`]), honouring every bulk length. Pure.
//! Out of scope: when each is sent (`client`, `sender`) and what a reader does with a frame.
//!
//! Why RESP3: after `HELLO 3` a subscribed connection may still send any command, so a
//! client sends its `PUBLISH`es and its barrier `PING`s on the connection it receives on,
//! as a chatd client does, and each client costs the server one connection. Its deliveries
//! are pushes, `>3 message <channel> <payload>`; a `PUBLISH` is answered `:<subscribers>`
//! on the same connection (skipped), and `PING <token>` with the token as a bulk string.

use crate::loadgen::dialect::frame::{Event, Frame, Framing, push_decimal};

/// A delivery push up to its channel's length: everything before varies.
const MESSAGE: &[u8] = b">3\r\n$7\r\nmessage\r\n";
/// The longest simple line (`+OK`, `-ERR ...`, a length) the generator accepts.
const MAX_LINE: usize = 64 * 1024;
/// How deep aggregates may nest: Redis's own replies nest a few levels at most.
const MAX_DEPTH: usize = 16;

/// Appends `args` as one command: an array of bulk strings.
pub fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.push(b'*');
    push_decimal(out, args.len());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        out.push(b'$');
        push_decimal(out, arg.len());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

/// `HELLO 3`, then one `SUBSCRIBE` of `channels` (if any).
pub fn handshake(out: &mut Vec<u8>, channels: &[&[u8]]) {
    command(out, &[b"HELLO", b"3"]);
    if !channels.is_empty() {
        let mut args: Vec<&[u8]> = vec![b"SUBSCRIBE"];
        args.extend_from_slice(channels);
        command(out, &args);
    }
}

pub fn publish(out: &mut Vec<u8>, channel: &[u8], payload: &[u8]) {
    command(out, &[b"PUBLISH", channel, payload]);
}

pub fn ping(out: &mut Vec<u8>, token: &[u8]) {
    command(out, &[b"PING", token]);
}

/// The frames of a RESP3 connection: one top-level value each (an attribute counts as a
/// frame of its own, skipped).
pub struct Resp;

/// `Ok(None)`: more bytes are needed.
type Parsed<T> = Result<Option<T>, &'static str>;

impl Framing for Resp {
    type Event<'a> = Event<'a>;

    fn frame(bytes: &[u8]) -> Frame<Event<'_>> {
        let parsed = match bytes.first() {
            None => Ok(None),
            Some(b'>') if bytes.starts_with(MESSAGE) => message(bytes),
            // A delivery push cut short: no other push starts the same way.
            Some(b'>') if MESSAGE.starts_with(bytes) => Ok(None),
            Some(b':') => line(bytes, 1).map(|line| line.map(|(_, end)| (end, Event::Ignored))),
            Some(b'$') => bulk(bytes, 0).map(|bulk| {
                bulk.map(|(token, end)| match token {
                    Some(token) => (end, Event::Pong(Some(token))),
                    None => (end, Event::Other(&bytes[..end])),
                })
            }),
            Some(_) => other(bytes),
        };
        match parsed {
            Ok(Some((len, event))) => Frame::Complete { len, event },
            Ok(None) => Frame::Incomplete,
            Err(why) => Frame::Invalid(why),
        }
    }
}

/// `>3 message <channel> <payload>`, which `bytes` starts with up to the channel.
fn message(bytes: &[u8]) -> Parsed<(usize, Event<'_>)> {
    let Some((channel, at)) = bulk(bytes, MESSAGE.len())? else {
        return Ok(None);
    };
    let Some((payload, end)) = bulk(bytes, at)? else {
        return Ok(None);
    };
    match (channel, payload) {
        (Some(channel), Some(payload)) => Ok(Some((end, Event::Delivery { channel, payload }))),
        _ => Err("a message push with a null channel or payload"),
    }
}

/// Any value but a delivery, a count or a bulk string: its length, and what it means.
fn other(bytes: &[u8]) -> Parsed<(usize, Event<'_>)> {
    let Some(end) = value_end(bytes, 0, 0)? else {
        return Ok(None);
    };
    let whole = &bytes[..end];
    let text = || &whole[1..end - 2];
    let event = match bytes[0] {
        b'-' => Event::Error(text()),
        b'!' => Event::Error(whole),
        b'+' if text() == b"PONG" => Event::Pong(None),
        b'+' | b'%' | b'|' => Event::Ignored,
        b'>' if first_bulk(bytes) == Some(b"subscribe") => Event::Subscribed,
        _ => Event::Other(whole),
    };
    Ok(Some((end, event)))
}

/// The first element of the aggregate at the start of `bytes`, if it is a bulk string.
fn first_bulk(bytes: &[u8]) -> Option<&[u8]> {
    let (_, at) = line(bytes, 1).ok()??;
    bulk(bytes, at).ok()??.0
}

/// The line that starts at `at` (after its type byte, if any): its text and where the
/// next value starts.
fn line(bytes: &[u8], at: usize) -> Parsed<(&[u8], usize)> {
    let rest = bytes.get(at..).unwrap_or_default();
    match rest.iter().position(|&b| b == b'\n') {
        Some(end) if end >= 1 && rest[end - 1] == b'\r' => {
            Ok(Some((&rest[..end - 1], at + end + 1)))
        }
        Some(_) => Err("a line that does not end in CRLF"),
        None if rest.len() > MAX_LINE => Err("a line longer than 64 KiB"),
        None => Ok(None),
    }
}

/// The length or count in a `$`, `*` (and so on) line: `-1` is null.
fn length(digits: &[u8]) -> Result<Option<usize>, &'static str> {
    if digits == b"-1" {
        return Ok(None);
    }
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return Err("a bad length");
    }
    let value = digits
        .iter()
        .fold(0usize, |acc, &d| acc * 10 + usize::from(d - b'0'));
    Ok(Some(value))
}

/// The bulk string `$<n>\r\n<n bytes>\r\n` at `at` (`None` inside for a null one) and where
/// the next value starts; its `n` bytes are taken as they are, whatever they hold.
fn bulk(bytes: &[u8], at: usize) -> Parsed<(Option<&[u8]>, usize)> {
    match bytes.get(at) {
        None => return Ok(None),
        Some(b'$') => {}
        Some(_) => return Err("not a bulk string where one belongs"),
    }
    let Some((digits, start)) = line(bytes, at + 1)? else {
        return Ok(None);
    };
    let Some(len) = length(digits)? else {
        return Ok(Some((None, start)));
    };
    let end = start + len;
    if bytes.len() < end + 2 {
        return Ok(None);
    }
    if &bytes[end..end + 2] != b"\r\n" {
        return Err("a bulk string longer than its length");
    }
    Ok(Some((Some(&bytes[start..end]), end + 2)))
}

/// Where the value at `at` ends.
fn value_end(bytes: &[u8], at: usize, depth: usize) -> Parsed<usize> {
    if depth > MAX_DEPTH {
        return Err("values nested too deep");
    }
    let Some(&kind) = bytes.get(at) else {
        return Ok(None);
    };
    if matches!(kind, b'$' | b'!' | b'=') {
        let Some((head, start)) = line(bytes, at + 1)? else {
            return Ok(None);
        };
        let Some(len) = length(head)? else {
            return Ok(Some(start));
        };
        let end = start + len + 2;
        return match bytes.get(end - 2..end) {
            None => Ok(None),
            Some(b"\r\n") => Ok(Some(end)),
            Some(_) => Err("a bulk string longer than its length"),
        };
    }
    let Some((head, mut next)) = line(bytes, at + 1)? else {
        return Ok(None);
    };
    let elements = match kind {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => return Ok(Some(next)),
        b'*' | b'~' | b'>' => length(head)?.unwrap_or(0),
        b'%' | b'|' => 2 * length(head)?.unwrap_or(0),
        _ => return Err("not a RESP type"),
    };
    for _ in 0..elements {
        let Some(end) = value_end(bytes, next, depth + 1)? else {
            return Ok(None);
        };
        next = end;
    }
    Ok(Some(next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::dialect::frame::assert_every_cut_short_frame_is_incomplete;

    fn frame(bytes: &[u8]) -> Frame<Event<'_>> {
        Resp::frame(bytes)
    }

    fn complete(bytes: &[u8]) -> Event<'_> {
        match frame(bytes) {
            Frame::Complete { len, event } if len == bytes.len() => event,
            other => panic!("{other:?} for {:?}", String::from_utf8_lossy(bytes)),
        }
    }

    /// What Redis 7.0 sent a client that ran `HELLO 3`, `SUBSCRIBE lob own`, `PING tok1`,
    /// `PUBLISH lob hello` and `PING tok2`, byte for byte.
    const SESSION: &[u8] =
        b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
        $5\r\nproto\r\n:3\r\n$2\r\nid\r\n:3\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n\
        $6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n\
        >3\r\n$9\r\nsubscribe\r\n$3\r\nlob\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$3\r\nown\r\n:2\r\n\
        $4\r\ntok1\r\n>3\r\n$7\r\nmessage\r\n$3\r\nlob\r\n$5\r\nhello\r\n:1\r\n$4\r\ntok2\r\n";

    fn events(mut bytes: &[u8]) -> Vec<Event<'_>> {
        let mut events = Vec::new();
        while let Frame::Complete { len, event } = frame(bytes) {
            events.push(event);
            bytes = &bytes[len..];
        }
        assert!(
            bytes.is_empty(),
            "left: {:?}",
            String::from_utf8_lossy(bytes)
        );
        events
    }

    #[test]
    fn a_real_session_reads_as_the_generator_needs_it() {
        assert_eq!(
            events(SESSION),
            [
                Event::Ignored,
                Event::Subscribed,
                Event::Subscribed,
                Event::Pong(Some(b"tok1".as_slice())),
                Event::Delivery {
                    channel: b"lob",
                    payload: b"hello"
                },
                Event::Ignored,
                Event::Pong(Some(b"tok2".as_slice())),
            ]
        );
    }

    #[test]
    fn every_cut_short_frame_is_incomplete() {
        assert_every_cut_short_frame_is_incomplete::<Resp>(SESSION);
    }

    #[test]
    fn bulk_lengths_are_honoured_whatever_the_bytes_hold() {
        // A payload that holds CRLF and what looks like RESP is taken by its length.
        let tricky = b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$8\r\n\r\n:1\r\n$0\r\n";
        assert_eq!(
            complete(tricky),
            Event::Delivery {
                channel: b"c",
                payload: b"\r\n:1\r\n$0"
            }
        );
        // A length that does not match what follows is not followed any further.
        assert_eq!(
            frame(b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$3\r\nabcd\r\n"),
            Frame::Invalid("a bulk string longer than its length")
        );
        assert_eq!(
            frame(b"$2\r\nabc\r\n"),
            Frame::Invalid("a bulk string longer than its length")
        );
        assert_eq!(frame(b"$x\r\n"), Frame::Invalid("a bad length"));
        assert_eq!(frame(b"?\r\n"), Frame::Invalid("not a RESP type"));
        assert_eq!(
            frame(b":1\n"),
            Frame::Invalid("a line that does not end in CRLF")
        );
    }

    #[test]
    fn errors_pongs_and_other_replies_are_told_apart() {
        assert_eq!(
            complete(b"-ERR unknown command 'HELLO'\r\n"),
            Event::Error(b"ERR unknown command 'HELLO'")
        );
        assert_eq!(complete(b"+PONG\r\n"), Event::Pong(None));
        assert_eq!(complete(b"+OK\r\n"), Event::Ignored);
        assert_eq!(complete(b"$-1\r\n"), Event::Other(b"$-1\r\n"));
        assert_eq!(complete(b"|1\r\n+a\r\n:1\r\n"), Event::Ignored);
        let pmessage = b">4\r\n$8\r\npmessage\r\n$1\r\n*\r\n$1\r\nc\r\n$1\r\nx\r\n";
        assert_eq!(complete(pmessage), Event::Other(pmessage));
        // RESP2's subscribed-mode pong is an array: not what a RESP3 client gets.
        let resp2 = b"*2\r\n$4\r\npong\r\n$1\r\nt\r\n";
        assert_eq!(complete(resp2), Event::Other(resp2));
        assert_eq!(
            complete(b"~2\r\n_\r\n#t\r\n"),
            Event::Other(b"~2\r\n_\r\n#t\r\n")
        );
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        let mut out = Vec::new();
        handshake(&mut out, &[b"lob", b"own"]);
        publish(&mut out, b"lob", b"0123456789");
        ping(&mut out, b"bench-sent");
        assert_eq!(
            out,
            b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n*3\r\n$9\r\nSUBSCRIBE\r\n$3\r\nlob\r\n$3\r\nown\r\n\
              *3\r\n$7\r\nPUBLISH\r\n$3\r\nlob\r\n$10\r\n0123456789\r\n\
              *2\r\n$4\r\nPING\r\n$10\r\nbench-sent\r\n"
        );
        let mut none = Vec::new();
        handshake(&mut none, &[]);
        assert_eq!(none, b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n");
    }
}
