//! Unit tests of the account commands in `command` (issue 16): `REGISTER`, `LOGIN`,
//! `PASSWORD` and `UNREGISTER`, their errors, and that no password shows in a `Debug`, an
//! error or a log line.

use super::*;
use crate::error::ErrorCode;
use crate::password::PasswordFault;
use crate::reply::Reply;

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn check(line: &str, expected: Result<Option<Command<'_>>, ProtocolError>) {
    assert_eq!(parse_command(line), expected, "parsing {line:?}");
}

fn weak(fault: PasswordFault) -> Result<Option<Command<'static>>, ProtocolError> {
    Err(ProtocolError::WeakPassword(fault))
}

fn given(text: &str) -> Password<'_> {
    Password::given(text)
}

/// The passwords the lines below carry, none of which may show in an error or a `Debug`.
const SECRETS: [&str; 4] = ["hunter2hunter2", "s3cr3t-pw", "tiny", "new pass word"];

#[test]
fn issue_16_parses_every_account_command() {
    check(
        "REGISTER hunter2hunter2",
        Ok(Some(Command::Register(given("hunter2hunter2")))),
    );
    check(
        "register   s3cr3t#pw",
        Ok(Some(Command::Register(given("s3cr3t#pw")))),
    );
    check(
        "REGISTER #Tea",
        Ok(Some(Command::RegisterRoom(Room::parse("#Tea").unwrap()))),
    );
    check(
        "LOGIN alice hunter2hunter2",
        Ok(Some(Command::Login {
            nick: nick("alice"),
            password: given("hunter2hunter2"),
        })),
    );
    // A password given to prove an account is held to no rule: a wrong one is BAD_LOGIN,
    // the server's answer. It is the rest of the line, as sent.
    check(
        "login Alice  a b ",
        Ok(Some(Command::Login {
            nick: nick("Alice"),
            password: given("a b "),
        })),
    );
    check(
        "PASSWORD old hunter2hunter2",
        Ok(Some(Command::Password {
            old: given("old"),
            new: given("hunter2hunter2"),
        })),
    );
    check("UNREGISTER x", Ok(Some(Command::Unregister(given("x")))));
    check(
        "unregister  two words",
        Ok(Some(Command::Unregister(given("two words")))),
    );
}

#[test]
fn issue_16_a_new_password_is_held_to_the_rule() {
    check("REGISTER tiny", weak(PasswordFault::TooShort));
    check(
        &format!("REGISTER {}", "x".repeat(129)),
        weak(PasswordFault::TooLong),
    );
    check(
        &format!("REGISTER {}", "x".repeat(128)),
        Ok(Some(Command::Register(given(&"x".repeat(128))))),
    );
    // The password is the rest of the line, so a second word is a space in it, not ignored.
    check("REGISTER correct horse", weak(PasswordFault::HasSpace));
    check("REGISTER hunter2hunter2 ", weak(PasswordFault::HasSpace));
    check("PASSWORD old new pass word", weak(PasswordFault::HasSpace));
    check("PASSWORD old short", weak(PasswordFault::TooShort));
    // The old one is not checked: it only has to be right.
    check(
        "PASSWORD x hunter2hunter2",
        Ok(Some(Command::Password {
            old: given("x"),
            new: given("hunter2hunter2"),
        })),
    );
    assert_eq!(
        parse_command("REGISTER tiny").unwrap_err().to_string(),
        "a password has 8 to 128 bytes and no spaces; this one is too short"
    );
    assert_eq!(
        Reply::from(&parse_command("REGISTER a b c d e").unwrap_err()).to_string(),
        "ERR WEAK_PASSWORD a password has 8 to 128 bytes and no spaces; this one has a space"
    );
}

#[test]
fn issue_16_missing_arguments_never_quote_a_password() {
    for (line, text) in [
        (
            "REGISTER",
            "REGISTER needs a password or a #room; try HELP REGISTER",
        ),
        ("LOGIN", "LOGIN needs a nick and a password; try HELP LOGIN"),
        // The one word may be the password with the nick forgotten: it is not quoted.
        (
            "LOGIN hunter2hunter2",
            "LOGIN needs a password after the nick; try HELP LOGIN",
        ),
        (
            "PASSWORD",
            "PASSWORD needs the old and the new password; try HELP PASSWORD",
        ),
        (
            "PASSWORD s3cr3t-pw  ",
            "PASSWORD needs a new password after the old one; try HELP PASSWORD",
        ),
        (
            "UNREGISTER  ",
            "UNREGISTER needs a password; try HELP UNREGISTER",
        ),
    ] {
        let error = parse_command(line).unwrap_err();
        assert_eq!(error.code(), ErrorCode::MissingArgument, "{line:?}");
        assert_eq!(error.to_string(), text, "{line:?}");
        for secret in SECRETS {
            assert!(
                !format!("{error:?}").contains(secret),
                "{line:?}: {error:?}"
            );
        }
    }
}

