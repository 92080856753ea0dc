//! Unit tests of `line_buffer`: endings, the limit, invalid UTF-8, bounded memory, and the
//! same frames at every split point. The owned frames and the draining loop are the ones the
//! property tests use, from `oracle`.

use super::*;
use crate::oracle::{OwnedFrame, frame_chunks};

fn feed(buffer: &mut LineBuffer, chunk: &[u8], out: &mut Vec<OwnedFrame>) {
    buffer.push(chunk);
    while let Some(frame) = buffer.next_frame() {
        out.push(frame.into());
    }
}

fn line(text: &str) -> OwnedFrame {
    OwnedFrame::Line(text.to_owned())
}

#[test]
fn splits_lines_and_strips_crlf() {
    assert_eq!(
        frame_chunks(100, &[b"a\nbb\r\n\nccc"]),
        vec![line("a"), line("bb"), line("")]
    );
}

#[test]
fn incomplete_line_waits_for_its_newline() {
    let mut buffer = LineBuffer::new(100);
    buffer.push(b"NICK al");
    assert_eq!(buffer.next_frame(), None);
    buffer.push(b"ice\r");
    assert_eq!(buffer.next_frame(), None);
    buffer.push(b"\n");
    assert_eq!(buffer.next_frame(), Some(Frame::Line("NICK alice")));
    assert_eq!(buffer.next_frame(), None);
}

#[test]
fn lone_carriage_return_inside_a_line_is_kept() {
    assert_eq!(frame_chunks(100, &[b"a\rb\n"]), vec![line("a\rb")]);
}

#[test]
fn limit_counts_the_ending() {
    // max 5: four bytes and "\n" fit; five do not; CRLF counts both bytes.
    assert_eq!(frame_chunks(5, &[b"abcd\n"]), vec![line("abcd")]);
    assert_eq!(
        frame_chunks(5, &[b"abcde\nok\n"]),
        vec![OwnedFrame::TooLong, line("ok")]
    );
    assert_eq!(frame_chunks(5, &[b"abc\r\n"]), vec![line("abc")]);
    assert_eq!(
        frame_chunks(5, &[b"abcd\r\nok\n"]),
        vec![OwnedFrame::TooLong, line("ok")]
    );
}

#[test]
fn too_long_line_is_reported_once_and_skipped_to_its_newline() {
    let long = vec![b'x'; 50];
    let out = frame_chunks(10, &[&long, &long, &long, b"yy\nnext\n"]);
    assert_eq!(out, vec![OwnedFrame::TooLong, line("next")]);
}

#[test]
fn endless_line_keeps_memory_bounded() {
    let mut buffer = LineBuffer::new(4096);
    let chunk = vec![b'z'; 16 * 1024];
    let mut out = Vec::new();
    for _ in 0..640 {
        // 10 MiB without a newline.
        feed(&mut buffer, &chunk, &mut out);
        assert!(buffer.pending_len() < 4096);
        assert!(buffer.bytes.capacity() <= 4096 + chunk.len());
    }
    feed(&mut buffer, b"tail\nPING\n", &mut out);
    assert_eq!(out, vec![OwnedFrame::TooLong, line("PING")]);
}

#[test]
fn invalid_utf8_is_reported_and_the_stream_goes_on() {
    assert_eq!(
        frame_chunks(100, &[b"ok\n\xff\xfe\nh\xc3\xa9\n\xc3\n"]),
        vec![
            line("ok"),
            OwnedFrame::BadEncoding,
            line("h\u{e9}"),
            OwnedFrame::BadEncoding
        ]
    );
}

#[test]
fn every_split_point_yields_the_same_frames() {
    let mut stream = Vec::new();
    stream.extend_from_slice(b"NICK alice\r\nALL h\xc3\xa9llo\n\n");
    stream.extend_from_slice(&[b'q'; 40]);
    stream.extend_from_slice(b"\nbad \xff byte\r\nPING 1\nMSG bob x\r\npartial");
    let whole = frame_chunks(32, &[&stream]);
    assert_eq!(
        whole,
        vec![
            line("NICK alice"),
            line("ALL h\u{e9}llo"),
            line(""),
            OwnedFrame::TooLong,
            OwnedFrame::BadEncoding,
            line("PING 1"),
            line("MSG bob x"),
        ]
    );
    for cut in 0..=stream.len() {
        let (a, b) = stream.split_at(cut);
        assert_eq!(frame_chunks(32, &[a, b]), whole, "split at {cut}");
    }
    for second_cut in 0..=stream.len() {
        let cut = second_cut / 2;
        let (a, rest) = stream.split_at(cut);
        let (b, c) = rest.split_at(second_cut - cut);
        assert_eq!(
            frame_chunks(32, &[a, b, c]),
            whole,
            "split at {cut} and {second_cut}"
        );
    }
    let bytes: Vec<&[u8]> = stream.chunks(1).collect();
    assert_eq!(frame_chunks(32, &bytes), whole, "one byte at a time");
}
