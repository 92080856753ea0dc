//! Passwords as they cross the wire: [`Password`], which borrows the text from the client's
//! line and never shows it by accident, and the rule a new password must meet.
//!
//! In scope: the rule ([`MIN_PASSWORD_LEN`] to [`MAX_PASSWORD_LEN`] bytes, no spaces) and
//! its faults ([`PasswordFault`]), and keeping the text out of every `Debug` output: a
//! [`Command`](crate::Command) is logged with `{:?}` by whoever wants to, and a password must
//! not ride along. Out of scope: hashing, comparing and storing passwords (the server's
//! accounts), and the text of `WEAK_PASSWORD` (`error`).

use std::fmt;

/// The fewest bytes a new password may have.
pub const MIN_PASSWORD_LEN: usize = 8;

/// The most bytes a new password may have: enough for a passphrase, and a bound on the work
/// of hashing one.
pub const MAX_PASSWORD_LEN: usize = 128;

/// A password from a client line (`REGISTER`, `LOGIN`, `PASSWORD`, `UNREGISTER`), borrowed
/// from the line.
///
/// Its `Debug` prints `***` and it has no `Display`: the text comes out only through
/// [`Password::expose`], which the server calls to hash or verify it and a client calls to
/// send it. The derived equality is for tests and the parser's round trips: the server never
/// compares two passwords, it verifies one against a slow hash in constant time.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Password<'a>(&'a str);

/// Why a new password breaks the rule. It never holds the password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordFault {
    /// Fewer than [`MIN_PASSWORD_LEN`] bytes.
    TooShort,
    /// More than [`MAX_PASSWORD_LEN`] bytes.
    TooLong,
    /// A space (0x20), which separates the words of a line: `PASSWORD <old> <new>` could not
    /// be read back.
    HasSpace,
}

impl<'a> Password<'a> {
    /// A new password (`REGISTER`, the new one of `PASSWORD`), if it meets the rule:
    /// [`MIN_PASSWORD_LEN`] to [`MAX_PASSWORD_LEN`] bytes, no space. Length is judged first.
    pub fn new(text: &'a str) -> Result<Password<'a>, PasswordFault> {
        if text.len() < MIN_PASSWORD_LEN {
            Err(PasswordFault::TooShort)
        } else if text.len() > MAX_PASSWORD_LEN {
            Err(PasswordFault::TooLong)
        } else if text.contains(' ') {
            Err(PasswordFault::HasSpace)
        } else {
            Ok(Password(text))
        }
    }

    /// A password given to prove an account (`LOGIN`, `UNREGISTER`, the old one of
    /// `PASSWORD`): any text, held to no rule, because a wrong one is only ever answered
    /// `BAD_LOGIN` after the server has checked it against the account. It must not be blank
    /// for the command to read back.
    pub fn given(text: &'a str) -> Password<'a> {
        Password(text)
    }

    /// The password itself, to hash, verify or send. Never log it.
    pub fn expose(self) -> &'a str {
        self.0
    }
}

impl fmt::Debug for Password<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_16_a_new_password_has_8_to_128_bytes_and_no_space() {
        let long = "x".repeat(MAX_PASSWORD_LEN);
        let too_long = "x".repeat(MAX_PASSWORD_LEN + 1);
        for (text, expected) in [
            ("", Err(PasswordFault::TooShort)),
            ("1234567", Err(PasswordFault::TooShort)),
            // Bytes, not characters: four two-byte characters are enough.
            ("éééé", Ok(())),
            ("ééé", Err(PasswordFault::TooShort)),
            ("12345678", Ok(())),
            ("tab\tis#fine", Ok(())),
            (long.as_str(), Ok(())),
            (too_long.as_str(), Err(PasswordFault::TooLong)),
            ("correct horse", Err(PasswordFault::HasSpace)),
            ("trailing ", Err(PasswordFault::HasSpace)),
            // Length first: a short one with a space is too short.
            ("a b", Err(PasswordFault::TooShort)),
        ] {
            assert_eq!(
                Password::new(text).map(|password| assert_eq!(password.expose(), text)),
                expected,
                "{text:?}"
            );
        }
        assert_eq!(Password::given("a b").expose(), "a b");
    }

    #[test]
    fn issue_16_debug_never_shows_the_password() {
        let password = Password::new("hunter2hunter2").unwrap();
        assert_eq!(format!("{password:?}"), "***");
        assert_eq!(format!("{:#?}", Some(password)), "Some(\n    ***,\n)");
        assert!(!format!("{:?}", Password::given("s3cret")).contains("s3cret"));
    }
}
