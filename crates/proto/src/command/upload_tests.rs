//! Unit tests of `UPLOAD` in `command` (issue 17): its targets, its size, its name and the
//! errors of each, and the round trip through `Display`.

use super::*;
use crate::error::ErrorCode;
use crate::file_name::FileNameFault;

fn check(line: &str, expected: Result<Option<Command<'_>>, ProtocolError>) {
    assert_eq!(parse_command(line), expected, "parsing {line:?}");
}

fn upload(target: Target, size: u64, name: &str) -> Result<Option<Command<'_>>, ProtocolError> {
    Ok(Some(Command::Upload {
        target,
        size,
        name: FileName::parse(name).unwrap(),
    }))
}

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

#[test]
fn issue_17_upload_takes_a_target_a_size_and_the_rest_as_the_name() {
    check("UPLOAD * 12 a.txt", upload(Target::Lobby, 12, "a.txt"));
    check(
        "upload #Tea  0  two  words.png ",
        upload(
            Target::Room(Room::parse("#Tea").unwrap()),
            0,
            "two  words.png ",
        ),
    );
    check(
        "UPLOAD bob 18446744073709551615 ..\\..\\x",
        upload(Target::Nick(nick("bob")), u64::MAX, "..\\..\\x"),
    );
    check(
        "UPLOAD bob 1 %2F",
        upload(Target::Nick(nick("bob")), 1, "%2F"),
    );
}

#[test]
fn issue_17_a_missing_argument_is_named() {
    for (line, needs, after) in [
        ("UPLOAD", "a target, a size and a name", None),
        ("UPLOAD bob", "a size and a name", Some("bob")),
        ("UPLOAD bob 12", "a file name", Some("12")),
        ("UPLOAD bob 12   ", "a file name", Some("12")),
    ] {
        check(
            line,
            Err(ProtocolError::MissingArgument {
                command: CommandWord::Upload,
                needs,
                after: after.map(str::to_owned),
            }),
        );
    }
}

#[test]
fn issue_17_a_bad_size_target_or_name_is_refused_with_its_code() {
    for size in ["-1", "+1", "1k", "0x10", "18446744073709551616", "½"] {
        check(
            &format!("UPLOAD bob {size} a"),
            Err(ProtocolError::BadArgument {
                command: CommandWord::Upload,
                takes: "a size in bytes",
                got: size.to_owned(),
            }),
        );
    }
    check(
        "UPLOAD 9lives 1 a",
        Err(ProtocolError::NoSuchNick("9lives".to_owned())),
    );
    check(
        "UPLOAD #a\tb 1 a",
        Err(ProtocolError::BadRoom("#a\tb".to_owned())),
    );
    for (name, fault) in [
        ("../../x", FileNameFault::Slash),
        ("..", FileNameFault::Dots),
        (".", FileNameFault::Dots),
    ] {
        check(
            &format!("UPLOAD * 1 {name}"),
            Err(ProtocolError::BadFileName(fault)),
        );
    }
    let error = parse_command("UPLOAD * 1 a\u{1b}]0;x").unwrap_err();
    assert_eq!(error.code(), ErrorCode::BadFileName);
    let long = "x".repeat(256);
    let error = parse_command(&format!("UPLOAD * 1 {long}")).unwrap_err();
    assert_eq!(
        error,
        ProtocolError::BadFileName(FileNameFault::TooLong(256))
    );
    assert_eq!(
        error.to_string(),
        "a file name has at most 255 bytes, not 256"
    );
}

#[test]
fn issue_17_upload_needs_registration_and_formats_back() {
    let line = CommandLine::read("UPLOAD * 1 a").unwrap().unwrap();
    assert!(line.needs_registration());
    for line in [
        "UPLOAD * 12 a.txt",
        "UPLOAD #tea 0 two  words ",
        "UPLOAD bob 7 été 😀.png",
    ] {
        let command = parse_command(line).unwrap().unwrap();
        assert_eq!(command.word(), CommandWord::Upload);
        assert_eq!(command.to_string(), line);
    }
}
