//! The NATS client protocol, as far as a plain subscriber and publisher needs it: the lines
//! the generator sends (`CONNECT`, `SUB`, `PUB`, `PING`, `PONG`) and the frames it reads
//! (`MSG` with its payload, `PING`, `PONG`, `INFO`, `+OK`, `-ERR`).
//!
//! In scope: encoding and reading those ([`Nats`]), honouring each `MSG`'s byte count. Pure.
//! Out of scope: when each is sent (`client`, `sender`) and what a reader does with a frame.
//!
//! `CONNECT` asks for `"verbose":false` (no `+OK` after every line), `"pedantic":false`
//! and `"echo":false`: a client that publishes to a subject it is subscribed to does not get
//! its own messages back, as in chatd. `PONG` carries no token, so a reader matches the
//! answers to its `PING`s by their order. The server sends `PING`s of its own (every two
//! minutes by default) and drops a client that does not answer them.

use crate::loadgen::dialect::frame::{Event, Frame, Framing, push_decimal};

/// The longest control line the generator accepts: an `INFO` is a few hundred bytes.
const MAX_LINE: usize = 64 * 1024;

pub const CONNECT: &[u8] = b"CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false}\r\n";
pub const PING: &[u8] = b"PING\r\n";
pub const PONG: &[u8] = b"PONG\r\n";

/// `CONNECT`, then `SUB <subject> <sid>` for each of `subjects`, numbered from 1.
pub fn handshake(out: &mut Vec<u8>, subjects: &[&[u8]]) {
    out.extend_from_slice(CONNECT);
    for (sid, subject) in (1usize..).zip(subjects) {
        out.extend_from_slice(b"SUB ");
        out.extend_from_slice(subject);
        out.push(b' ');
        push_decimal(out, sid);
        out.extend_from_slice(b"\r\n");
    }
}

/// `PUB <subject> <bytes>`, then the payload on a line of its own.
pub fn publish(out: &mut Vec<u8>, subject: &[u8], payload: &[u8]) {
    out.extend_from_slice(b"PUB ");
    out.extend_from_slice(subject);
    out.push(b' ');
    push_decimal(out, payload.len());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

/// The frames of a NATS connection: a control line, and for `MSG` (and `HMSG`) the payload
/// after it.
pub struct Nats;

impl Framing for Nats {
    type Event<'a> = Event<'a>;

    fn frame(bytes: &[u8]) -> Frame<Event<'_>> {
        let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
            return if bytes.len() > MAX_LINE {
                Frame::Invalid("a line longer than 64 KiB")
            } else {
                Frame::Incomplete
            };
        };
        let line = bytes[..newline]
            .strip_suffix(b"\r")
            .unwrap_or(&bytes[..newline]);
        let after = newline + 1;
        let (op, args) = match line.iter().position(|&b| b == b' ') {
            Some(space) => (&line[..space], &line[space + 1..]),
            None => (line, &line[line.len()..]),
        };
        let event = match op {
            b"MSG" => return message(bytes, args, after),
            b"HMSG" => return with_headers(bytes, line, args, after),
            b"PING" => Event::ServerPing,
            b"PONG" => Event::Pong(None),
            b"+OK" | b"INFO" => Event::Ignored,
            b"-ERR" => Event::Error(line),
            _ => Event::Other(line),
        };
        Frame::Complete { len: after, event }
    }
}

/// `MSG <subject> <sid> [reply-to] <bytes>`, whose payload starts at `start`.
fn message<'a>(bytes: &'a [u8], args: &'a [u8], start: usize) -> Frame<Event<'a>> {
    let mut fields = args.split(|&b| b == b' ').filter(|f| !f.is_empty());
    let subject = fields.next();
    let size = fields.next_back().and_then(size);
    let (Some(subject), Some(size)) = (subject, size) else {
        return Frame::Invalid("a MSG line without a subject or a byte count");
    };
    match payload(bytes, start, size) {
        Ok(Some((payload, len))) => Frame::Complete {
            len,
            event: Event::Delivery {
                channel: subject,
                payload,
            },
        },
        Ok(None) => Frame::Incomplete,
        Err(why) => Frame::Invalid(why),
    }
}

/// `HMSG <subject> <sid> [reply-to] <header bytes> <total bytes>`: never asked for, but
/// skipped whole.
fn with_headers<'a>(
    bytes: &'a [u8],
    line: &'a [u8],
    args: &[u8],
    start: usize,
) -> Frame<Event<'a>> {
    let Some(total) = args.split(|&b| b == b' ').next_back().and_then(size) else {
        return Frame::Invalid("an HMSG line without a byte count");
    };
    match payload(bytes, start, total) {
        Ok(Some((_, len))) => Frame::Complete {
            len,
            event: Event::Other(line),
        },
        Ok(None) => Frame::Incomplete,
        Err(why) => Frame::Invalid(why),
    }
}

