//! Unit tests of `command`: every command, its arguments and its errors, through one
//! `check(line, expected)` helper, and a round trip for every `Command` variant.

use super::*;
use crate::caps::Capability;
use crate::names::{MAX_NICK_LEN, MAX_ROOM_LEN, NickFault};
use crate::oracle::{COMMAND_VARIANTS, command_variant};

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn room(text: &str) -> Room {
    Room::parse(text).unwrap()
}

fn bad_room(text: &str) -> Result<Option<Command<'static>>, ProtocolError> {
    Err(ProtocolError::BadRoom(text.to_owned()))
}

/// `MISSING_ARGUMENT` for `command`, naming what it `needs`, after the word `after` if any.
fn missing(
    command: CommandWord,
    needs: &'static str,
    after: Option<&str>,
) -> Result<Option<Command<'static>>, ProtocolError> {
    Err(ProtocolError::MissingArgument {
        command,
        needs,
        after: after.map(str::to_owned),
    })
}

fn check(line: &str, expected: Result<Option<Command<'_>>, ProtocolError>) {
    assert_eq!(parse_command(line), expected, "parsing {line:?}");
}

#[test]
fn parses_every_command() {
    check("NICK alice", Ok(Some(Command::Nick(nick("alice")))));
    check(
        "MSG bob hello there",
        Ok(Some(Command::Msg {
            to: nick("bob"),
            text: "hello there",
        })),
    );
    check("ALL hi all", Ok(Some(Command::All { text: "hi all" })));
    check("WHO", Ok(Some(Command::Who)));
    check("PING", Ok(Some(Command::Ping { token: None })));
    check("PING t 1", Ok(Some(Command::Ping { token: Some("t 1") })));
    check("QUIT", Ok(Some(Command::Quit { reason: None })));
    check(
        "QUIT gone home",
        Ok(Some(Command::Quit {
            reason: Some("gone home"),
        })),
    );
    check("HELP", Ok(Some(Command::Help)));
}

#[test]
fn command_words_ignore_case() {
    check("nick Alice", Ok(Some(Command::Nick(nick("Alice")))));
    check(
        "mSg bob x",
        Ok(Some(Command::Msg {
            to: nick("bob"),
            text: "x",
        })),
    );
    check("all x", Ok(Some(Command::All { text: "x" })));
    check("who", Ok(Some(Command::Who)));
    check("Ping", Ok(Some(Command::Ping { token: None })));
    check("quit", Ok(Some(Command::Quit { reason: None })));
    check("help", Ok(Some(Command::Help)));
}

#[test]
fn blank_lines_are_ignored() {
    check("", Ok(None));
    check("   ", Ok(None));
}

#[test]
fn text_keeps_its_own_spacing() {
    check("ALL  a  b ", Ok(Some(Command::All { text: "a  b " })));
    check("  ALL x", Ok(Some(Command::All { text: "x" })));
}

#[test]
fn missing_arguments() {
    use CommandWord::{All, Msg, Nick};
    check("NICK", missing(Nick, "a nick", None));
    check("NICK ", missing(Nick, "a nick", None));
    check("MSG", missing(Msg, "a nick or #room and a text", None));
    check("MSG bob", missing(Msg, "a text", Some("bob")));
    check("MSG bob  ", missing(Msg, "a text", Some("bob")));
    check("ALL", missing(All, "a text", None));
    check("ALL   ", missing(All, "a text", None));
}

