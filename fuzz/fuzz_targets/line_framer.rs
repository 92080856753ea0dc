//! Fuzz target: `LineBuffer` framing under a small `--max-line`.
//!
//! Input layout: byte 0 picks `max_line` (2 to 33), byte 1 how many of the next bytes are chunk
//! sizes (0 to 7), those bytes give the chunk sizes (0 to 15, used in turn; 0 pushes an empty
//! chunk), and the rest is the byte stream.
//!
//! Checks, for every input: the chunked stream gives the same frames as the stream pushed
//! whole; both are the frames of the reference framer (`oracle::reference_frames`, shared with
//! the property tests); every line holds no `\n` and fits `max_line` with its ending; and the
//! buffer keeps its documented bound (checked inside `oracle::frame_chunks`).

#![no_main]

use chatd_proto::oracle::{OwnedFrame, frame_chunks, reference_frames};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [max_line, size_count, rest @ ..] = data else {
        return;
    };
    let max_line = 2 + usize::from(max_line % 32);
    let (sizes, stream) = rest.split_at(usize::from(size_count % 8).min(rest.len()));

    let whole = frame_chunks(max_line, &[stream]);
    let split = frame_chunks(max_line, &chunks(stream, sizes));
    assert_eq!(
        split, whole,
        "max_line {max_line}: chunking changed the frames"
    );
    assert_eq!(
        whole,
        reference_frames(max_line, stream),
        "max_line {max_line}"
    );
    for frame in &whole {
        if let OwnedFrame::Line(line) = frame {
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
