//! Unit tests of `reply`: a round trip for every `Reply` variant, the lines that tell room
//! replies from v1 ones, and the `ERR` lines every `ProtocolError` becomes.

use super::*;
use crate::caps::Capability;
use crate::names::NickFault;
use crate::oracle::{REPLY_VARIANTS, reply_variant};
use crate::stats::StatName;
use crate::words::CommandWord;

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn room(text: &str) -> Room {
    Room::parse(text).unwrap()
}

#[test]
fn replies_round_trip() {
    let replies = [
        Reply::Hello {
            text: "chatd 0.1".to_owned(),
        },
        Reply::OkNick(nick("alice")),
        Reply::Join(nick("bob")),
        Reply::NickChanged {
            old: nick("bob"),
            new: nick("Bobby"),
        },
        Reply::Msg {
            from: nick("bob"),
            text: "hi  there ".to_owned(),
        },
        Reply::All {
            from: nick("carol"),
            text: "x".to_owned(),
        },
        Reply::Who(vec![nick("a"), nick("b")]),
        Reply::EndWho,
        Reply::Pong { token: None },
        Reply::Ping {
            token: Some("idle".to_owned()),
        },
        Reply::Pong {
            token: Some("7".to_owned()),
        },
        Reply::Bye { reason: None },
        Reply::Bye {
            reason: Some("server shutting down".to_owned()),
        },
        Reply::Quit {
            nick: nick("bob"),
            reason: None,
        },
        Reply::Quit {
            nick: nick("bob"),
            reason: Some("connection reset".to_owned()),
        },
        Reply::Help {
            text: "some help".to_owned(),
        },
        Reply::EndHelp,
        Reply::from(&ProtocolError::NotRegistered),
        Reply::OkJoin(room("#Chat")),
        Reply::OkPart(room("#a")),
        Reply::RoomJoin {
            room: room("#a"),
            nick: nick("bob"),
        },
        Reply::RoomPart {
            room: room("#a"),
            nick: nick("bob"),
            reason: None,
        },
        Reply::RoomPart {
            room: room("#a"),
            nick: nick("bob"),
            reason: Some("see  you ".to_owned()),
        },
        Reply::RoomMsg {
            room: room("#a"),
            from: nick("bob"),
            text: "hi  #b there ".to_owned(),
        },
        Reply::RoomMsg {
            room: room("#a"),
            from: nick("bob"),
            text: String::new(),
        },
        Reply::RoomWho {
            room: room("#a"),
            nicks: vec![nick("a"), nick("B")],
        },
        Reply::RoomWho {
            room: room("#a"),
            nicks: Vec::new(),
        },
        Reply::EndRoomWho(room("#a")),
        Reply::RoomInfo {
            room: room("#a"),
            members: 3,
            topic: None,
        },
        Reply::RoomInfo {
            room: room("#a"),
            members: 0,
            topic: Some("all  about 42 ".to_owned()),
        },
        Reply::EndRooms,
        Reply::TopicIs {
            room: room("#a"),
            setter: nick("carol"),
            text: "new  topic".to_owned(),
        },
        Reply::OkKey(room("#a")),
        Reply::OkPrivate {
            room: room("#a"),
            on: true,
        },
        Reply::OkPrivate {
            room: room("#a"),
            on: false,
        },
        Reply::OkInvite {
            nick: nick("bob"),
            room: room("#a"),
        },
        Reply::Invited {
            room: room("#a"),
            from: nick("alice"),
        },
        Reply::Err {
            code: ErrorCode::Unknown("NEWER_CODE".to_owned()),
            text: "from a newer server".to_owned(),
        },
        Reply::NoTopic(room("#a")),
        Reply::OkCap(Capability::Actions),
        Reply::OkCap(Capability::Away),
        Reply::OkCap(Capability::Owner),
        Reply::OkAway { on: true },
        Reply::OkAway { on: false },
        Reply::Me {
            target: Target::Lobby,
            from: nick("alice"),
            text: "waves  hi ".to_owned(),
        },
        Reply::Me {
            target: Target::Nick(nick("bob")),
            from: nick("alice"),
            text: "nods".to_owned(),
        },
        Reply::Me {
            target: Target::Room(room("#a")),
            from: nick("alice"),
            text: "* #b".to_owned(),
        },
        Reply::Away {
            nick: nick("bob"),
            text: "out  to lunch ".to_owned(),
        },
        Reply::Owner {
            room: room("#a"),
            nick: nick("bob"),
        },
        Reply::Presence {
            exact: true,
            count: 0,
        },
        Reply::Presence {
            exact: false,
            count: 10_000,
        },
        Reply::Stat {
            name: StatName::FanoutLatencyP99Us,
            value: u64::MAX,
        },
        Reply::Stat {
            name: StatName::Unknown("newer_figure".to_owned()),
            value: 0,
        },
        Reply::EndStats,
        Reply::Hist {
            target: Target::Room(room("#a")),
            id: crate::message_id::MessageId::new(1042).unwrap(),
            time: crate::utc_time::UtcMillis::new(1_796_565_600_123).unwrap(),
            line: "MSG #a ann hi  there".to_owned(),
        },
        Reply::EndHistory {
            target: Target::Lobby,
            count: 50,
        },
        Reply::OkRegister(nick("alice")),
        Reply::OkRegisterRoom(room("#a")),
        Reply::OkLogin(nick("Alice")),
        Reply::OkPassword,
        Reply::OkUnregister(nick("alice")),
        Reply::OkStored(nick("bob")),
        Reply::OkUpload {
            url: "http://h:1/upload/ab".to_owned(),
        },
        Reply::OkFile {
            url: "http://h:1/files/ab/x".to_owned(),
        },
        Reply::File {
            from: nick("ann"),
            size: 3,
            url: "http://h:1/files/ab/x".to_owned(),
            name: "a  b ".to_owned(),
        },
        Reply::RoomFile {
            room: room("#a"),
            from: nick("ann"),
            size: 0,
            url: "http://h:1/files/ab/x".to_owned(),
            name: "x".to_owned(),
        },
    ];
    let mut covered = [false; REPLY_VARIANTS];
    for reply in replies {
        covered[reply_variant(&reply)] = true;
        let line = reply.to_line();
        assert!(line.ends_with('\n') && !line.ends_with("\r\n"));
        assert_eq!(
            Reply::parse(line.trim_end_matches('\n')),
            Ok(reply),
            "{line}"
        );
    }
    assert_eq!(
        covered, [true; REPLY_VARIANTS],
        "a Reply variant has no round trip"
    );
}

