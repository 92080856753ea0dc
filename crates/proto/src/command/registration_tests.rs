//! Unit tests of how `command` serves the registration gate: the word of a line is read
//! before its arguments, and it alone says whether the line needs a nick.

use super::*;
use crate::names::NickFault;

#[test]
fn registration_is_judged_by_the_command_word() {
    for line in [
        "MSG",
        "msg 1abc hi",
        "  ALL",
        "who",
        "WHO x",
        "MSG #a hi",
        "WHO #",
        "join",
        "JOIN #a",
        "PART",
        "rooms",
        "TOPIC #a x",
        "KEY",
        "private #a on",
        "INVITE bob #a",
        "ME * waves",
        "me",
        "AWAY",
        "away lunch",
        "TOPIC #a",
        "REGISTER hunter2hunter2",
        "register #a",
        "REGISTER short",
        "PASSWORD",
        "password old newnewnew",
        "UNREGISTER x",
    ] {
        assert!(gated(line), "{line}");
    }
    for line in [
        "NICK a",
        "PING",
        "QUIT",
        "HELP",
        "MSGX",
        "",
        "FROB",
        "ROOM",
        "JOINS",
        "#a",
        // Found by the parse_command fuzzer, whose own rule had not learnt that PONG
        // answers the server's PING before registration too.
        "PONG",
        "pong idle",
        "CAP actions",
        "cap",
        "CAP ids",
        "HELP MSG",
        "help frob",
        // Logging in is how a registered nick is taken, so it comes before NICK.
        "LOGIN alice hunter2hunter2",
        "login",
        "LOGIN 1abc x",
    ] {
        assert!(!gated(line), "{line}");
    }
}

/// What the session does before registration: refuse the line if its word needs a nick.
fn gated(line: &str) -> bool {
    matches!(CommandLine::read(line), Ok(Some(command)) if command.needs_registration())
}

#[test]
fn issue_11_the_word_is_read_before_the_arguments() {
    // The session judges registration on the word alone, so `MSG` with bad arguments before
    // `NICK` is NOT_REGISTERED, not the argument's error.
    for (line, word, argument_error) in [
        (
            "MSG",
            CommandWord::Msg,
            ProtocolError::MissingArgument {
                command: CommandWord::Msg,
                needs: "a nick or #room and a text",
                after: None,
            },
        ),
        (
            "msg 1abc hi",
            CommandWord::Msg,
            ProtocolError::NoSuchNick("1abc".to_owned()),
        ),
        (
            "  JOIN chat",
            CommandWord::Join,
            ProtocolError::BadRoom("chat".to_owned()),
        ),
        (
            "PRIVATE #a yes",
            CommandWord::Private,
            ProtocolError::BadArgument {
                command: CommandWord::Private,
                takes: "on or off",
                got: "yes".to_owned(),
            },
        ),
        (
            "NICK 9lives",
            CommandWord::Nick,
            ProtocolError::BadNick(NickFault::FirstNotLetter),
        ),
        (
            "REGISTER short",
            CommandWord::Register,
            ProtocolError::WeakPassword(crate::password::PasswordFault::TooShort),
        ),
        (
            "LOGIN 1abc hunter2hunter2",
            CommandWord::Login,
            ProtocolError::NoSuchNick("1abc".to_owned()),
        ),
    ] {
        let read = CommandLine::read(line).unwrap().unwrap();
        assert_eq!(read.word(), word, "{line:?}");
        assert_eq!(
            read.needs_registration(),
            !matches!(word, CommandWord::Nick | CommandWord::Login),
            "{line:?}"
        );
        assert_eq!(read.parse(), Err(argument_error), "{line:?}");
    }
}
