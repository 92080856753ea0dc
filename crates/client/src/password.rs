//! The account password as the client holds it, and where it comes from (issue 16).
//!
//! In scope: [`Secret`], a password kept in memory for the session only (its `Debug` prints
//! `***` and it has no `Display`, so it cannot end up in a scrollback, a note or a log by
//! accident); reading one from `--password-file` (its first line) or `CHAT_PASSWORD`; and
//! asking for one on the terminal with its echo off, for `--plain` ([`ask_on_terminal`]).
//!
//! Out of scope: when a password is needed and what is done with it (`app::Account`, the
//! full-screen client's masked prompt in `app`, the line mode); the rule a new password must
//! meet (`chatd_proto::Password`). Nothing here writes a password anywhere but to the server
//! (through the caller): not to a file, not to the screen, not to a log.

use std::fmt;
use std::io::{self, IsTerminal};
use std::path::Path;

use chatd_proto::{Nick, Password};

/// The environment variable a script can give the password in (`--password-file` wins).
pub const PASSWORD_ENV: &str = "CHAT_PASSWORD";

/// A password the client keeps to log in again after each reconnect. Never shown: `Debug`
/// prints `***`, and the text comes out only through [`Secret::expose`], to be sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The password, to be sent. Never show or log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// As the protocol crate takes a password that proves an account (`LOGIN`).
    pub fn given(&self) -> Password<'_> {
        Password::given(&self.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Characters typed so far, for a masked prompt (one `*` each).
    pub fn chars(&self) -> usize {
        self.0.chars().count()
    }

    /// A character typed at a prompt.
    pub fn push(&mut self, c: char) {
        self.0.push(c);
    }

    /// Backspace at a prompt.
    pub fn pop(&mut self) {
        self.0.pop();
    }

    pub fn clear(&mut self) {
        self.0.clear();
    }
}

impl Default for Secret {
    fn default() -> Secret {
        Secret::new(String::new())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The first line of `path`, without its line ending. An empty first line is an error: a
/// password file that is empty by mistake should not become an attempt with no password.
pub fn from_file(path: &Path) -> Result<Secret, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read --password-file {}: {e}", path.display()))?;
    let first = text.lines().next().unwrap_or("");
    if first.is_empty() {
        return Err(format!(
            "--password-file {}: its first line is empty; it must hold the password",
            path.display()
        ));
    }
    Ok(Secret::new(first))
}

/// `CHAT_PASSWORD`, when it is set and not empty.
pub fn from_env() -> Option<Secret> {
    std::env::var(PASSWORD_ENV)
        .ok()
        .filter(|text| !text.is_empty())
        .map(Secret::new)
}

/// Asks for `nick`'s password on the terminal, its echo off, for `--plain`. Only when stdin
/// is a terminal: a script's piped stdin means nobody is there to type (and a test run from
/// a terminal must not stop to ask); the caller then says how to give the password instead.
/// `Ok(None)` when there is no terminal or the answer is empty (nothing typed: give up).
pub fn ask_on_terminal(nick: &Nick, why: &str) -> io::Result<Option<Secret>> {
    if !io::stdin().is_terminal() {
        return Ok(None);
    }
    // rpassword reads the terminal itself (/dev/tty), with its echo off, and restores it.
    let typed = rpassword::prompt_password(format!("{why}password for {nick} (hidden): "))?;
    Ok(Some(Secret::new(typed)).filter(|secret| !secret.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_16_a_secret_is_never_shown_by_debug() {
        let secret = Secret::new("hunter2hunter2");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(***)");
        assert_eq!(secret.expose(), "hunter2hunter2");
    }

    #[test]
    fn issue_16_a_password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "correct-horse-battery\r\nsecond line\n").unwrap();
        assert_eq!(from_file(&path).unwrap().expose(), "correct-horse-battery");
        std::fs::write(&path, "no-newline").unwrap();
        assert_eq!(from_file(&path).unwrap().expose(), "no-newline");
        std::fs::write(&path, "\nsecond").unwrap();
        let error = from_file(&path).unwrap_err();
        assert!(error.contains("first line is empty"), "{error}");
        let missing = dir.path().join("missing");
        let error = from_file(&missing).unwrap_err();
        assert!(error.starts_with("cannot read --password-file"), "{error}");
    }
}
