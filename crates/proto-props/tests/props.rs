//! Property tests of the pure protocol modules, `line_buffer` and `protocol`, over generated
//! input.
//!
//! What they prove, each for every generated case:
//! - Framing does not depend on how the stream arrives: any byte stream cut into any chunks
//!   gives the same frames, and the same `parse_command` results, as the whole stream pushed at
//!   once, for several `--max-line` values down to the smallest allowed. The frames are also the
//!   ones the contract describes (`frames_follow_the_contract`).
//! - `LineBuffer` stays within its documented bound: once drained, it holds less than
//!   `max_line` bytes, and right after a push at most that plus the pushed chunk.
//! - `parse_command` never panics, and what it accepts is consistent: valid nicks, texts kept
//!   as sent, the same registration rule as `needs_registration`, and a `Display` that parses
//!   back to the same command. Its errors format as `ERR` lines that parse back.
//! - Every `Reply` the server can build (nicks and texts as `parse_command` hands them over)
//!   formats as one line that `Reply::parse` turns back into the same reply.
//!
//! Out of scope: sockets and sessions (`tests/it`), and long searches (the fuzz targets in
//! `fuzz/`). Each property runs `DEFAULT_CASES` cases so `cargo test` stays quick; set
//! `PROPTEST_CASES` for a longer run, e.g. `PROPTEST_CASES=20000 cargo test --test props`.

use chatd_proto::{
    Command, MAX_NICK_LEN, Nick, NickFault, ProtocolError, Reply, needs_registration, parse_command,
};
use chatd_proto::{Frame, LineBuffer};
use proptest::prelude::*;
use proptest::sample::Index;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const DEFAULT_CASES: u32 = 256;

/// The `max_line` values every stream is framed with: the smallest allowed, a few small ones
/// that make most generated lines too long, and ones that fit them all.
const MAX_LINES: [usize; 7] = [2, 3, 4, 7, 16, 64, 4096];

fn config() -> ProptestConfig {
    let default = ProptestConfig::default();
    ProptestConfig {
        // ProptestConfig::default() already honours PROPTEST_CASES; only replace its 256
        // when the variable is not set, so a longer run is one variable away.
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            default.cases
        } else {
            DEFAULT_CASES
        },
        // A failure is printed shrunk; it becomes a named regression test in the module it
        // concerns, rather than a seed file next to this one.
        failure_persistence: None,
        ..default
    }
}

// Generators.

/// A valid nick, up to the longest allowed.
fn nick() -> impl Strategy<Value = Nick> {
    "[A-Za-z][A-Za-z0-9_-]{0,31}".prop_map(|text| Nick::parse(&text).unwrap())
}

/// One argument of a generated command line: nick-like words, near misses, printable text,
/// control characters and any Unicode.
fn argument() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z][A-Za-z0-9_-]{0,34}",
        1 => "[0-9_#-][A-Za-z0-9]{0,4}",
        3 => "[ -~]{0,24}",
        1 => "[\t\r\u{b}\u{c}\u{1b}\u{a0}\u{3000} ]{1,3}",
        1 => any::<String>(),
    ]
}

/// A line shaped like a command: known words in any case, unknown words, up to three
/// arguments separated by runs of spaces.
fn command_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        8 => prop::sample::select(vec!["NICK", "MSG", "ALL", "WHO", "PING", "QUIT", "HELP"])
            .prop_map(str::to_owned),
        2 => prop::sample::select(vec!["nick", "Msg", "aLL", "who", "Ping", "quit", "help"])
            .prop_map(str::to_owned),
        1 => "[A-Za-z]{0,6}",
    ];
    let separator = prop_oneof![4 => Just(" "), 1 => Just("  "), 1 => Just("\t")];
    (
        "[ ]{0,2}",
        word,
        prop::collection::vec((separator, argument()), 0..4),
    )
        .prop_map(|(indent, word, arguments)| {
            let mut line = indent + &word;
            for (separator, argument) in arguments {
                line.push_str(separator);
                line.push_str(&argument);
            }
            line
        })
}

/// One piece of a client byte stream: mostly command lines with every kind of ending, and
/// over-long lines, invalid UTF-8 and raw bytes.
fn stream_piece() -> impl Strategy<Value = Vec<u8>> {
    let ending = prop::sample::select(vec![&b"\n"[..], b"\r\n", b"\r\r\n", b"\r", b""]);
    let command_line = (command_text(), ending).prop_map(|(text, ending)| {
        let mut bytes = text.into_bytes();
        bytes.extend_from_slice(ending);
        bytes
    });
    let long_line = (0..300usize, prop::bool::ANY).prop_map(|(len, crlf)| {
        let mut bytes = b"ALL ".to_vec();
        bytes.resize(4 + len, b'x');
        bytes.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        bytes
    });
    // Lone continuation bytes, a truncated two-byte sequence, an overlong encoding, a
    // surrogate, bytes that never appear in UTF-8.
    let bad_utf8 = (
        "[ -~]{0,8}",
        prop::sample::select(vec![
            &b"\x80"[..],
            b"\xc3",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xff\xfe",
            b"\xf0\x9f\x98",
        ]),
    )
        .prop_map(|(text, bad)| {
            let mut bytes = text.into_bytes();
            bytes.extend_from_slice(bad);
            bytes.push(b'\n');
            bytes
        });
    prop_oneof![
        8 => command_line,
        1 => long_line,
        1 => bad_utf8,
        1 => prop::collection::vec(any::<u8>(), 0..24),
    ]
}

