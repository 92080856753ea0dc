//! Reference models and consistency checks that the property tests (`crates/proto-props`)
//! and the fuzz targets (`fuzz/`) hold this crate to, written once so the two cannot drift
//! apart.
//!
//! In scope: [`reference_frames`], the framing of protocol.md computed the obvious way (the
//! oracle [`LineBuffer`] is compared against); [`frame_chunks`], which drives a `LineBuffer`
//! as the server does and checks its memory bound; and checks of what the parsers promise on
//! any line ([`check_command_line`], [`check_reply_line`], [`wire_line`]); the text rule
//! against a reference written range by range ([`check_text_rule`]); and a number per
//! variant of [`Command`] and [`Reply`], for tests that must cover them all.
//!
//! The checks panic with a message on the first broken promise, which is how both a fuzz
//! target and a property test (proptest shrinks on panics) report a failure. Nothing here is
//! used by the server, the client or the benchmark.

use crate::command::{Command, CommandLine, parse_command};
use crate::error::{ErrorCode, ProtocolError};
use crate::file_name::FileName;
use crate::line_buffer::{Frame, LineBuffer};
use crate::names::{MAX_NICK_LEN, Nick, Target};
use crate::password::Password;
use crate::reply::Reply;
use crate::text::{Refused, find_refused, is_refused, replace_refused};

/// An owned copy of a [`Frame`], to compare runs fed in different chunkings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnedFrame {
    Line(String),
    TooLong,
    BadEncoding,
}

impl From<Frame<'_>> for OwnedFrame {
    fn from(frame: Frame<'_>) -> OwnedFrame {
        match frame {
            Frame::Line(line) => OwnedFrame::Line(line.to_owned()),
            Frame::TooLong => OwnedFrame::TooLong,
            Frame::BadEncoding => OwnedFrame::BadEncoding,
        }
    }
}

/// The frames protocol.md describes for a whole stream, computed without any of
/// [`LineBuffer`]'s cleverness: split at each `\n`; a line longer than `max_line` with its
/// `\n` is too long; otherwise drop one `\r` before the `\n` and check UTF-8. An unfinished
/// tail is reported too long once it alone reaches the limit (its `\n` could no longer fit),
/// and otherwise waits.
pub fn reference_frames(max_line: usize, stream: &[u8]) -> Vec<OwnedFrame> {
    let mut pieces: Vec<&[u8]> = stream.split(|&b| b == b'\n').collect();
    let tail = pieces.pop().expect("split yields at least one piece");
    let mut out: Vec<OwnedFrame> = pieces
        .into_iter()
        .map(|line| {
            if line.len() + 1 > max_line {
                return OwnedFrame::TooLong;
            }
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match std::str::from_utf8(line) {
                Ok(text) => OwnedFrame::Line(text.to_owned()),
                Err(_) => OwnedFrame::BadEncoding,
            }
        })
        .collect();
    if tail.len() >= max_line {
        out.push(OwnedFrame::TooLong);
    }
    out
}

/// Pushes the chunks into a new [`LineBuffer`] one by one, draining every frame after each
/// push as the server does, and returns the frames.
///
/// Panics if the buffer breaks the bound its docs promise: it holds less than `max_line`
/// bytes once drained, and a push adds at most its own chunk.
pub fn frame_chunks(max_line: usize, chunks: &[&[u8]]) -> Vec<OwnedFrame> {
    let mut buffer = LineBuffer::new(max_line);
    let mut out = Vec::new();
    for chunk in chunks {
        let before = buffer.pending_len();
        buffer.push(chunk);
        assert!(
            buffer.pending_len() <= before + chunk.len(),
            "a push of {} bytes grew the buffer from {before} to {} bytes",
            chunk.len(),
            buffer.pending_len()
        );
        while let Some(frame) = buffer.next_frame() {
            out.push(frame.into());
        }
        assert!(
            buffer.pending_len() < max_line,
            "{} bytes pending with max_line {max_line}",
            buffer.pending_len()
        );
    }
    out
}