#[test]
fn issue_12_missing_argument_texts_name_what_is_missing() {
    for (line, text) in [
        ("MSG bob", "MSG needs a text after bob; try HELP MSG"),
        ("MSG #tea  ", "MSG needs a text after #tea; try HELP MSG"),
        ("MSG", "MSG needs a nick or #room and a text; try HELP MSG"),
        ("NICK", "NICK needs a nick; try HELP NICK"),
        ("ALL", "ALL needs a text; try HELP ALL"),
        ("JOIN", "JOIN needs a room; try HELP JOIN"),
        ("PART", "PART needs a room; try HELP PART"),
        ("TOPIC", "TOPIC needs a room; try HELP TOPIC"),
        ("KEY", "KEY needs a room; try HELP KEY"),
        (
            "PRIVATE",
            "PRIVATE needs a room and on or off; try HELP PRIVATE",
        ),
        (
            "PRIVATE #a",
            "PRIVATE needs on or off after #a; try HELP PRIVATE",
        ),
        ("INVITE", "INVITE needs a nick and a room; try HELP INVITE"),
        (
            "INVITE bob",
            "INVITE needs a room after bob; try HELP INVITE",
        ),
        ("CAP", "CAP needs a name; try HELP CAP"),
        ("ME", "ME needs a target and a text; try HELP ME"),
        ("ME *", "ME needs a text after *; try HELP ME"),
    ] {
        let error = parse_command(line).unwrap_err();
        assert_eq!(error.to_string(), text, "{line:?}");
    }
    // The word quoted back is cut short and shows no control characters.
    let long = format!("MSG {}\u{1b}", "b".repeat(100));
    let text = parse_command(&long).unwrap_err().to_string();
    assert!(
        text.len() < 90 && !text.chars().any(char::is_control),
        "{text}"
    );
}

#[test]
fn issue_12_topic_alone_asks_for_the_topic() {
    check("TOPIC #a", Ok(Some(Command::TopicQuery(room("#a")))));
    check("topic #A   ", Ok(Some(Command::TopicQuery(room("#A")))));
    check("TOPIC #a.b", bad_room("#a.b"));
    check("TOPIC", missing(CommandWord::Topic, "a room", None));
}

#[test]
fn issue_12_a_switch_that_is_not_on_or_off_is_a_bad_argument() {
    let bad = |got: &str| -> Result<Option<Command<'static>>, ProtocolError> {
        Err(ProtocolError::BadArgument {
            command: CommandWord::Private,
            takes: "on or off",
            got: got.to_owned(),
        })
    };
    check("PRIVATE #a maybe", bad("maybe"));
    check("PRIVATE #a on off", bad("on off"));
    check("PRIVATE #a on ", bad("on "));
    // Counted first, then checked left to right: the room before the switch.
    check("PRIVATE #a.b maybe", bad_room("#a.b"));
    check(
        "PRIVATE #a.b",
        missing(CommandWord::Private, "on or off", Some("#a.b")),
    );
    assert_eq!(
        parse_command("PRIVATE #tea maybe").unwrap_err().to_string(),
        "PRIVATE takes on or off, not \"maybe\""
    );
}

#[test]
fn issue_12_help_names_one_command() {
    check("HELP MSG", Ok(Some(Command::HelpFor(CommandWord::Msg))));
    check("help msg", Ok(Some(Command::HelpFor(CommandWord::Msg))));
    check(
        "HELP  Cap and more",
        Ok(Some(Command::HelpFor(CommandWord::Cap))),
    );
    check("HELP pong", Ok(Some(Command::HelpFor(CommandWord::Pong))));
    check("HELP   ", Ok(Some(Command::Help)));
    check("HELP \t", Ok(Some(Command::Help)));
    check(
        "HELP FOO",
        Err(ProtocolError::NoSuchCommand("FOO".to_owned())),
    );
    check(
        "HELP /me",
        Err(ProtocolError::NoSuchCommand("/me".to_owned())),
    );
    assert_eq!(
        parse_command("HELP foo").unwrap_err().to_string(),
        "no command foo; HELP lists them"
    );
}