/// A client byte stream: either arbitrary bytes or protocol-looking pieces.
fn byte_stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        3 => prop::collection::vec(stream_piece(), 0..24).prop_map(|pieces| pieces.concat()),
    ]
}

/// Cuts a stream at the given positions (any order, repeats give empty chunks).
fn cut<'a>(stream: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
    let mut positions: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
    positions.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for to in positions {
        chunks.push(&stream[from..to]);
        from = to;
    }
    chunks.push(&stream[from..]);
    chunks
}

/// A text as the server relays it: what `parse_command` accepts as the text of `ALL`, from a
/// line the framer could deliver (so without `\n`).
fn relayed_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{1,30}",
        1 => "[^\n]{1,20}",
        1 => "[a-z \t\r\u{1b}\u{a0}]{1,10}",
    ]
    .prop_filter_map("not a text ALL accepts", |text| {
        match parse_command(&format!("ALL {text}")) {
            Ok(Some(Command::All { text })) => Some(text.to_owned()),
            _ => None,
        }
    })
}

/// Every error the server can send, with the free parts generated.
fn protocol_error() -> impl Strategy<Value = ProtocolError> {
    prop_oneof![
        Just(ProtocolError::NotRegistered),
        nick().prop_map(ProtocolError::NickTaken),
        prop::sample::select(vec![
            NickFault::Empty,
            NickFault::TooLong,
            NickFault::FirstNotLetter,
            NickFault::BadCharacter,
        ])
        .prop_map(ProtocolError::BadNick),
        any::<String>().prop_map(ProtocolError::NoSuchNick),
        any::<String>().prop_map(ProtocolError::UnknownCommand),
        prop::sample::select(vec!["NICK", "MSG", "ALL"]).prop_map(ProtocolError::MissingArgument),
        any::<usize>().prop_map(|max| ProtocolError::LineTooLong { max }),
        Just(ProtocolError::BadEncoding),
        any::<usize>().prop_map(|max| ProtocolError::ServerFull { max }),
        any::<usize>().prop_map(|max| ProtocolError::TooManyConnections { max }),
    ]
}

/// Every `Reply` variant, built from valid nicks and relayed texts.
fn reply() -> impl Strategy<Value = Reply> {
    let text = relayed_text;
    prop_oneof![
        text().prop_map(|text| Reply::Hello { text }),
        Just(Reply::hello()),
        nick().prop_map(Reply::OkNick),
        nick().prop_map(Reply::Join),
        (nick(), nick()).prop_map(|(old, new)| Reply::NickChanged { old, new }),
        (nick(), text()).prop_map(|(from, text)| Reply::Msg { from, text }),
        (nick(), text()).prop_map(|(from, text)| Reply::All { from, text }),
        prop::collection::vec(nick(), 0..6).prop_map(Reply::Who),
        Just(Reply::EndWho),
        prop::option::of(text()).prop_map(|token| Reply::Pong { token }),
        prop::option::of(text()).prop_map(|token| Reply::Ping { token }),
        prop::option::of(text()).prop_map(|reason| Reply::Bye { reason }),
        (nick(), prop::option::of(text())).prop_map(|(nick, reason)| Reply::Quit { nick, reason }),
        text().prop_map(|text| Reply::Help { text }),
        prop::sample::select(Reply::help()),
        Just(Reply::EndHelp),
        protocol_error().prop_map(|error| Reply::from(&error)),
    ]
}

// Helpers.

/// An owned frame, to compare runs fed in different chunkings.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Line(String),
    TooLong,
    BadEncoding,
}

/// Frames a stream pushed chunk by chunk, draining after each push as the server does, and
/// checks the buffer's documented bound along the way.
fn frames(max_line: usize, chunks: &[&[u8]]) -> Vec<Owned> {
    let mut buffer = LineBuffer::new(max_line);
    let mut out = Vec::new();
    for chunk in chunks {
        let before = buffer.pending_len();
        buffer.push(chunk);
        // "Holds less than max_line bytes of an unfinished line, plus whatever the last push
        // brought."
        assert!(
            buffer.pending_len() <= before + chunk.len(),
            "push grew the buffer by more than the chunk"
        );
        while let Some(frame) = buffer.next_frame() {
            out.push(match frame {
                Frame::Line(line) => Owned::Line(line.to_owned()),
                Frame::TooLong => Owned::TooLong,
                Frame::BadEncoding => Owned::BadEncoding,
            });
        }
        assert!(
            buffer.pending_len() < max_line,
            "{} bytes pending with max_line {max_line}",
            buffer.pending_len()
        );
    }
    out
}