/// The `size` bytes at `start` and the end of their `\r\n`.
fn payload(
    bytes: &[u8],
    start: usize,
    size: usize,
) -> Result<Option<(&[u8], usize)>, &'static str> {
    let end = start + size;
    match bytes.get(end..end + 2) {
        None => Ok(None),
        Some(b"\r\n") => Ok(Some((&bytes[start..end], end + 2))),
        Some(_) => Err("a payload longer than its byte count"),
    }
}

fn size(digits: &[u8]) -> Option<usize> {
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0usize, |acc, &d| acc * 10 + usize::from(d - b'0')),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::dialect::frame::assert_every_cut_short_frame_is_incomplete;

    fn frame(bytes: &[u8]) -> Frame<Event<'_>> {
        Nats::frame(bytes)
    }

    /// What NATS 2.9 sent a client that connected, subscribed to `lob` (sid 1) and `own`
    /// (sid 2), sent two `PING`s, and got a message on each subject; then a server `PING`.
    const SESSION: &[u8] = b"INFO {\"server_id\":\"NB\",\"version\":\"2.9.10\",\"proto\":1,\
        \"headers\":true,\"max_payload\":1048576,\"client_id\":4} \r\n\
        PONG\r\nPONG\r\nMSG lob 1 3\r\nabc\r\nMSG own 2 2\r\nhi\r\nPING\r\n";

    #[test]
    fn a_real_session_reads_as_the_generator_needs_it() {
        let mut bytes = SESSION;
        let mut events = Vec::new();
        while let Frame::Complete { len, event } = frame(bytes) {
            events.push(event);
            bytes = &bytes[len..];
        }
        assert!(bytes.is_empty());
        assert_eq!(
            events,
            [
                Event::Ignored,
                Event::Pong(None),
                Event::Pong(None),
                Event::Delivery {
                    channel: b"lob",
                    payload: b"abc"
                },
                Event::Delivery {
                    channel: b"own",
                    payload: b"hi"
                },
                Event::ServerPing,
            ]
        );
    }

    #[test]
    fn every_cut_short_frame_is_incomplete() {
        assert_every_cut_short_frame_is_incomplete::<Nats>(SESSION);
    }

    #[test]
    fn byte_counts_are_honoured() {
        // A payload holding CRLF and a protocol line is taken by its count.
        let tricky = b"MSG s 1 _INBOX.x 9\r\nPING\r\n+OK\r\n";
        assert_eq!(
            frame(tricky),
            Frame::Complete {
                len: tricky.len(),
                event: Event::Delivery {
                    channel: b"s",
                    payload: b"PING\r\n+OK"
                }
            }
        );
        assert_eq!(
            frame(b"MSG s 1 2\r\nabc\r\n"),
            Frame::Invalid("a payload longer than its byte count")
        );
        assert_eq!(
            frame(b"MSG s 1 x\r\nabc\r\n"),
            Frame::Invalid("a MSG line without a subject or a byte count")
        );
        let headers = b"HMSG s 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\nPONG\r\n";
        assert_eq!(
            frame(headers),
            Frame::Complete {
                len: headers.len() - 6,
                event: Event::Other(b"HMSG s 1 12 14")
            }
        );
    }

    #[test]
    fn errors_and_unknown_lines_are_told_apart() {
        let error = b"-ERR 'Slow Consumer'\r\n";
        assert_eq!(
            frame(error),
            Frame::Complete {
                len: error.len(),
                event: Event::Error(b"-ERR 'Slow Consumer'")
            }
        );
        assert_eq!(
            frame(b"+OK\r\n"),
            Frame::Complete {
                len: 5,
                event: Event::Ignored
            }
        );
        assert_eq!(
            frame(b"WHAT\r\n"),
            Frame::Complete {
                len: 6,
                event: Event::Other(b"WHAT")
            }
        );
    }

    #[test]
    fn the_client_s_lines_are_spelled_as_the_protocol_says() {
        let mut out = Vec::new();
        handshake(&mut out, &[b"lob", b"own"]);
        publish(&mut out, b"lob", b"0123456789");
        assert_eq!(
            out,
            b"CONNECT {\"verbose\":false,\"pedantic\":false,\"echo\":false}\r\n\
              SUB lob 1\r\nSUB own 2\r\nPUB lob 10\r\n0123456789\r\n"
        );
    }
}
