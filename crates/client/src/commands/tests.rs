//! Tests of [`parse`](super::parse): every command and alias, the mistakes explained, the
//! server words typed alone, and the usage lines.

use super::*;

fn check(line: &str, expected: Result<Option<Input<'_>>, &str>) {
    let got = parse(line);
    match expected {
        Ok(input) => assert_eq!(got, Ok(input), "{line}"),
        Err(start) => {
            let error = got.expect_err(line);
            assert!(error.starts_with(start), "{line}: {error}");
        }
    }
}

fn command(c: UserCommand<'_>) -> Result<Option<Input<'_>>, &str> {
    Ok(Some(Input::Command(c)))
}

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn room(text: &str) -> Room {
    Room::parse(text).unwrap()
}

#[test]
fn text_blank_and_escaped_lines() {
    check("hello  there ", Ok(Some(Input::Text("hello  there "))));
    check("   ", Ok(None));
    check("", Ok(None));
    check("//not a command", Ok(Some(Input::Text("/not a command"))));
}

#[test]
fn every_command() {
    let msg = |target, text| command(UserCommand::Msg { target, text });
    check(
        "/msg bob hi  there",
        msg(Target::Nick(nick("bob")), "hi  there"),
    );
    check("/MSG   bob hi", msg(Target::Nick(nick("bob")), "hi"));
    check("/m #rust hi", msg(Target::Room(room("#rust")), "hi"));
    check("/query bob hi", msg(Target::Nick(nick("bob")), "hi"));
    check("/r yes", command(UserCommand::Reply { text: "yes" }));
    check("/reply yes", command(UserCommand::Reply { text: "yes" }));
    check("/nick Bob2", command(UserCommand::Nick(nick("Bob2"))));
    check("/who", command(UserCommand::Who(None)));
    check("/who #a extra", command(UserCommand::Who(Some(room("#a")))));
    check("/names #a", command(UserCommand::Who(Some(room("#a")))));
    check("/quit", command(UserCommand::Quit { reason: None }));
    check(
        "/quit  gone  fishing",
        command(UserCommand::Quit {
            reason: Some("gone  fishing"),
        }),
    );
    check("/exit", command(UserCommand::Quit { reason: None }));
    check("/help", command(UserCommand::Help));
    check(
        "/join #a",
        command(UserCommand::Join {
            room: room("#a"),
            key: None,
        }),
    );
    check(
        "/j #a k y",
        command(UserCommand::Join {
            room: room("#a"),
            key: Some("k y"),
        }),
    );
    check(
        "/part",
        command(UserCommand::Part {
            room: None,
            reason: None,
        }),
    );
    check(
        "/part bye",
        command(UserCommand::Part {
            room: None,
            reason: Some("bye"),
        }),
    );
    check(
        "/part #a bye",
        command(UserCommand::Part {
            room: Some(room("#a")),
            reason: Some("bye"),
        }),
    );
    check(
        "/topic",
        command(UserCommand::Topic {
            room: None,
            text: None,
        }),
    );
    check(
        "/topic #a",
        command(UserCommand::Topic {
            room: Some(room("#a")),
            text: None,
        }),
    );
    check(
        "/topic new one",
        command(UserCommand::Topic {
            room: None,
            text: Some("new one"),
        }),
    );
    check(
        "/topic #a t",
        command(UserCommand::Topic {
            room: Some(room("#a")),
            text: Some("t"),
        }),
    );
    check("/rooms", command(UserCommand::Rooms));
    check("/list", command(UserCommand::Rooms));
    check(
        "/invite bob",
        command(UserCommand::Invite {
            nick: nick("bob"),
            room: None,
        }),
    );
    check(
        "/invite bob #a",
        command(UserCommand::Invite {
            nick: nick("bob"),
            room: Some(room("#a")),
        }),
    );
    check(
        "/key",
        command(UserCommand::Key {
            room: None,
            key: None,
        }),
    );
    check(
        "/key k",
        command(UserCommand::Key {
            room: None,
            key: Some("k"),
        }),
    );
    check(
        "/key #a k",
        command(UserCommand::Key {
            room: Some(room("#a")),
            key: Some("k"),
        }),
    );
    check(
        "/private ON",
        command(UserCommand::Private {
            room: None,
            on: true,
        }),
    );
    check(
        "/private #a off",
        command(UserCommand::Private {
            room: Some(room("#a")),
            on: false,
        }),
    );
    check("/close", command(UserCommand::Close));
    check("/wc", command(UserCommand::Close));
    check("/clear", command(UserCommand::Clear));
    check("/say  HELP ", command(UserCommand::Say { text: "HELP " }));
    check("/ignore", command(UserCommand::Ignore(None)));
    check(
        "/ignore Bob",
        command(UserCommand::Ignore(Some(nick("Bob")))),
    );
    check("/unignore bob", command(UserCommand::Unignore(nick("bob"))));
}

#[test]
fn issue_12_me_and_away() {
    check(
        "/me waves  hi ",
        command(UserCommand::Me { text: "waves  hi " }),
    );
    check("/ME waves", command(UserCommand::Me { text: "waves" }));
    check("/me", Err("usage: /me TEXT"));
    check("/me   ", Err("usage: /me TEXT"));
    check(
        "/away at lunch",
        command(UserCommand::Away {
            text: Some("at lunch"),
        }),
    );
    check("/away", command(UserCommand::Away { text: None }));
    check("/away   ", command(UserCommand::Away { text: None }));
    // Text that only looks like the command stays text.
    check("//me waves", Ok(Some(Input::Text("/me waves"))));
}

#[test]
fn issue_12_a_server_command_word_alone_is_not_text() {
    let word = |word, command| Ok(Some(Input::ServerWord { word, command }));
    check("HELP", word("HELP", "/help"));
    check(" help  ", word("help", "/help"));
    check("Who", word("Who", "/who"));
    check("ROOMS", word("ROOMS", "/rooms"));
    check("quit", word("quit", "/quit"));
    // Not alone, or not a word people type alone: text.
    check("help me", Ok(Some(Input::Text("help me"))));
    check("HELP?", Ok(Some(Input::Text("HELP?"))));
    check("ping", Ok(Some(Input::Text("ping"))));
    check("//HELP", Ok(Some(Input::Text("/HELP"))));
}

#[test]
fn every_name_and_alias_in_the_table_parses() {
    for c in COMMANDS {
        for name in std::iter::once(name_of(c.synopsis)).chain(c.aliases.iter().copied()) {
            // Arguments that suit most commands; a usage error is fine, a panic is not.
            let _ = parse(&format!("{name} #a x"));
            let _ = parse(name);
            assert!(command_named(&name[1..].to_ascii_uppercase()).is_some());
        }
    }
}

#[test]
fn mistakes_are_explained() {
    check("/msg", Err("usage: /msg NICK|#room TEXT"));
    check("/msg bob   ", Err("usage: /msg"));
    check("/msg 9 hi", Err("\"9\" is not a nick"));
    check("/msg #a.b hi", Err("bad room name #a.b"));
    check("/r", Err("usage: /r TEXT"));
    check("/nick", Err("usage: /nick NAME"));
    check("/nick two words", Err("\"two words\" is not a nick"));
    check("/who nope", Err("bad room name nope"));
    check("/join", Err("usage: /join"));
    check("/join nope", Err("bad room name"));
    check("/part #", Err("bad room name #"));
    check("/invite", Err("usage: /invite"));
    check("/invite bob nope", Err("bad room name"));
    check("/private", Err("usage: /private"));
    check("/private #a maybe", Err("usage: /private"));
    check("/say   ", Err("usage: /say TEXT"));
    check("/ignore 9", Err("\"9\" is not a nick"));
    check("/unignore", Err("usage: /unignore NICK"));
    check("/frob", Err("unknown command /frob"));
    check("/", Err("unknown command /"));
}

#[test]
fn every_command_has_a_usage_line() {
    for name in names() {
        assert!(name.starts_with('/'), "{name}");
        assert!(usage(name).starts_with(&format!("usage: {name}")));
    }
    assert_eq!(usage("/part"), "usage: /part [#room] [reason]");
    assert!(help_lines().all(|line| line.len() > 26));
}

#[test]
fn issue_16_the_account_commands() {
    let given = Password::given;
    let new = |text| Password::new(text).unwrap();
    check(
        "/register correct-horse",
        command(UserCommand::Register(new("correct-horse"))),
    );
    check(
        "/register #Tea",
        command(UserCommand::RegisterRoom(room("#Tea"))),
    );
    check(
        "/login alice  pass word",
        command(UserCommand::Login {
            nick: nick("alice"),
            password: Some(given("pass word")),
        }),
    );
    check(
        "/login alice",
        command(UserCommand::Login {
            nick: nick("alice"),
            password: None,
        }),
    );
    check(
        "/password old new-password",
        command(UserCommand::Password {
            old: given("old"),
            new: new("new-password"),
        }),
    );
    check(
        "/unregister old one",
        command(UserCommand::Unregister(given("old one"))),
    );
    // No message quotes what may be a password.
    for (line, start) in [
        ("/register", "usage: /register PASSWORD"),
        (
            "/register hunter2",
            "not sent: a password has 8 to 128 bytes",
        ),
        (
            "/register two words-here",
            "not sent: a password has 8 to 128",
        ),
        (
            "/register #hash first",
            "not sent: /register #room takes the room alone",
        ),
        ("/login", "usage: /login NICK [PASSWORD]"),
        (
            "/login 9hunter2",
            "usage: /login NICK [PASSWORD]: the first word",
        ),
        ("/password hunter2", "usage: /password OLD NEW"),
        (
            "/password old hunter2",
            "not sent: a password has 8 to 128 bytes",
        ),
        ("/unregister", "usage: /unregister PASSWORD"),
    ] {
        check(line, Err(start));
        let error = parse(line).unwrap_err();
        assert!(
            !error.contains("hunter2") && !error.contains("hash-first"),
            "{error}"
        );
    }
}

#[test]
fn issue_16_a_line_with_a_password_is_shown_and_kept_without_it() {
    for (line, shown, kept) in [
        (
            "/login alice pw pw",
            "/login alice ***",
            Some("/login alice"),
        ),
        ("/LOGIN alice pw", "/login alice ***", Some("/login alice")),
        ("/login alice", "/login alice", Some("/login alice")),
        ("/register pw-pw-pw-pw", "/register ***", None),
        ("/password old new", "/password *** ***", None),
        ("/unregister pw", "/unregister ***", None),
        (
            "/msg bob /login alice pw",
            "/msg bob /login alice pw",
            Some("/msg bob /login alice pw"),
        ),
        (
            "//login alice pw",
            "//login alice pw",
            Some("//login alice pw"),
        ),
        ("hello", "hello", Some("hello")),
    ] {
        assert_eq!(redacted(line), shown, "{line}");
        assert_eq!(for_history(line).as_deref(), kept, "{line}");
    }
}

#[test]
fn issue_17_send_and_save() {
    check(
        "/send ~/My Photos/cat 1.png",
        command(UserCommand::Send {
            path: "~/My Photos/cat 1.png",
        }),
    );
    check(
        "/SEND   notes.txt  ",
        command(UserCommand::Send { path: "notes.txt" }),
    );
    check("/send", Err("usage: /send PATH"));
    check("/send    ", Err("usage: /send PATH"));
    check(
        "/save 3",
        command(UserCommand::Save {
            number: 3,
            path: None,
        }),
    );
    check(
        "/save 12  ~/Downloads/my copy.png ",
        command(UserCommand::Save {
            number: 12,
            path: Some("~/Downloads/my copy.png"),
        }),
    );
    check("/save", Err("usage: /save N [PATH]: N is the number"));
    check("/save x", Err("usage: /save N [PATH]"));
    check("/save -1", Err("usage: /save N [PATH]"));
}