/// The frames protocol.md describes, computed the obvious way: split at each `\n`; a line
/// longer than the limit with its `\n` is too long; otherwise drop one `\r` before the `\n` and
/// check UTF-8. An unfinished tail is reported too long once it alone reaches the limit (its
/// `\n` could no longer fit), and otherwise waits.
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

fn lines(frames: &[Owned]) -> Vec<&str> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            Owned::Line(line) => Some(line.as_str()),
            _ => None,
        })
        .collect()
}

/// A server line without its `\n`, checking that `to_line` makes exactly one line of it.
fn wire_line(reply: &Reply) -> String {
    let line = reply.to_line();
    let text = line.strip_suffix('\n').expect("a reply line ends with \\n");
    assert!(!text.contains('\n'), "{line:?} is more than one line");
    text.to_owned()
}

// Properties.

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_chunking_gives_the_same_frames_and_commands(
        stream in byte_stream(),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
    ) {
        let chunks = cut(&stream, &cuts);
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        for max_line in MAX_LINES {
            let whole = frames(max_line, &[&stream]);
            let split = frames(max_line, &chunks);
            prop_assert_eq!(&split, &whole, "max_line {}, chunks {:?}", max_line, chunks);
            let bytewise = frames(max_line, &bytes);
            prop_assert_eq!(&bytewise, &whole, "max_line {}, one byte at a time", max_line);
            let commands = |frames| {
                lines(frames).into_iter().map(parse_command).collect::<Vec<_>>()
            };
            prop_assert_eq!(commands(&split), commands(&whole));
        }
    }

    #[test]
    fn frames_follow_the_contract(stream in byte_stream()) {
        for max_line in MAX_LINES {
            let got = frames(max_line, &[&stream]);
            prop_assert_eq!(&got, &contract_frames(max_line, &stream), "max_line {}", max_line);
            for line in lines(&got) {
                prop_assert!(!line.contains('\n'));
                prop_assert!(line.len() < max_line, "{:?} breaks max_line {}", line, max_line);
            }
        }
    }

    #[test]
    fn memory_stays_bounded_after_any_input(
        stream in byte_stream(),
        cuts in prop::collection::vec(any::<Index>(), 0..12),
        max_line in prop_oneof![2..=8usize, Just(64usize), Just(4096usize)],
    ) {
        // The bounds are asserted after every push and drain inside `frames`.
        frames(max_line, &cut(&stream, &cuts));
    }

    #[test]
    fn parse_command_never_panics_and_is_consistent(
        line in prop_oneof![2 => command_text(), 1 => any::<String>()],
    ) {
        let parsed = parse_command(&line);
        let blank = line.trim().is_empty();
        prop_assert_eq!(blank, matches!(parsed, Ok(None)), "{:?} gave {:?}", line, parsed);
        match parsed {
            Ok(None) => {}
            Ok(Some(command)) => {
                let texts: Vec<&str> = match &command {
                    Command::Nick(nick) => {
                        prop_assert_eq!(Nick::parse(nick.as_str()), Ok(nick.clone()));
                        prop_assert!(nick.as_str().len() <= MAX_NICK_LEN);
                        vec![nick.as_str()]
                    }
                    Command::Msg { to, text } => {
                        prop_assert_eq!(Nick::parse(to.as_str()), Ok(to.clone()));
                        vec![*text]
                    }
                    Command::All { text } => vec![*text],
                    Command::Ping { token: Some(text) } | Command::Quit { reason: Some(text) } => {
                        vec![*text]
                    }
                    _ => Vec::new(),
                };
                // A free text is the rest of the line as sent: never blank, never starting
                // with the spaces that separate it.
                for text in texts {
                    prop_assert!(line.ends_with(text), "{:?} does not end {:?}", text, line);
                    prop_assert!(!text.trim().is_empty(), "{:?}", text);
                    prop_assert!(!text.starts_with(' '), "{:?}", text);
                }
                let gated = !matches!(
                    command,
                    Command::Nick(_) | Command::Ping { .. } | Command::Quit { .. } | Command::Help
                );
                prop_assert_eq!(needs_registration(&line), gated, "{:?}", line);
                let formatted = command.to_string();
                prop_assert_eq!(parse_command(&formatted), Ok(Some(command)));
            }
            Err(error) => {
                prop_assert!(ProtocolError::ALL_CODES.contains(&error.code()));
                prop_assert_ne!(&error, &ProtocolError::NotRegistered);
                let reply = Reply::from(&error);
                prop_assert_eq!(Reply::parse(&wire_line(&reply)), Ok(reply));
            }
        }
    }

    #[test]
    fn every_reply_round_trips(reply in reply()) {
        // A text may end in '\r' (the client sent `ALL x\r\r\n`), so the round trip is checked
        // on the line as a reader that strips only the '\n' sees it.
        prop_assert_eq!(Reply::parse(&wire_line(&reply)), Ok(reply));
    }
}
