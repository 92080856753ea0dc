//! Framing: bytes as they come off a socket in, complete lines out.
//!
//! In scope: finding line endings (`\n`, with an optional `\r` before it), the `--max-line`
//! limit (counted with the ending), and UTF-8 validation. A line over the limit is reported once
//! and skipped up to its newline without ever being held in memory, so a 10 MB stream with no
//! newline costs at most one limit's worth of buffer.
//!
//! Out of scope: what a line means (`command`), and reading the socket (the server's
//! connection).
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
mod tests;
