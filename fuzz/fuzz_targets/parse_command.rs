//! Fuzz target: `parse_command` and `Reply::parse` on arbitrary lines.
//!
//! Input: arbitrary bytes, framed into lines by a `LineBuffer` (the default `--max-line`), as
//! the server frames a client's stream; the whole input is also parsed as one string when it
//! is UTF-8, since both parsers take any `&str`.
//!
//! Checks, for every line: neither parser panics; a command keeps valid nicks and texts taken
//! from the line, agrees with `needs_registration`, and formats back to a line that parses to
//! the same command; an error becomes an `ERR` line that parses back; whatever parses as a
//! `Reply` formats to a line that parses to the same reply.

#![no_main]

use chatd_proto::{Frame, LineBuffer};
use chatd_proto::{Command, Nick, ProtocolError, Reply, needs_registration, parse_command};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut buffer = LineBuffer::new(4096);
    buffer.push(data);
    while let Some(frame) = buffer.next_frame() {
        if let Frame::Line(line) = frame {
            check_command(line);
            check_reply(line);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_command(text);
        check_reply(text);
    }
});

fn check_command(line: &str) {
    match parse_command(line) {
        Ok(None) => assert!(line.trim().is_empty(), "{line:?} ignored"),
        Ok(Some(command)) => {
            let texts: Vec<&str> = match &command {
                Command::Nick(nick) => {
                    assert_eq!(Nick::parse(nick.as_str()).as_ref(), Ok(nick));
                    vec![nick.as_str()]
                }
                Command::Msg { to, text } => {
                    assert_eq!(Nick::parse(to.as_str()).as_ref(), Ok(to));
                    vec![*text]
                }
                Command::All { text } => vec![*text],
                Command::Ping { token: Some(text) }
                | Command::Pong { token: Some(text) }
                | Command::Quit { reason: Some(text) }
                | Command::MsgRoom { text, .. }
                | Command::Topic { text, .. }
                | Command::Join { key: Some(text), .. }
                | Command::Key { key: Some(text), .. }
                | Command::Part { reason: Some(text), .. } => vec![*text],
                _ => Vec::new(),
            };
            for text in texts {
                assert!(line.ends_with(text), "{text:?} is not the end of {line:?}");
                assert!(
                    !text.trim().is_empty() && !text.starts_with(' '),
                    "{text:?}"
                );
            }
            let gated = !matches!(
                command,
                Command::Nick(_)
                    | Command::Ping { .. }
                    | Command::Pong { .. }
                    | Command::Quit { .. }
                    | Command::Help
            );
            assert_eq!(needs_registration(line), gated, "{line:?}");
            let formatted = command.to_string();
            assert_eq!(parse_command(&formatted), Ok(Some(command)));
        }
        Err(error) => {
            assert!(ProtocolError::ALL_CODES.contains(&error.code()));
            let reply = Reply::from(&error);
            let wire = reply.to_line();
            let text = wire.strip_suffix('\n').expect("a reply line ends with \\n");
            assert!(!text.contains('\n'), "{wire:?} is more than one line");
            assert_eq!(Reply::parse(text), Ok(reply));
        }
    }
}

fn check_reply(line: &str) {
    if let Ok(reply) = Reply::parse(line) {
        let formatted = reply.to_string();
        assert_eq!(
            Reply::parse(&formatted).as_ref(),
            Ok(&reply),
            "{line:?} formats as {formatted:?}"
        );
        if !line.contains('\n') {
            assert!(
                !formatted.contains('\n'),
                "{line:?} formats as {formatted:?}"
            );
        }
    }
}