#[test]
fn empty_who_list_round_trips() {
    // Found by the property test `every_reply_round_trips`.
    assert_eq!(Reply::parse("WHO"), Ok(Reply::Who(Vec::new())));
    assert_eq!(Reply::Who(Vec::new()).to_line(), "WHO\n");
}

#[test]
fn room_lines_are_told_from_v1_lines() {
    let parse = |line| Reply::parse(line).unwrap();
    assert_eq!(parse("JOIN bob"), Reply::Join(nick("bob")));
    assert_eq!(
        parse("JOIN #a bob"),
        Reply::RoomJoin {
            room: room("#a"),
            nick: nick("bob"),
        }
    );
    assert_eq!(
        parse("MSG bob #a hi"),
        Reply::Msg {
            from: nick("bob"),
            text: "#a hi".to_owned(),
        }
    );
    assert_eq!(
        parse("MSG #a bob hi"),
        Reply::RoomMsg {
            room: room("#a"),
            from: nick("bob"),
            text: "hi".to_owned(),
        }
    );
    assert_eq!(parse("WHO a b"), Reply::Who(vec![nick("a"), nick("b")]));
    assert_eq!(
        parse("WHO #a b"),
        Reply::RoomWho {
            room: room("#a"),
            nicks: vec![nick("b")],
        }
    );
    assert_eq!(parse("END WHO"), Reply::EndWho);
    assert_eq!(parse("END WHO #a"), Reply::EndRoomWho(room("#a")));
    assert_eq!(parse("END ROOMS"), Reply::EndRooms);
    assert_eq!(parse("OK NICK bob"), Reply::OkNick(nick("bob")));
    assert_eq!(parse("OK JOIN #a"), Reply::OkJoin(room("#a")));
    assert_eq!(
        parse("ROOM #a 5 a b"),
        Reply::RoomInfo {
            room: room("#a"),
            members: 5,
            topic: Some("a b".to_owned()),
        }
    );
    for bad in [
        "JOIN #a",
        "JOIN #",
        "OK JOIN",
        "OK JOIN a",
        "OK PRIVATE #a yes",
        "OK PRIVATE #a",
        "ROOM #a x",
        "ROOM #a",
        "ROOM #a -1",
        "END WHO #",
        "END WHO ",
        "END ROOM",
        "PART #a",
        "TOPIC #",
        "TOPIC a",
        "INVITE #a",
        "INVITE bob #a",
        "OK CAP",
        "OK CAP colors",
        "OK AWAY",
        "OK AWAY On",
        "ME",
        "ME *",
        "ME ** alice x",
        "ME # alice x",
        "ME 1abc alice x",
        "AWAY",
        "AWAY #a lunch",
        "OWNER #a",
        "OWNER bob #a",
    ] {
        assert!(Reply::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn issue_12_new_lines_are_told_from_old_ones() {
    let parse = |line| Reply::parse(line).unwrap();
    assert_eq!(parse("TOPIC #a"), Reply::NoTopic(room("#a")));
    assert_eq!(
        parse("TOPIC #a bob x"),
        Reply::TopicIs {
            room: room("#a"),
            setter: nick("bob"),
            text: "x".to_owned(),
        }
    );
    assert_eq!(parse("OK CAP actions"), Reply::OkCap(Capability::Actions));
    assert_eq!(parse("OK AWAY off"), Reply::OkAway { on: false });
    assert_eq!(
        parse("ME bob alice waves"),
        Reply::Me {
            target: Target::Nick(nick("bob")),
            from: nick("alice"),
            text: "waves".to_owned(),
        }
    );
    assert_eq!(
        parse("AWAY bob gone"),
        Reply::Away {
            nick: nick("bob"),
            text: "gone".to_owned(),
        }
    );
    assert_eq!(
        parse("OWNER #a bob"),
        Reply::Owner {
            room: room("#a"),
            nick: nick("bob"),
        }
    );
}

#[test]
fn issue_14_stats_lines_are_a_name_and_a_number_then_end_stats() {
    let lines: Vec<String> = Reply::stats([(StatName::Rooms, 3), (StatName::UptimeS, 0)])
        .iter()
        .map(Reply::to_string)
        .collect();
    assert_eq!(lines, ["STATS rooms 3", "STATS uptime_s 0", "END STATS"]);
    assert_eq!(Reply::stats([]), [Reply::EndStats]);
    assert_eq!(
        Reply::parse("STATS lines_in 18446744073709551615"),
        Ok(Reply::Stat {
            name: StatName::LinesIn,
            value: u64::MAX,
        })
    );
    for bad in [
        "STATS",
        "STATS rooms",
        "STATS rooms ",
        "STATS rooms x",
        "STATS rooms -1",
        "STATS rooms +1",
        "STATS rooms 1 2",
        "STATS rooms 18446744073709551616",
        "STATS Rooms 1",
        "STATS 1",
        "END STAT",
    ] {
        assert!(Reply::parse(bad).is_err(), "{bad}");
    }
}

/// One error of each variant.
fn every_error() -> Vec<ProtocolError> {
    vec![
        ProtocolError::NotRegistered,
        ProtocolError::NickTaken(nick("bob")),
        ProtocolError::BadNick(NickFault::Empty),
        ProtocolError::NoSuchNick("zed".to_owned()),
        ProtocolError::UnknownCommand("FROB".to_owned()),
        ProtocolError::MissingArgument {
            command: CommandWord::Msg,
            needs: "a text",
            after: Some("bob".to_owned()),
        },
        ProtocolError::LineTooLong { max: 4096 },
        ProtocolError::BadEncoding,
        ProtocolError::ServerFull { max: 10 },
        ProtocolError::TooManyConnections { max: 3 },
        ProtocolError::BadRoom("#a b\tc".to_owned()),
        ProtocolError::NoSuchRoom("#zed".to_owned()),
        ProtocolError::NotInRoom(room("#a")),
        ProtocolError::AlreadyInRoom(room("#a")),
        ProtocolError::BadKey(room("#a")),
        ProtocolError::InviteOnly(room("#a")),
        ProtocolError::NotOwner(room("#a")),
        ProtocolError::TooManyRooms { max: 32 },
        ProtocolError::RoomFull {
            room: room("#a"),
            max: 10000,
        },
        ProtocolError::BadArgument {
            command: CommandWord::Private,
            takes: "on or off",
            got: "maybe".to_owned(),
        },
        ProtocolError::BadCap("colors".to_owned()),
        ProtocolError::BadText {
            what: "the topic",
            refused: crate::text::Refused {
                found: '\u{1b}',
                at: 4,
            },
        },
        ProtocolError::NoMoreRooms { max: 10000 },
        ProtocolError::TooLong {
            what: "a topic",
            max: 390,
            got: 391,
        },
        ProtocolError::TooManyAttempts { wait_secs: 42 },
        ProtocolError::BadHistory {
            expected: "a count of 1 to 1000",
            got: Some("0".to_owned()),
        },
        ProtocolError::WeakPassword(crate::password::PasswordFault::HasSpace),
        ProtocolError::NickRegistered(nick("alice")),
        ProtocolError::BadLogin,
        ProtocolError::LoginRequired,
        ProtocolError::ServerBusy,
        ProtocolError::MailboxFull {
            nick: nick("alice"),
            lines: 1000,
        },
        ProtocolError::BadFileName(crate::file_name::FileNameFault::Slash),
        ProtocolError::FileTooLarge { size: 9, max: 8 },
        ProtocolError::Quota { free: 0 },
        ProtocolError::NoFiles,
        ProtocolError::TlsRequired,
        ProtocolError::Unavailable("your line was not sent".to_owned()),
    ]
}

/// Errors that share their code with one in [`every_error`].
fn more_errors() -> Vec<ProtocolError> {
    vec![
        ProtocolError::NoSuchCommand("FROB".to_owned()),
        ProtocolError::ConnectingTooOften { per_second: 20 },
        ProtocolError::MissingArgument {
            command: CommandWord::Msg,
            needs: "a nick or #room and a text",
            after: None,
        },
        ProtocolError::BadHistory {
            expected: "a message id after BEFORE or AFTER",
            got: None,
        },
        ProtocolError::TooManyLogins { wait_secs: 8 },
        ProtocolError::UploadsWaiting { max: 4 },
    ]
}

#[test]
fn every_error_is_one_err_line_with_its_own_code_that_reads_back() {
    let errors = every_error();
    let codes: Vec<ErrorCode> = errors.iter().map(ProtocolError::code).collect();
    // One error per known code, each code once, in the order of the list.
    assert_eq!(codes, ErrorCode::KNOWN);
    for error in errors.iter().chain(&more_errors()) {
        let reply = Reply::from(error);
        let line = reply.to_string();
        let mut words = line.splitn(3, ' ');
        assert_eq!(words.next(), Some("ERR"));
        assert_eq!(words.next(), Some(error.code().as_str()));
        assert!(words.next().is_some_and(|text| !text.is_empty()), "{line}");
        assert_eq!(Reply::parse(&line), Ok(reply));
    }
}

#[test]
fn every_known_code_reads_back_as_itself() {
    for code in ErrorCode::KNOWN {
        assert_eq!(&ErrorCode::parse(code.as_str()), code);
        assert!(
            code.as_str()
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_'),
            "{code}"
        );
    }
}

#[test]
fn issue_11_an_unknown_error_code_still_reads() {
    // A newer server may send codes this client does not know: the line must still read,
    // with the code as sent, and format back to the same line.
    for (line, code, text) in [
        ("ERR SLOW_DOWN wait a bit", "SLOW_DOWN", "wait a bit"),
        ("ERR nick_taken lower case", "nick_taken", "lower case"),
        ("ERR X", "X", ""),
        ("ERR", "", ""),
    ] {
        let reply = Reply::parse(line).unwrap();
        assert_eq!(
            reply,
            Reply::Err {
                code: ErrorCode::Unknown(code.to_owned()),
                text: text.to_owned(),
            },
            "{line:?}"
        );
        assert_eq!(Reply::parse(&reply.to_string()), Ok(reply), "{line:?}");
    }
    assert_eq!(
        Reply::parse("ERR NICK_TAKEN nick bob is already in use"),
        Ok(Reply::Err {
            code: ErrorCode::NickTaken,
            text: "nick bob is already in use".to_owned(),
        })
    );
}

#[test]
fn room_error_lines_are_exactly_as_documented() {
    let a = || room("#Chat");
    let cases = [
        (
            ProtocolError::BadRoom("chat".to_owned()),
            "ERR BAD_ROOM bad room name chat; a room name is # then 1 to 48 letters, \
             digits, '_' or '-'",
        ),
        (
            ProtocolError::NoSuchRoom("#nope".to_owned()),
            "ERR NO_SUCH_ROOM no room called #nope",
        ),
        (
            ProtocolError::NotInRoom(a()),
            "ERR NOT_IN_ROOM you are not in #Chat",
        ),
        (
            ProtocolError::AlreadyInRoom(a()),
            "ERR ALREADY_IN_ROOM you are already in #Chat",
        ),
        (
            ProtocolError::BadKey(a()),
            "ERR BAD_KEY #Chat needs the right key: JOIN #Chat <key>",
        ),
        (
            ProtocolError::InviteOnly(a()),
            "ERR INVITE_ONLY #Chat is invite-only",
        ),
        (
            ProtocolError::NotOwner(a()),
            "ERR NOT_OWNER only the owner of #Chat can do that",
        ),
        (
            ProtocolError::TooManyRooms { max: 32 },
            "ERR TOO_MANY_ROOMS you are in 32 rooms already, the most allowed",
        ),
        (
            ProtocolError::RoomFull {
                room: a(),
                max: 10000,
            },
            "ERR ROOM_FULL #Chat is full (10000 members)",
        ),
        (
            ProtocolError::BadArgument {
                command: CommandWord::Private,
                takes: "on or off",
                got: "maybe".to_owned(),
            },
            "ERR BAD_ARGUMENT PRIVATE takes on or off, not \"maybe\"",
        ),
        (
            ProtocolError::BadCap("colors".to_owned()),
            "ERR BAD_CAP no capability called colors; there are actions, away, owner, presence, ids and files",
        ),
        (
            ProtocolError::NoSuchCommand("FOO".to_owned()),
            "ERR UNKNOWN_COMMAND no command FOO; HELP lists them",
        ),
        (
            ProtocolError::MissingArgument {
                command: CommandWord::Msg,
                needs: "a text",
                after: Some("#Chat".to_owned()),
            },
            "ERR MISSING_ARGUMENT MSG needs a text after #Chat; try HELP MSG",
        ),
    ];
    for (error, line) in cases {
        assert_eq!(Reply::from(&error).to_string(), line);
    }
}

#[test]
fn issue_14_a_chat_line_from_borrowed_parts_is_the_replys_line() {
    let from = nick("Alice");
    for text in ["hello", "", " two  spaces ", "ünïcode"] {
        for (word, reply) in [
            (
                ChatWord::Msg,
                Reply::Msg {
                    from: from.clone(),
                    text: text.to_owned(),
                },
            ),
            (
                ChatWord::All,
                Reply::All {
                    from: from.clone(),
                    text: text.to_owned(),
                },
            ),
        ] {
            let mut expected = String::new();
            reply.write_line(&mut expected);
            let mut written = String::from("kept ");
            Reply::write_chat_line(word, &from, text, &mut written);
            assert_eq!(written, format!("kept {expected}"));
        }
    }
}
