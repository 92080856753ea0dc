//! Fuzz target: `LineBuffer` framing under a small `--max-line`.
//!
//! Input layout: byte 0 picks `max_line` (2 to 33), byte 1 how many of the next bytes are chunk
//! sizes (0 to 7), those bytes give the chunk sizes (0 to 15, used in turn; 0 pushes an empty
//! chunk), and the rest is the byte stream.
//!
//! Checks, for every input: the chunked stream gives the same frames as the stream pushed
//! whole; both are the frames protocol.md describes; every line is valid UTF-8 (decoded by the
//! model from the raw bytes), holds no `\n` and fits `max_line` with its ending; and the buffer
//! keeps its documented bound (less than `max_line` once drained, plus the last chunk after a
//! push).

#![no_main]

use chatd_proto::{Frame, LineBuffer};
use libfuzzer_sys::fuzz_target;

/// An owned frame, to compare two runs.
#[derive(Debug, PartialEq, Eq)]
enum Owned {
    Line(String),
    TooLong,
    BadEncoding,
}

fuzz_target!(|data: &[u8]| {
    let [max_line, size_count, rest @ ..] = data else {
        return;
    };
    let max_line = 2 + usize::from(max_line % 32);
    let (sizes, stream) = rest.split_at(usize::from(size_count % 8).min(rest.len()));

    let whole = frames(max_line, &[stream]);
    let split = frames(max_line, &chunks(stream, sizes));
    assert_eq!(
        split, whole,
        "max_line {max_line}: chunking changed the frames"
    );
    assert_eq!(
        whole,
        contract_frames(max_line, stream),
        "max_line {max_line}"
    );
    for frame in &whole {
        if let Owned::Line(line) = frame {
            assert!(!line.contains('\n'), "{line:?}");
            assert!(line.len() < max_line, "{line:?} breaks max_line {max_line}");
        }
    }
});

/// Cuts the stream into chunks of the given sizes, used in turn. Sizes that are all zero (or
/// none) mean one chunk, so the loop always ends.
fn chunks<'a>(stream: &'a [u8], sizes: &[u8]) -> Vec<&'a [u8]> {
    let sizes: Vec<usize> = sizes.iter().map(|b| usize::from(b % 16)).collect();
    if sizes.iter().all(|&size| size == 0) {
        return vec![stream];
    }
    let mut out = Vec::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.min(rest.len()));
        out.push(chunk);
        rest = tail;
    }
    out
}

/// Frames the chunks as the server does (drain after every push), checking the bound the
/// `LineBuffer` docs promise.
fn frames(max_line: usize, chunks: &[&[u8]]) -> Vec<Owned> {
    let mut buffer = LineBuffer::new(max_line);
    let mut out = Vec::new();
    for chunk in chunks {
        let before = buffer.pending_len();
        buffer.push(chunk);
        assert!(buffer.pending_len() <= before + chunk.len());
        while let Some(frame) = buffer.next_frame() {
            out.push(match frame {
                Frame::Line(line) => Owned::Line(line.to_owned()),
                Frame::TooLong => Owned::TooLong,
                Frame::BadEncoding => Owned::BadEncoding,
            });
        }
        assert!(buffer.pending_len() < max_line);
    }
    out
}

/// The frames protocol.md describes: split at each `\n`; a line longer than the limit with
/// its `\n` is too long; otherwise drop one `\r` before the `\n` and check UTF-8. An unfinished
/// tail is too long once it alone reaches the limit (its `\n` could no longer fit).
fn contract_frames(max_line: usize, stream: &[u8]) -> Vec<Owned> {
    let mut pieces: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    let tail = pieces.pop().expect("split yields at least one piece");
    let mut out: Vec<Owned> = pieces
        .into_iter()
        .map(|line| {
            if line.len() + 1 > max_line {
                return Owned::TooLong;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match std::str::from_utf8(line) {
                Ok(text) => Owned::Line(text.to_owned()),
                Err(_) => Owned::BadEncoding,
            }
        })
        .collect();
    if tail.len() >= max_line {
        out.push(Owned::TooLong);
    }
    out
}