#[test]
fn issue_16_login_with_what_cannot_be_a_nick_is_no_such_nick_as_for_invite() {
    for target in ["1abc", "#tea", "a.b", "-x"] {
        let error = ProtocolError::NoSuchNick(target.to_owned());
        check(
            &format!("LOGIN {target} hunter2hunter2"),
            Err(error.clone()),
        );
        assert_eq!(
            parse_command(&format!("INVITE {target} #a")),
            Err(error),
            "LOGIN and INVITE differ on {target}"
        );
    }
}

#[test]
fn issue_16_register_a_room_takes_the_rest_of_the_line_as_its_name() {
    for bad in ["#", "#a.b", "#a extra", "#a "] {
        check(
            &format!("REGISTER {bad}"),
            Err(ProtocolError::BadRoom(bad.to_owned())),
        );
    }
}

#[test]
fn issue_16_debug_hides_passwords_and_display_sends_them() {
    let lines = [
        "REGISTER hunter2hunter2",
        "LOGIN alice s3cr3t-pw",
        "PASSWORD tiny hunter2hunter2",
        "UNREGISTER new pass word",
    ];
    for line in lines {
        let command = parse_command(line).unwrap().unwrap();
        let debug = format!("{command:?} {command:#?}");
        let read = format!("{:?}", CommandLine::read(line).unwrap().unwrap());
        for secret in SECRETS {
            assert!(!debug.contains(secret), "{debug}");
            assert!(!read.contains(secret), "{read}");
        }
        assert!(debug.contains("***"), "{debug}");
        // The client sends the line Display writes: the password must be in it.
        assert_eq!(command.to_string(), line);
    }
    assert_eq!(
        format!(
            "{:?}",
            parse_command("LOGIN alice s3cr3t-pw").unwrap().unwrap()
        ),
        "Login { nick: Nick(\"alice\"), password: *** }"
    );
}

#[test]
fn issue_16_no_error_of_an_account_line_shows_its_password() {
    for line in [
        "REGISTER tiny",
        "REGISTER new pass word",
        "PASSWORD hunter2hunter2 tiny",
        "PASSWORD s3cr3t-pw new pass word",
        "LOGIN hunter2hunter2",
        "PASSWORD hunter2hunter2",
    ] {
        let error = parse_command(line).unwrap_err();
        let shown = format!("{error} {error:?} {}", Reply::from(&error));
        for secret in SECRETS {
            assert!(!shown.contains(secret), "{line:?}: {shown}");
        }
    }
}

#[test]
fn issue_16_a_logged_line_hides_its_password() {
    for (line, logged) in [
        ("REGISTER hunter2hunter2", "REGISTER ***"),
        ("  register  new pass word", "register ***"),
        ("LOGIN alice s3cr3t-pw", "LOGIN alice ***"),
        ("login alice  a b ", "login alice ***"),
        // One word: the password in the nick's place, hidden too.
        ("LOGIN hunter2hunter2", "LOGIN ***"),
        ("PASSWORD tiny hunter2hunter2", "PASSWORD ***"),
        ("UNREGISTER s3cr3t-pw", "UNREGISTER ***"),
        // Nothing to hide: the line as it is, without a copy.
        ("REGISTER #tea", "REGISTER #tea"),
        ("LOGIN", "LOGIN"),
        ("PASSWORD  ", "PASSWORD  "),
        ("MSG bob hunter2hunter2", "MSG bob hunter2hunter2"),
        ("FROB x", "FROB x"),
        ("", ""),
    ] {
        let redacted = redact_passwords(line);
        assert_eq!(redacted, logged, "{line:?}");
        assert_eq!(
            matches!(redacted, Cow::Borrowed(_)),
            redacted == line,
            "{line:?}"
        );
    }
}

#[test]
fn issue_18_the_commands_that_carry_a_password_say_so() {
    for line in [
        "REGISTER correct-horse",
        "LOGIN alice correct-horse",
        "PASSWORD correct-horse battery-staple",
        "UNREGISTER correct-horse",
    ] {
        let command = parse_command(line).unwrap().unwrap();
        assert!(command.carries_password(), "{line}");
    }
    for line in [
        "REGISTER #tea",
        "NICK alice",
        "MSG bob correct-horse",
        "JOIN #tea key",
    ] {
        let command = parse_command(line).unwrap().unwrap();
        assert!(!command.carries_password(), "{line}");
    }
}