#[test]
fn issue_12_cap_me_and_away() {
    for (line, cap) in [
        ("CAP actions", Capability::Actions),
        ("cap AWAY", Capability::Away),
        ("CAP Owner", Capability::Owner),
    ] {
        check(line, Ok(Some(Command::Cap(cap))));
    }
    // The name is the rest of the line, like the argument of NICK.
    for name in ["colors", "actions away", "owner ", "\tactions"] {
        check(
            &format!("CAP {name}"),
            Err(ProtocolError::BadCap(name.to_owned())),
        );
    }
    check("CAP  ", missing(CommandWord::Cap, "a name", None));
    assert_eq!(
        parse_command("CAP colors").unwrap_err().to_string(),
        "no capability called colors; there are actions, away, owner, presence, ids and files"
    );

    let me = |target, text| Ok(Some(Command::Me { target, text }));
    check("ME * waves  hi ", me(Target::Lobby, "waves  hi "));
    check("me bob waves", me(Target::Nick(nick("bob")), "waves"));
    check("ME #tea waves", me(Target::Room(room("#tea")), "waves"));
    check("ME bob", missing(CommandWord::Me, "a text", Some("bob")));
    check(
        "ME 1abc x",
        Err(ProtocolError::NoSuchNick("1abc".to_owned())),
    );
    check("ME ** x", Err(ProtocolError::NoSuchNick("**".to_owned())));
    check("ME #a.b x", bad_room("#a.b"));
    // Counted first: a bad target with no text is MISSING_ARGUMENT.
    check("ME #a.b", missing(CommandWord::Me, "a text", Some("#a.b")));

    check("AWAY", Ok(Some(Command::Away { text: None })));
    check("AWAY   ", Ok(Some(Command::Away { text: None })));
    check(
        "away gone  fishing ",
        Ok(Some(Command::Away {
            text: Some("gone  fishing "),
        })),
    );
}

#[test]
fn bad_nicks() {
    let bad = |fault| Err(ProtocolError::BadNick(fault));
    check("NICK has space", bad(NickFault::BadCharacter));
    check("NICK 9lives", bad(NickFault::FirstNotLetter));
    check("NICK _x", bad(NickFault::FirstNotLetter));
    check("NICK a.b", bad(NickFault::BadCharacter));
    check("NICK émile", bad(NickFault::FirstNotLetter));
    check("NICK #room", bad(NickFault::FirstNotLetter));
    check(&format!("NICK {}", "a".repeat(33)), bad(NickFault::TooLong));
    let longest = "a".repeat(MAX_NICK_LEN);
    check(
        &format!("NICK {longest}"),
        Ok(Some(Command::Nick(nick(&longest)))),
    );
    check("NICK a-b_9", Ok(Some(Command::Nick(nick("a-b_9")))));
}

#[test]
fn msg_to_something_that_cannot_be_a_nick_is_no_such_nick() {
    check(
        "MSG 1abc hi",
        Err(ProtocolError::NoSuchNick("1abc".to_owned())),
    );
}

#[test]
fn unknown_commands() {
    check(
        "FROB x",
        Err(ProtocolError::UnknownCommand("FROB".to_owned())),
    );
    check(
        "NICKS a",
        Err(ProtocolError::UnknownCommand("NICKS".to_owned())),
    );
}

#[test]
fn parses_every_room_command() {
    check(
        "JOIN #a",
        Ok(Some(Command::Join {
            room: room("#a"),
            key: None,
        })),
    );
    check(
        "join  #Chat  s3cret key ",
        Ok(Some(Command::Join {
            room: room("#Chat"),
            key: Some("s3cret key "),
        })),
    );
    check(
        "JOIN #a   ",
        Ok(Some(Command::Join {
            room: room("#a"),
            key: None,
        })),
    );
    check(
        "PART #a",
        Ok(Some(Command::Part {
            room: room("#a"),
            reason: None,
        })),
    );
    check(
        "Part #a see  you",
        Ok(Some(Command::Part {
            room: room("#a"),
            reason: Some("see  you"),
        })),
    );
    check(
        "MSG #a hi  there ",
        Ok(Some(Command::MsgRoom {
            room: room("#a"),
            text: "hi  there ",
        })),
    );
    check("WHO #a", Ok(Some(Command::WhoRoom(room("#a")))));
    check("who #A extra words", Ok(Some(Command::WhoRoom(room("#A")))));
    check("ROOMS", Ok(Some(Command::Rooms)));
    check("rooms please", Ok(Some(Command::Rooms)));
    check("STATS", Ok(Some(Command::Stats)));
    check("stats all of them", Ok(Some(Command::Stats)));
    check(
        "TOPIC #a all about  rust",
        Ok(Some(Command::Topic {
            room: room("#a"),
            text: "all about  rust",
        })),
    );
    check(
        "KEY #a",
        Ok(Some(Command::Key {
            room: room("#a"),
            key: None,
        })),
    );
    check(
        "key #a open sesame",
        Ok(Some(Command::Key {
            room: room("#a"),
            key: Some("open sesame"),
        })),
    );
    for (line, on) in [
        ("PRIVATE #a on", true),
        ("private #a ON", true),
        ("PRIVATE #a Off", false),
    ] {
        check(
            line,
            Ok(Some(Command::Private {
                room: room("#a"),
                on,
            })),
        );
    }
    check(
        "INVITE bob #a",
        Ok(Some(Command::Invite {
            nick: nick("bob"),
            room: room("#a"),
        })),
    );
}

