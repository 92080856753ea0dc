//! Unit tests of the account lines in `reply` (issue 16): the `OK` answers to `REGISTER`,
//! `LOGIN`, `PASSWORD`, `UNREGISTER` and a stored `MSG`, and the account errors, each exactly
//! as protocol.md shows it.

use super::*;
use crate::password::PasswordFault;

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

#[test]
fn issue_16_account_answers_read_as_documented() {
    let tea = Room::parse("#Tea").unwrap();
    for (line, reply) in [
        ("OK REGISTER alice", Reply::OkRegister(nick("alice"))),
        ("OK REGISTER #Tea", Reply::OkRegisterRoom(tea)),
        ("OK LOGIN Alice", Reply::OkLogin(nick("Alice"))),
        ("OK PASSWORD", Reply::OkPassword),
        ("OK UNREGISTER alice", Reply::OkUnregister(nick("alice"))),
        ("OK STORED bob", Reply::OkStored(nick("bob"))),
    ] {
        assert_eq!(Reply::parse(line), Ok(reply.clone()), "{line}");
        assert_eq!(reply.to_string(), line);
        assert!(
            !reply.carries_id() && reply.capability().is_none(),
            "{line}"
        );
    }
    for bad in [
        "OK REGISTER",
        "OK REGISTER #",
        "OK REGISTER 1abc",
        "OK REGISTER alice bob",
        "OK LOGIN",
        "OK LOGIN #tea",
        "OK PASSWORD alice",
        "OK UNREGISTER",
        "OK UNREGISTER #tea",
        "OK STORED",
        "OK STORED #tea",
        "OK STORE bob",
    ] {
        assert!(Reply::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn issue_16_account_error_lines_are_exactly_as_documented() {
    let cases = [
        (
            ProtocolError::WeakPassword(PasswordFault::TooShort),
            "ERR WEAK_PASSWORD a password has 8 to 128 bytes and no spaces; this one is too \
             short",
        ),
        (
            ProtocolError::WeakPassword(PasswordFault::TooLong),
            "ERR WEAK_PASSWORD a password has 8 to 128 bytes and no spaces; this one is too long",
        ),
        (
            ProtocolError::WeakPassword(PasswordFault::HasSpace),
            "ERR WEAK_PASSWORD a password has 8 to 128 bytes and no spaces; this one has a space",
        ),
        (
            ProtocolError::NickRegistered(nick("Alice")),
            "ERR NICK_REGISTERED Alice is registered; LOGIN Alice <password>",
        ),
        (
            ProtocolError::BadLogin,
            "ERR BAD_LOGIN wrong nick or password",
        ),
        (
            ProtocolError::TooManyLogins { wait_secs: 600 },
            "ERR TOO_MANY_ATTEMPTS too many failed logins; try again in 600 s",
        ),
        (
            ProtocolError::LoginRequired,
            "ERR LOGIN_REQUIRED only a logged-in account can do that; LOGIN <nick> \
             <password>, or REGISTER <password> to make your nick one",
        ),
        (
            ProtocolError::ServerBusy,
            "ERR SERVER_BUSY the server is busy checking passwords; try again in a few seconds",
        ),
    ];
    for (error, line) in cases {
        let reply = Reply::from(&error);
        assert_eq!(reply.to_string(), line);
        assert_eq!(Reply::parse(line), Ok(reply));
    }
}
