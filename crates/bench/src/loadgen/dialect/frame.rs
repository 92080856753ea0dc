//! What a peer's byte stream is made of, one frame at a time, and how frames are put back
//! together when a read ends inside one.
//!
//! In scope: [`Event`] (what one frame of a peer means to the generator), [`Frame`] (one
//! attempt to read a frame), the [`Framing`] of a protocol, [`split`] (every complete frame
//! of a read, after the carry-over of the last read), and [`push_decimal`], which both peer
//! protocols spell their lengths with. Pure: no I/O.
//! Out of scope: each protocol's spelling (`resp`, `nats`; chatd's lines over WebSocket,
//! `websocket`) and what a reader does with an event (`reader`). chatd's own lines over TCP
//! are split by `reader` itself, on `\n`.

/// The most bytes one frame may take: a payload of the run's size plus its framing is far
/// less; anything longer means the stream is not what it should be.
pub const MAX_FRAME: usize = 2 * 1024 * 1024;
/// The fewest bytes a carried-over frame grows by at a time, so that a frame split over
/// many small reads is not parsed again for every byte.
const MIN_GROWTH: usize = 256;

/// What one frame from a server means to the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    /// A message published to `channel` (a Redis channel, a NATS subject) with `payload`.
    Delivery {
        channel: &'a [u8],
        payload: &'a [u8],
    },
    /// The answer to one of the generator's `PING`s, with its token where the protocol
    /// sends it back (Redis does, NATS does not).
    Pong(Option<&'a [u8]>),
    /// The server's own `PING` (NATS), which must be answered with `PONG`.
    ServerPing,
    /// A subscription took effect (Redis's `subscribe` push; NATS says nothing).
    Subscribed,
    /// Nothing to act on: a greeting (the map `HELLO 3` answers, NATS's `INFO`), the
    /// subscriber count a `PUBLISH` answers, `+OK`.
    Ignored,
    /// An error reply, as the server spelled it.
    Error(&'a [u8]),
    /// A well-framed reply the generator never asks for.
    Other(&'a [u8]),
}

/// One attempt to read a frame at the start of some bytes; `E` is what a frame means (a
/// peer's [`Event`], or a WebSocket frame's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame<E> {
    /// The first `len` bytes are one frame, which means `event`.
    Complete { len: usize, event: E },
    /// The bytes are the start of a frame (or nothing): more must be read.
    Incomplete,
    /// The bytes are not this protocol: the stream cannot be followed any further.
    Invalid(&'static str),
}

/// A protocol's frames.
pub trait Framing {
    /// What one frame means, borrowing from the bytes it was read from.
    type Event<'a>;

    /// The frame at the start of `bytes`.
    fn frame(bytes: &[u8]) -> Frame<Self::Event<'_>>;
}

/// Checks a recorded `session` of protocol `F`: it is whole frames, and every frame cut short
/// anywhere reads as incomplete, never as another frame or as invalid.
#[cfg(test)]
pub fn assert_every_cut_short_frame_is_incomplete<F: Framing>(session: &[u8])
where
    for<'a> F::Event<'a>: PartialEq + std::fmt::Debug,
{
    let mut at = 0;
    while at < session.len() {
        let Frame::Complete { len, .. } = F::frame(&session[at..]) else {
            panic!("no whole frame at {at}");
        };
        for cut in at..at + len {
            assert_eq!(
                F::frame(&session[at..cut]),
                Frame::Incomplete,
                "{at}..{cut}"
            );
        }
        at += len;
    }
}

/// Hands `each` the event of every complete frame in `carry` followed by `bytes`, and leaves
/// in `carry` the start of a frame that has not ended yet. `carry` must hold less than one
/// frame when called (it always does when it is only ever passed to this function).
///
/// Only a frame that straddles two reads is copied, into `carry`: bytes are moved over from
/// `bytes` until it is complete (at least doubling what is carried each time), and the
/// frames after it are read where they are.
pub fn split<F: Framing>(
    carry: &mut Vec<u8>,
    bytes: &[u8],
    mut each: impl FnMut(F::Event<'_>),
) -> Result<(), &'static str> {
    let mut rest = bytes;
    if !carry.is_empty() {
        let mut moved = 0;
        let used = loop {
            // The event borrows the carry: it is handed over before the carry changes.
            let found = match F::frame(carry) {
                Frame::Complete { len, event } => {
                    each(event);
                    Some(Ok(len))
                }
                Frame::Incomplete => None,
                Frame::Invalid(why) => Some(Err(why)),
            };
            match found {
                Some(Ok(len)) => break len,
                Some(Err(why)) => {
                    carry.clear();
                    return Err(why);
                }
                None if moved == bytes.len() => return too_long(carry),
                None => {
                    let more = carry.len().max(MIN_GROWTH).min(bytes.len() - moved);
                    carry.extend_from_slice(&bytes[moved..moved + more]);
                    moved += more;
                }
            }
        };
        // The carried frame ended inside the bytes moved last; the rest of them go back.
        let beyond = carry.len() - used;
        debug_assert!(beyond <= moved, "the carry held less than one frame");
        rest = &bytes[moved - beyond.min(moved)..];
        carry.clear();
    }
    loop {
        match F::frame(rest) {
            Frame::Complete { len, event } => {
                each(event);
                rest = &rest[len..];
            }
            Frame::Incomplete => break,
            Frame::Invalid(why) => return Err(why),
        }
    }
    carry.extend_from_slice(rest);
    too_long(carry)
}

/// An error once `carry` holds more than any frame may take.
fn too_long(carry: &mut Vec<u8>) -> Result<(), &'static str> {
    if carry.len() > MAX_FRAME {
        carry.clear();
        return Err("a frame longer than 2 MiB");
    }
    Ok(())
}

/// Appends `value` in decimal, without going through `fmt` (once per published line).
pub fn push_decimal(out: &mut Vec<u8>, mut value: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy protocol: a length byte, then that many bytes, which are the payload; a frame
    /// that starts with 255 never ends.
    struct Counted;

    impl Framing for Counted {
        type Event<'a> = Event<'a>;

        fn frame(bytes: &[u8]) -> Frame<Event<'_>> {
            match bytes.first() {
                None => Frame::Incomplete,
                Some(0) => Frame::Invalid("zero length"),
                Some(255) => Frame::Incomplete,
                Some(&n) if bytes.len() > usize::from(n) => Frame::Complete {
                    len: 1 + usize::from(n),
                    event: Event::Delivery {
                        channel: b"",
                        payload: &bytes[1..=usize::from(n)],
                    },
                },
                Some(_) => Frame::Incomplete,
            }
        }
    }

    fn stream() -> (Vec<u8>, Vec<Vec<u8>>) {
        let payloads: Vec<Vec<u8>> = (1..=40u8).map(|n| vec![n; usize::from(n)]).collect();
        let mut bytes = Vec::new();
        for payload in &payloads {
            bytes.push(u8::try_from(payload.len()).unwrap());
            bytes.extend_from_slice(payload);
        }
        (bytes, payloads)
    }

    fn payloads_of(reads: &[&[u8]]) -> (Vec<Vec<u8>>, Vec<u8>) {
        let mut carry = Vec::new();
        let mut seen = Vec::new();
        for read in reads {
            split::<Counted>(&mut carry, read, |event| match event {
                Event::Delivery { payload, .. } => seen.push(payload.to_vec()),
                other => panic!("{other:?}"),
            })
            .unwrap();
        }
        (seen, carry)
    }

    #[test]
    fn frames_come_out_whole_wherever_the_reads_end() {
        let (bytes, payloads) = stream();
        for cut in 0..=bytes.len() {
            let (seen, carry) = payloads_of(&[&bytes[..cut], &bytes[cut..]]);
            assert_eq!(seen, payloads, "cut at {cut}");
            assert!(carry.is_empty());
        }
        for second in [1, 2, 3, 7, 100] {
            for first in 0..bytes.len().min(60) {
                let mut reads: Vec<&[u8]> = vec![&bytes[..first]];
                reads.extend(bytes[first..].chunks(second));
                assert_eq!(payloads_of(&reads).0, payloads, "{first} then {second}s");
            }
        }
    }

    #[test]
    fn the_start_of_a_frame_waits_in_the_carry() {
        let (seen, carry) = payloads_of(&[&[3, 7, 7, 7, 5, 1], &[2]]);
        assert_eq!(seen, [vec![7, 7, 7]]);
        assert_eq!(carry, [5, 1, 2]);
    }

    #[test]
    fn decimals() {
        let mut out = Vec::new();
        for value in [0, 7, 10, 32, 1_048_576, usize::MAX] {
            push_decimal(&mut out, value);
            out.push(b' ');
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("0 7 10 32 1048576 {} ", usize::MAX)
        );
    }

    #[test]
    fn garbage_and_endless_frames_are_errors() {
        let mut carry = Vec::new();
        assert_eq!(
            split::<Counted>(&mut carry, &[1, 9, 0, 4], |_| {}),
            Err("zero length")
        );
        let mut carry = vec![5, 1];
        assert_eq!(split::<Counted>(&mut carry, &[0], |_| {}), Ok(()));
        assert_eq!(carry, [5, 1, 0]);
        let mut carry = vec![255];
        assert_eq!(
            split::<Counted>(&mut carry, &vec![1; MAX_FRAME], |_| {}),
            Err("a frame longer than 2 MiB")
        );
        assert!(carry.is_empty());
    }
}
