//! Generators of names, texts, client lines and byte streams, and the helpers that cut and
//! read streams.

use chatd_proto::oracle::OwnedFrame;
use chatd_proto::{COMMAND_WORDS, Command, Nick, Password, Room, parse_command};
use proptest::prelude::*;
use proptest::sample::Index;

// Generators of names and texts.

/// A valid nick, up to the longest allowed.
pub fn nick() -> impl Strategy<Value = Nick> {
    "[A-Za-z][A-Za-z0-9_-]{0,31}".prop_map(|text| Nick::parse(&text).unwrap())
}

/// A valid room name, up to the longest allowed.
pub fn room() -> impl Strategy<Value = Room> {
    "#[A-Za-z0-9_-]{1,48}".prop_map(|text| Room::parse(&text).unwrap())
}

/// A text as the server relays it: what `parse_command` accepts as the text of `ALL`, from a
/// line the framer could deliver (so without `\n`), and so without anything the text rule
/// refuses (issue 13).
pub fn relayed_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{1,30}",
        1 => "[^\n]{1,20}",
        1 => "[a-z \t\u{a0}\u{200f}\u{2070}\u{ffff}]{1,10}",
    ]
    .prop_filter_map("not a text ALL accepts", |text| {
        match parse_command(&format!("ALL {text}")) {
            Ok(Some(Command::All { text })) => Some(text.to_owned()),
            _ => None,
        }
    })
}

/// A new password as `REGISTER` takes it: one that meets the rule (8 to 128 bytes, no
/// space) and does not start with `#`, which would make it a room.
pub fn new_password() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[!-~]{8,40}",
        1 => "[^ \n]{4,30}",
    ]
    .prop_filter("breaks the rule, or names a room", |text| {
        Password::new(text).is_ok() && !text.starts_with('#')
    })
}

/// A password as `LOGIN` and `UNREGISTER` hand it over, held to no rule: the rest of the
/// line, spaces and all.
pub fn given_password() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{1,30}",
        1 => "[^\n]{1,20}",
    ]
    .prop_filter_map(
        "not a password UNREGISTER accepts",
        |text| match parse_command(&format!("UNREGISTER {text}")) {
            Ok(Some(Command::Unregister(password))) => Some(password.expose().to_owned()),
            _ => None,
        },
    )
}

/// A file name as `UPLOAD` takes it: the rest of the line, held to the name rule.
pub fn file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{1,30}",
        1 => "[^\n]{1,20}",
        1 => "[./\\%]{1,4}",
    ]
    .prop_filter_map("not a name UPLOAD accepts", |text| {
        match parse_command(&format!("UPLOAD * 1 {text}")) {
            Ok(Some(Command::Upload { name, .. })) => Some(name.as_str().to_owned()),
            _ => None,
        }
    })
}

/// A download or upload URL as the server writes one: a word.
pub fn url() -> impl Strategy<Value = String> {
    "https?://[a-z0-9.:]{1,20}/(files|upload)/[0-9a-f]{32}(/[A-Za-z0-9%._~-]{1,30})?"
}

/// One word, without spaces: the old password of `PASSWORD`.
pub fn one_word() -> impl Strategy<Value = String> {
    "[^ \n]{1,20}"
}

/// A text for the text rule: printable ASCII runs of every length (so refused characters fall
/// at every place of the scan's eight-byte words), refused characters and their neighbours
/// in UTF-8, and any character.
pub fn ruled_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\t', '\n', '\r', '\u{0}', '\u{1b}', '\u{1f}', ' ', '~', '\u{7f}', '\u{80}', '\u{85}',
        '\u{9f}', '\u{a0}', '\u{c2}', '\u{e2}', '\u{2027}', '\u{2028}', '\u{2029}', '\u{202a}',
        '\u{202e}', '\u{202f}', '\u{2065}', '\u{2066}', '\u{2069}', '\u{206a}', '\u{200f}',
        '\u{fffd}', '😀',
    ]);
    let piece = prop_oneof![
        4 => "[ -~]{0,17}",
        3 => special.prop_map(String::from),
        1 => any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|pieces| pieces.concat())
}

// Generators of client lines and byte streams.

/// One argument of a generated command line: nick-like and room-like words, near misses,
/// switches, the lobby's `*`, capability and command names, printable text, control
/// characters and any Unicode.
pub fn argument() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z][A-Za-z0-9_-]{0,34}",
        3 => "#[A-Za-z0-9_-]{0,50}",
        1 => "#[ -~]{0,8}",
        1 => prop::sample::select(vec!["on", "off", "ON", "Off", "yes"]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["*", "**", "actions", "Away", "owner", "ids", "msg", "PONG"])
            .prop_map(str::to_owned),
        1 => "[0-9_#-][A-Za-z0-9]{0,4}",
        3 => "[ -~]{0,24}",
        1 => "[\t\r\u{b}\u{c}\u{1b}\u{a0}\u{3000} ]{1,3}",
        1 => any::<String>(),
    ]
}

/// A command word: every word of the table as the server spells it, or in another case.
fn command_word() -> impl Strategy<Value = String> {
    let names: Vec<&str> = COMMAND_WORDS.iter().map(|row| row.name).collect();
    prop_oneof![
        8 => prop::sample::select(names.clone()).prop_map(str::to_owned),
        2 => (prop::sample::select(names), any::<Index>()).prop_map(|(name, flips)| {
            // Flip the case of some letters, chosen by the bits of one number.
            let bits = flips.index(usize::MAX);
            name.chars()
                .enumerate()
                .map(|(i, c)| if bits >> (i % 64) & 1 == 1 { c.to_ascii_lowercase() } else { c })
                .collect()
        }),
        1 => "[A-Za-z]{0,7}",
    ]
}

/// A line shaped like a command: known words in any case, unknown words, up to three
/// arguments separated by runs of spaces (or a tab, which is no separator).
pub fn command_text() -> impl Strategy<Value = String> {
    let separator = prop_oneof![4 => Just(" "), 1 => Just("  "), 1 => Just("\t")];
    (
        "[ ]{0,2}",
        command_word(),
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
pub fn byte_stream() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        3 => prop::collection::vec(stream_piece(), 0..24).prop_map(|pieces| pieces.concat()),
    ]
}

/// Cuts a stream at the given positions (any order, repeats give empty chunks).
pub fn cut<'a>(stream: &'a [u8], cuts: &[Index]) -> Vec<&'a [u8]> {
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

pub fn lines(frames: &[OwnedFrame]) -> Vec<&str> {
    frames
        .iter()
        .filter_map(|frame| match frame {
            OwnedFrame::Line(line) => Some(line.as_str()),
            _ => None,
        })
        .collect()
}
