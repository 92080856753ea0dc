//! Fuzz target: `parse_command` and `Reply::parse` on arbitrary lines.
//!
//! Input: arbitrary bytes, framed into lines by a `LineBuffer` (the default `--max-line`), as
//! the server frames a client's stream; the whole input is also parsed as one string when it
//! is UTF-8, since both parsers take any `&str`.
//!
//! Checks, for every line, those of `chatd_proto::oracle` (shared with the property tests):
//! neither parser panics; a command keeps valid nicks and texts taken from the line, is judged
//! for registration as protocol.md says, and formats back to a line that parses to the same
//! command; an error becomes an `ERR` line that parses back; whatever parses as a `Reply`
//! formats to a line that parses to the same reply; the text rule's one-pass scan agrees with
//! the rule written range by range, every relayed text passes it, and a `BAD_TEXT` names a
//! refused character of the line (issue 13).

#![no_main]

use chatd_proto::oracle::{check_command_line, check_reply_line};
use chatd_proto::{Frame, LineBuffer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buffer = LineBuffer::new(4096);
    buffer.push(data);
    while let Some(frame) = buffer.next_frame() {
        if let Frame::Line(line) = frame {
            check_command_line(line);
            check_reply_line(line);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_command_line(text);
        check_reply_line(text);
    }
});