#[test]
fn who_without_a_room_stays_v1_who() {
    check("WHO", Ok(Some(Command::Who)));
    check("WHO x", Ok(Some(Command::Who)));
    check("WHO x #a", Ok(Some(Command::Who)));
    check("WHO \t#a", Ok(Some(Command::Who)));
}

#[test]
fn room_commands_with_missing_arguments() {
    use CommandWord::{Invite, Join, Key, Msg, Part, Private, Topic};
    for (line, command, needs, after) in [
        ("JOIN", Join, "a room", None),
        ("JOIN   ", Join, "a room", None),
        ("PART", Part, "a room", None),
        ("MSG #a", Msg, "a text", Some("#a")),
        ("MSG #a   ", Msg, "a text", Some("#a")),
        ("MSG #", Msg, "a text", Some("#")),
        ("MSG #bad.name", Msg, "a text", Some("#bad.name")),
        ("TOPIC", Topic, "a room", None),
        ("KEY", Key, "a room", None),
        ("PRIVATE", Private, "a room and on or off", None),
        ("PRIVATE #a", Private, "on or off", Some("#a")),
        ("PRIVATE #a   ", Private, "on or off", Some("#a")),
        ("INVITE", Invite, "a nick and a room", None),
        ("INVITE bob", Invite, "a room", Some("bob")),
        ("INVITE bob  ", Invite, "a room", Some("bob")),
    ] {
        check(line, missing(command, needs, after));
    }
}

#[test]
fn room_commands_with_bad_room_names() {
    let too_long = format!("#{}", "a".repeat(MAX_ROOM_LEN + 1));
    check(&format!("JOIN {too_long}"), bad_room(&too_long));
    check(&format!("JOIN {too_long} key"), bad_room(&too_long));
    let longest = format!("#{}", "a".repeat(MAX_ROOM_LEN));
    check(
        &format!("JOIN {longest}"),
        Ok(Some(Command::Join {
            room: room(&longest),
            key: None,
        })),
    );
    check("JOIN #", bad_room("#"));
    check("JOIN chat", bad_room("chat"));
    check("JOIN #a.b key", bad_room("#a.b"));
    check("JOIN ##a", bad_room("##a"));
    check("JOIN \t#a", bad_room("\t#a"));
    check("PART #", bad_room("#"));
    check("PART chat bye", bad_room("chat"));
    check("MSG # hi", bad_room("#"));
    check("MSG #a! hi", bad_room("#a!"));
    check("WHO #", bad_room("#"));
    check("WHO #é", bad_room("#é"));
    check("TOPIC chat hello", bad_room("chat"));
    check("KEY #a+b", bad_room("#a+b"));
    check("PRIVATE chat on", bad_room("chat"));
    check("INVITE bob chat", bad_room("chat"));
    check("INVITE bob #", bad_room("#"));
    // The room of INVITE is the rest of the line, as the nick of NICK is.
    check("INVITE bob #a extra", bad_room("#a extra"));
    check("INVITE bob #a ", bad_room("#a "));
}

