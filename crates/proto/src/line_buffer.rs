//! Framing: bytes as they come off a socket in, complete lines out.
//!
//! In scope: finding line endings (`\n`, with an optional `\r` before it), the `--max-line`
//! limit (counted with the ending), and UTF-8 validation. A line over the limit is reported once
//! and skipped up to its newline without ever being held in memory, so a 10 MB stream with no
//! newline costs at most one limit's worth of buffer.
//!
//! Out of scope: what a line means (`protocol`), and reading the socket (`server::connection`).
//! This module is pure: no I/O, logging or locking.

/// What the framer found next in the byte stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A complete line, without its ending.
    Line(&'a str),
    /// A line longer than the limit; its bytes are dropped up to and including its newline.
    TooLong,
    /// A complete line that is not valid UTF-8; it is dropped.
    BadEncoding,
}

/// Accumulates bytes and yields frames. Holds less than `max_line` bytes of an unfinished line,
/// plus whatever the last [`LineBuffer::push`] brought.
#[derive(Debug)]
pub struct LineBuffer {
    bytes: Vec<u8>,
    /// Start of the first byte not yet handed out as part of a frame.
    start: usize,
    /// Bytes before this index (and after `start`) are known to hold no newline.
    scanned: usize,
    max_line: usize,
    /// True after a too-long line was reported and before its newline arrived: those bytes
    /// are dropped as they come.
    skipping: bool,
}

impl LineBuffer {
    /// `max_line` counts a line's bytes including its ending; it must leave room for at least
    /// one byte besides the `\n`.
    pub fn new(max_line: usize) -> LineBuffer {
        assert!(
            max_line >= 2,
            "a line needs room for one byte and its newline"
        );
        LineBuffer {
            bytes: Vec::new(),
            start: 0,
            scanned: 0,
            max_line,
            skipping: false,
        }
    }

    /// Adds bytes read from the peer. Call [`LineBuffer::next_frame`] until it returns `None`
    /// before pushing again, so the buffer stays bounded.
    pub fn push(&mut self, mut input: &[u8]) {
        if self.skipping {
            match find_newline(input) {
                Some(end) => {
                    self.skipping = false;
                    input = &input[end + 1..];
                }
                None => return,
            }
        }
        // Drop what was already handed out before growing, so the buffer never holds old lines.
        if self.start > 0 {
            self.bytes.drain(..self.start);
            self.scanned -= self.start;
            self.start = 0;
        }
        self.bytes.extend_from_slice(input);
    }

    /// The next complete frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Option<Frame<'_>> {
        match find_newline(&self.bytes[self.scanned..]) {
            Some(offset) => {
                let newline = self.scanned + offset;
                let line_start = self.start;
                self.start = newline + 1;
                self.scanned = self.start;
                if newline + 1 - line_start > self.max_line {
                    return Some(Frame::TooLong);
                }
                let mut line = &self.bytes[line_start..newline];
                if let [rest @ .., b'\r'] = line {
                    line = rest;
                }
                Some(match std::str::from_utf8(line) {
                    Ok(text) => Frame::Line(text),
                    Err(_) => Frame::BadEncoding,
                })
            }
            None => {
                self.scanned = self.bytes.len();
                if self.bytes.len() - self.start >= self.max_line {
                    // Even its newline would not fit: report now and skip the rest as it comes.
                    self.bytes.clear();
                    self.start = 0;
                    self.scanned = 0;
                    self.skipping = true;
                    return Some(Frame::TooLong);
                }
                None
            }
        }
    }

    /// Bytes of an unfinished line held right now (for tests and memory accounting).
    pub fn pending_len(&self) -> usize {
        self.bytes.len() - self.start
    }
}

fn find_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Owned copy of a frame, to compare runs fed in different chunkings.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Owned {
        Line(String),
        TooLong,
        BadEncoding,
    }

    fn feed(buffer: &mut LineBuffer, chunk: &[u8], out: &mut Vec<Owned>) {
        buffer.push(chunk);
        while let Some(frame) = buffer.next_frame() {
            out.push(match frame {
                Frame::Line(line) => Owned::Line(line.to_owned()),
                Frame::TooLong => Owned::TooLong,
                Frame::BadEncoding => Owned::BadEncoding,
            });
        }
    }

    fn frames(max_line: usize, chunks: &[&[u8]]) -> Vec<Owned> {
        let mut buffer = LineBuffer::new(max_line);
        let mut out = Vec::new();
        for chunk in chunks {
            feed(&mut buffer, chunk, &mut out);
        }
        out
    }

    fn line(text: &str) -> Owned {
        Owned::Line(text.to_owned())
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        assert_eq!(
            frames(100, &[b"a\nbb\r\n\nccc"]),
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
        assert_eq!(frames(100, &[b"a\rb\n"]), vec![line("a\rb")]);
    }

    #[test]
    fn limit_counts_the_ending() {
        // max 5: four bytes and "\n" fit; five do not; CRLF counts both bytes.
        assert_eq!(frames(5, &[b"abcd\n"]), vec![line("abcd")]);
        assert_eq!(
            frames(5, &[b"abcde\nok\n"]),
            vec![Owned::TooLong, line("ok")]
        );
        assert_eq!(frames(5, &[b"abc\r\n"]), vec![line("abc")]);
        assert_eq!(
            frames(5, &[b"abcd\r\nok\n"]),
            vec![Owned::TooLong, line("ok")]
        );
    }

    #[test]
    fn too_long_line_is_reported_once_and_skipped_to_its_newline() {
        let long = vec![b'x'; 50];
        let out = frames(10, &[&long, &long, &long, b"yy\nnext\n"]);
        assert_eq!(out, vec![Owned::TooLong, line("next")]);
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
        assert_eq!(out, vec![Owned::TooLong, line("PING")]);
    }

    #[test]
    fn invalid_utf8_is_reported_and_the_stream_goes_on() {
        assert_eq!(
            frames(100, &[b"ok\n\xff\xfe\nh\xc3\xa9\n\xc3\n"]),
            vec![
                line("ok"),
                Owned::BadEncoding,
                line("h\u{e9}"),
                Owned::BadEncoding
            ]
        );
    }

    #[test]
    fn every_split_point_yields_the_same_frames() {
        let mut stream = Vec::new();
        stream.extend_from_slice(b"NICK alice\r\nALL h\xc3\xa9llo\n\n");
        stream.extend_from_slice(&[b'q'; 40]);
        stream.extend_from_slice(b"\nbad \xff byte\r\nPING 1\nMSG bob x\r\npartial");
        let whole = frames(32, &[&stream]);
        assert_eq!(
            whole,
            vec![
                line("NICK alice"),
                line("ALL h\u{e9}llo"),
                line(""),
                Owned::TooLong,
                Owned::BadEncoding,
                line("PING 1"),
                line("MSG bob x"),
            ]
        );
        for cut in 0..=stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(frames(32, &[a, b]), whole, "split at {cut}");
        }
        for second_cut in 0..=stream.len() {
            let cut = second_cut / 2;
            let (a, rest) = stream.split_at(cut);
            let (b, c) = rest.split_at(second_cut - cut);
            assert_eq!(
                frames(32, &[a, b, c]),
                whole,
                "split at {cut} and {second_cut}"
            );
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(frames(32, &bytes), whole, "one byte at a time");
    }
}