/// The commands protocol.md lets through before registration, stated here independently of
/// the table of command words that the parser reads.
fn open_before_registration(command: &Command<'_>) -> bool {
    matches!(
        command,
        Command::Nick(_)
            | Command::Ping { .. }
            | Command::Pong { .. }
            | Command::Quit { .. }
            | Command::Help
            | Command::HelpFor(_)
            | Command::Cap(_)
            | Command::Login { .. }
    )
}

/// The text rule as protocol.md states it, one range at a time, for [`check_text_rule`] to
/// hold the fast scan to.
fn reference_refused(c: char) -> bool {
    let n = u32::from(c);
    (n <= 0x1F && c != '\t')
        || (0x7F..=0x9F).contains(&n)
        || n == 0x2028
        || n == 0x2029
        || (0x202A..=0x202E).contains(&n)
        || (0x2066..=0x2069).contains(&n)
}

/// Checks the text rule on any text, panicking on a difference from the reference: the
/// first refused character and its place (counted in characters from 1), the rule for each
/// character, and the replacement of a reason (U+FFFD for each refused character, borrowed
/// when nothing is refused).
pub fn check_text_rule(text: &str) {
    let expected = text
        .chars()
        .enumerate()
        .find(|&(_, c)| reference_refused(c))
        .map(|(i, found)| Refused { found, at: i + 1 });
    assert_eq!(find_refused(text), expected, "{text:?}");
    for c in text.chars() {
        assert_eq!(is_refused(c), reference_refused(c), "{c:?}");
    }
    let replaced = replace_refused(text);
    let reference: String = text
        .chars()
        .map(|c| {
            if reference_refused(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect();
    assert_eq!(replaced, reference, "{text:?}");
    assert_eq!(
        matches!(replaced, std::borrow::Cow::Borrowed(_)),
        expected.is_none(),
        "{text:?}: allocated for nothing, or borrowed a text with refused characters"
    );
}

/// Parses any client line and checks what the parser promises, panicking on a broken promise:
/// a blank line and only a blank line is ignored; a command keeps valid nicks, and each of its
/// free texts is the end of the line as sent, never blank and never starting with the spaces
/// that separate it; [`CommandLine::read`] finds the command's word and judges registration as
/// protocol.md does; the command formats back to a line that parses to the same command; an
/// error is never `NOT_REGISTERED` (the session's call, not the parser's), has a known code
/// and becomes one `ERR` line that parses back to the same reply. Every text the server
/// would relay or store (messages, topics, keys, away texts) passes the text rule, and a
/// `BAD_TEXT` names a refused character of the line. The rule itself is checked on the whole
/// line too ([`check_text_rule`]). A new password meets the rule, and a command's `Debug`
/// shows `***` for its passwords.
pub fn check_command_line(line: &str) {
    check_text_rule(line);
    let parsed = parse_command(line);
    assert_eq!(
        line.trim().is_empty(),
        matches!(parsed, Ok(None)),
        "{line:?} gave {parsed:?}"
    );
    match parsed {
        Ok(None) => {}
        Ok(Some(command)) => {
            let texts: Vec<&str> = match &command {
                Command::Nick(nick) => {
                    assert_eq!(Nick::parse(nick.as_str()).as_ref(), Ok(nick));
                    assert!(nick.as_str().len() <= MAX_NICK_LEN, "{nick}");
                    vec![nick.as_str()]
                }
                Command::Msg { to, text }
                | Command::Me {
                    target: Target::Nick(to),
                    text,
                } => {
                    assert_eq!(Nick::parse(to.as_str()).as_ref(), Ok(to));
                    vec![*text]
                }
                Command::All { text }
                | Command::Ping { token: Some(text) }
                | Command::Pong { token: Some(text) }
                | Command::Quit { reason: Some(text) }
                | Command::MsgRoom { text, .. }
                | Command::Topic { text, .. }
                | Command::Me { text, .. }
                | Command::Away { text: Some(text) }
                | Command::Join {
                    key: Some(text), ..
                }
                | Command::Key {
                    key: Some(text), ..
                }
                | Command::Part {
                    reason: Some(text), ..
                } => vec![*text],
                Command::Upload { name, .. } => vec![name.as_str()],
                Command::Register(password)
                | Command::Unregister(password)
                | Command::Login { password, .. }
                | Command::Password { new: password, .. } => vec![password.expose()],
                _ => Vec::new(),
            };
            for text in texts {
                assert!(line.ends_with(text), "{text:?} is not the end of {line:?}");
                assert!(!text.trim().is_empty(), "blank text {text:?} in {line:?}");
                assert!(!text.starts_with(' '), "{text:?} keeps its separator");
            }
            let ruled = match &command {
                Command::Msg { text, .. }
                | Command::MsgRoom { text, .. }
                | Command::All { text }
                | Command::Me { text, .. }
                | Command::Topic { text, .. }
                | Command::Away { text: Some(text) }
                | Command::Join {
                    key: Some(text), ..
                }
                | Command::Key {
                    key: Some(text), ..
                } => Some(*text),
                Command::Upload { name, .. } => {
                    assert_eq!(FileName::parse(name.as_str()), Ok(*name), "{line:?}");
                    Some(name.as_str())
                }
                _ => None,
            };
            if let Some(text) = ruled {
                assert_eq!(find_refused(text), None, "{line:?} relays {text:?}");
            }
            if let Command::Register(new) | Command::Password { new, .. } = &command {
                assert_eq!(Password::new(new.expose()), Ok(*new), "{line:?}");
            }
            if let Command::Register(_)
            | Command::Login { .. }
            | Command::Password { .. }
            | Command::Unregister(_) = &command
            {
                assert!(format!("{command:?}").contains("***"), "{line:?}");
            }
            let read = CommandLine::read(line)
                .expect("a line that parses has a command word")
                .expect("a line that parses is not blank");
            assert_eq!(read.word(), command.word(), "{line:?}");
            assert_eq!(
                read.needs_registration(),
                !open_before_registration(&command),
                "{line:?}"
            );
            let formatted = command.to_string();
            assert_eq!(
                parse_command(&formatted),
                Ok(Some(command)),
                "{line:?} formats as {formatted:?}"
            );
        }
        Err(error) => {
            assert_ne!(error, ProtocolError::NotRegistered, "{line:?}");
            if let ProtocolError::BadText { refused, .. } = &error {
                assert!(reference_refused(refused.found), "{line:?}: {refused:?}");
                assert!(line.contains(refused.found), "{line:?}: {refused:?}");
                assert!(refused.at >= 1, "{line:?}: {refused:?}");
            }
            assert!(
                ErrorCode::KNOWN.contains(&error.code()),
                "{error:?} has no known code"
            );
            let reply = Reply::from(&error);
            assert_eq!(Reply::parse(&wire_line(&reply)), Ok(reply), "{line:?}");
        }
    }
}

/// Parses any server line and, when it is a reply, checks that it formats to a line that
/// parses to the same reply, and to one line when it was one line.
pub fn check_reply_line(line: &str) {
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

/// The line [`Reply::to_line`] makes, without its `\n`. Panics unless that is exactly one
/// line.
pub fn wire_line(reply: &Reply) -> String {
    let line = reply.to_line();
    let text = line
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{line:?} does not end with \\n"));
    assert!(!text.contains('\n'), "{line:?} is more than one line");
    text.to_owned()
}

/// How many variants [`Command`] has.
pub const COMMAND_VARIANTS: usize = 30;

/// A distinct number per [`Command`] variant, below [`COMMAND_VARIANTS`], so a test can tell
/// whether its examples cover every variant. The match is exhaustive: a new variant does not
/// compile until it is numbered here (and the count raised), and then such a test fails until
/// it has an example.
pub fn command_variant(command: &Command<'_>) -> usize {
    match command {
        Command::Nick(_) => 0,
        Command::Msg { .. } => 1,
        Command::All { .. } => 2,
        Command::Who => 3,
        Command::Ping { .. } => 4,
        Command::Pong { .. } => 5,
        Command::Quit { .. } => 6,
        Command::Help => 7,
        Command::Join { .. } => 8,
        Command::Part { .. } => 9,
        Command::MsgRoom { .. } => 10,
        Command::WhoRoom(_) => 11,
        Command::Rooms => 12,
        Command::Topic { .. } => 13,
        Command::Key { .. } => 14,
        Command::Private { .. } => 15,
        Command::Invite { .. } => 16,
        Command::HelpFor(_) => 17,
        Command::TopicQuery(_) => 18,
        Command::Cap(_) => 19,
        Command::Me { .. } => 20,
        Command::Away { .. } => 21,
        Command::Stats => 22,
        Command::History(_) => 23,
        Command::Register(_) => 24,
        Command::RegisterRoom(_) => 25,
        Command::Login { .. } => 26,
        Command::Password { .. } => 27,
        Command::Unregister(_) => 28,
        Command::Upload { .. } => 29,
    }
}

/// How many variants [`Reply`] has.
pub const REPLY_VARIANTS: usize = 50;

/// A distinct number per [`Reply`] variant, below [`REPLY_VARIANTS`], as [`command_variant`]
/// is for commands.
pub fn reply_variant(reply: &Reply) -> usize {
    match reply {
        Reply::Hello { .. } => 0,
        Reply::OkNick(_) => 1,
        Reply::Join(_) => 2,
        Reply::NickChanged { .. } => 3,
        Reply::Msg { .. } => 4,
        Reply::All { .. } => 5,
        Reply::Who(_) => 6,
        Reply::EndWho => 7,
        Reply::Pong { .. } => 8,
        Reply::Ping { .. } => 9,
        Reply::Bye { .. } => 10,
        Reply::Quit { .. } => 11,
        Reply::Help { .. } => 12,
        Reply::EndHelp => 13,
        Reply::Err { .. } => 14,
        Reply::OkJoin(_) => 15,
        Reply::OkPart(_) => 16,
        Reply::RoomJoin { .. } => 17,
        Reply::RoomPart { .. } => 18,
        Reply::RoomMsg { .. } => 19,
        Reply::RoomWho { .. } => 20,
        Reply::EndRoomWho(_) => 21,
        Reply::RoomInfo { .. } => 22,
        Reply::EndRooms => 23,
        Reply::TopicIs { .. } => 24,
        Reply::OkKey(_) => 25,
        Reply::OkPrivate { .. } => 26,
        Reply::OkInvite { .. } => 27,
        Reply::Invited { .. } => 28,
        Reply::NoTopic(_) => 29,
        Reply::OkCap(_) => 30,
        Reply::OkAway { .. } => 31,
        Reply::Me { .. } => 32,
        Reply::Away { .. } => 33,
        Reply::Owner { .. } => 34,
        Reply::Presence { .. } => 35,
        Reply::Stat { .. } => 36,
        Reply::EndStats => 37,
        Reply::Hist { .. } => 38,
        Reply::EndHistory { .. } => 39,
        Reply::OkRegister(_) => 40,
        Reply::OkRegisterRoom(_) => 41,
        Reply::OkLogin(_) => 42,
        Reply::OkPassword => 43,
        Reply::OkUnregister(_) => 44,
        Reply::OkStored(_) => 45,
        Reply::OkUpload { .. } => 46,
        Reply::OkFile { .. } => 47,
        Reply::File { .. } => 48,
        Reply::RoomFile { .. } => 49,
        Reply::LobbyFile { .. } => 50,
    }
}