#[test]
fn invite_to_something_that_cannot_be_a_nick_is_no_such_nick() {
    check(
        "INVITE 1abc #a",
        Err(ProtocolError::NoSuchNick("1abc".to_owned())),
    );
    // Nick before room, left to right.
    check(
        "INVITE #a bob",
        Err(ProtocolError::NoSuchNick("#a".to_owned())),
    );
    check(
        "INVITE 1abc #",
        Err(ProtocolError::NoSuchNick("1abc".to_owned())),
    );
}

#[test]
fn commands_round_trip() {
    let commands = [
        Command::Nick(nick("alice")),
        Command::Msg {
            to: nick("bob"),
            text: "hi  there",
        },
        Command::All { text: "x" },
        Command::Who,
        Command::Ping { token: None },
        Command::Ping { token: Some("42") },
        Command::Pong {
            token: Some("idle"),
        },
        Command::Quit { reason: None },
        Command::Quit {
            reason: Some("bye now"),
        },
        Command::Help,
        Command::Join {
            room: room("#a"),
            key: None,
        },
        Command::Join {
            room: room("#Chat"),
            key: Some("two words"),
        },
        Command::Part {
            room: room("#a"),
            reason: None,
        },
        Command::Part {
            room: room("#a"),
            reason: Some("off  home "),
        },
        Command::MsgRoom {
            room: room("#a"),
            text: "hi  all",
        },
        Command::WhoRoom(room("#a-b")),
        Command::Rooms,
        Command::Topic {
            room: room("#a"),
            text: "new topic",
        },
        Command::Key {
            room: room("#a"),
            key: None,
        },
        Command::Key {
            room: room("#a"),
            key: Some("k"),
        },
        Command::Private {
            room: room("#a"),
            on: true,
        },
        Command::Private {
            room: room("#a"),
            on: false,
        },
        Command::Invite {
            nick: nick("bob"),
            room: room("#a"),
        },
        Command::HelpFor(CommandWord::Msg),
        Command::HelpFor(CommandWord::Pong),
        Command::TopicQuery(room("#a")),
        Command::Cap(Capability::Actions),
        Command::Cap(Capability::Owner),
        Command::Me {
            target: Target::Lobby,
            text: "waves  hi ",
        },
        Command::Me {
            target: Target::Nick(nick("bob")),
            text: "nods",
        },
        Command::Me {
            target: Target::Room(room("#a")),
            text: "#b *",
        },
        Command::Away { text: None },
        Command::Away {
            text: Some("out  to lunch"),
        },
        Command::Stats,
        Command::History(crate::history::HistoryRequest {
            target: Target::Room(room("#a")),
            count: 20,
            page: crate::history::Page::After(crate::message_id::MessageId::new(9).unwrap()),
        }),
        Command::Register(Password::new("hunter2hunter2").unwrap()),
        Command::RegisterRoom(room("#a")),
        Command::Login {
            nick: nick("alice"),
            password: Password::given("what  ever "),
        },
        Command::Password {
            old: Password::given("old#"),
            new: Password::new("new\tnew\tnew").unwrap(),
        },
        Command::Unregister(Password::given("x y")),
        Command::Upload {
            target: Target::Room(room("#a")),
            size: 10,
            name: crate::file_name::FileName::parse("a  b.txt").unwrap(),
        },
    ];
    let mut covered = [false; COMMAND_VARIANTS];
    for command in commands {
        covered[command_variant(&command)] = true;
        let line = command.to_string();
        assert_eq!(parse_command(&line), Ok(Some(command)), "{line}");
    }
    assert_eq!(
        covered, [true; COMMAND_VARIANTS],
        "a Command variant has no round trip"
    );
}

#[test]
fn reading_the_word_ignores_blank_lines_and_refuses_unknown_words() {
    for line in ["", "   ", " \t ", "\t"] {
        assert_eq!(CommandLine::read(line), Ok(None), "{line:?}");
    }
    for (line, word) in [
        ("FROB x", "FROB"),
        ("MSG\tbob hi", "MSG\tbob"),
        ("  #a", "#a"),
    ] {
        assert_eq!(
            CommandLine::read(line),
            Err(ProtocolError::UnknownCommand(word.to_owned())),
            "{line:?}"
        );
    }
}
