//! `--plain`'s side of accounts (issue 16): logging in when the nick wanted is registered,
//! with the password given (`--password-file`, `CHAT_PASSWORD`) or kept from earlier in the
//! run, else asked for on the terminal with its echo off ([`Login::ask`]); again after every
//! reconnect; a wrong password asked again, or the run ended with a clear error when there
//! is no terminal to ask on; a login refused for a while (`TOO_MANY_ATTEMPTS`,
//! `SERVER_BUSY`) sent again when the server's wait is over ([`PlainLogin::due`], waited
//! out by the caller's `select!`, not a loop); `/register`, `/login`, `/password`,
//! `/unregister`, their answers noted in plain words.
//!
//! Out of scope: the server's lines themselves (printed by `line_mode` as received, as every
//! line); the bookkeeping of what was asked and the password kept (`app::Account`); the
//! terminal (`crate::password::ask_on_terminal`). No note here holds a password.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use chatd_proto::{Nick, Reply};

use crate::app::{Account, Answer, Asked, Refusal};
use crate::commands::UserCommand;
use crate::password::Secret;
use crate::printable::for_output;

/// Asks the person for `nick`'s password (the text says why, e.g. after a wrong one);
/// `Ok(None)` when nobody can be asked (no terminal) or nothing was typed.
pub type Ask = fn(nick: &Nick, why: &str) -> io::Result<Option<Secret>>;

/// How the line mode logs in to a registered nick.
#[derive(Debug, Clone)]
pub struct Login {
    /// The password of the nick's account, if given (`--password-file`, `CHAT_PASSWORD`).
    pub password: Option<Secret>,
    /// Asks when no password was given or it was wrong.
    pub ask: Ask,
}

impl Login {
    /// No password, and nobody to ask: a registered nick ends the run with an error.
    pub fn none() -> Login {
        Login {
            password: None,
            ask: |_, _| Ok(None),
        }
    }
}

/// What a server line was to the account side.
pub(super) enum Step {
    /// Not an answer to an account command of ours.
    NotMine,
    /// Taken (and noted).
    Done,
    /// Taken; this line goes out (a `LOGIN` with a password typed again).
    Send(String),
    /// `OK LOGIN`: the connection holds this nick (registered, if it was not yet).
    LoggedIn(Nick),
}

/// The line mode's account side, across connections.
pub(super) struct PlainLogin {
    account: Account,
    ask: Ask,
    /// A `LOGIN` refused for a while: sent again at this time.
    retry: Option<(Instant, Nick, Secret)>,
    /// This registration waits for a login (the nick wanted is registered).
    waiting: bool,
    /// The server ended the connection because another client logged in to our account
    /// (`BYE logged in elsewhere`): the run ends, without reconnecting.
    pub(super) taken_over: bool,
}

impl PlainLogin {
    pub(super) fn new(nick: &Nick, login: Login) -> PlainLogin {
        PlainLogin {
            account: Account::new(nick, login.password),
            ask: login.ask,
            retry: None,
            waiting: false,
            taken_over: false,
        }
    }

    /// A new connection: nothing asked on the old one will be answered.
    pub(super) fn new_connection(&mut self) {
        self.account.new_connection();
        self.waiting = false;
    }

    /// The `PING` to send once an `OK LOGIN` is handled ([`DELIVERED`](crate::app::DELIVERED)).
    pub(super) fn delivery_barrier(&mut self) -> String {
        self.account.delivery_barrier()
    }

    /// Whether a `PONG` with `token` answers our barrier (it is then not printed).
    pub(super) fn delivered(&mut self, token: Option<&str>) -> bool {
        self.account.delivered(token)
    }

    /// Our nick is `nick` now: a rename away from the account's nick leaves it.
    pub(super) fn renamed(&mut self, nick: &Nick) {
        self.account.renamed(nick);
    }

    /// Whether the account's direct messages can be asked for now (`Account::direct_history`).
    pub(super) fn direct_history(&self) -> bool {
        self.account.direct_history()
    }

    /// Registration met `ERR NICK_REGISTERED` for the nick wanted: the `LOGIN` to send, or
    /// `None` while a refused one waits for its time; an error when there is no password
    /// and nobody to ask.
    pub(super) fn on_registered_nick(&mut self, nick: &Nick) -> io::Result<Option<String>> {
        self.waiting = true;
        if self.retry.is_some() {
            return Ok(None);
        }
        let password = match self.account.password_for(nick) {
            Some(password) => password.clone(),
            None => (self.ask)(nick, "")?.ok_or_else(|| {
                io::Error::other(format!(
                    "{nick} is a registered nick and no password was given: give it with \
                     --password-file FILE or CHAT_PASSWORD (there is no terminal to ask on)"
                ))
            })?,
        };
        Ok(Some(self.account.login(nick.clone(), password)))
    }

    /// When a `LOGIN` refused for a while is to be sent again, if it can go then: while
    /// this registration waits for it, or once registered (a `/login`). Otherwise it waits
    /// for the next `NICK_REGISTERED`, and nothing is due (no wake-up before).
    pub(super) fn due(&self, registered: bool) -> Option<Instant> {
        let can_go = self.waiting || registered;
        self.retry.as_ref().filter(|_| can_go).map(|(at, _, _)| *at)
    }

    /// The `LOGIN` to send again now that its wait is over, if it is [`due`](Self::due).
    pub(super) fn retry(&mut self, registered: bool) -> Option<String> {
        if self.due(registered).is_none_or(|at| at > Instant::now()) {
            return None;
        }
        let (_, nick, password) = self.retry.take().expect("it is due");
        Some(self.account.login(nick, password))
    }

    /// An account command typed: the line to send, or `None` (a note says why).
    pub(super) fn on_input(
        &mut self,
        command: UserCommand<'_>,
        notes: &mut impl Write,
    ) -> io::Result<Option<String>> {
        Ok(Some(match command {
            UserCommand::Register(password) => self.account.register(password),
            UserCommand::Password { old, new } => self.account.change_password(old, new),
            UserCommand::Unregister(password) => self.account.unregister(password),
            UserCommand::Login { nick, password } => {
                let password = match password {
                    Some(password) => Some(Secret::new(password.expose())),
                    None => (self.ask)(&nick, "")?,
                };
                let Some(password) = password else {
                    note(
                        notes,
                        "usage: /login NICK PASSWORD (there is no terminal to ask for it on)",
                    )?;
                    return Ok(None);
                };
                self.account.login(nick, password)
            }
            _ => return Ok(None),
        }))
    }

    /// A server line, printed already: an answer to one of our account commands is noted,
    /// and a refused login asked again, sent again later, or the end of the run (no
    /// terminal, and registration cannot go on).
    pub(super) fn on_reply(
        &mut self,
        reply: &Reply,
        registered: bool,
        notes: &mut impl Write,
    ) -> io::Result<Step> {
        let Some(answer) = self.account.answer(reply) else {
            return Ok(Step::NotMine);
        };
        match answer {
            Answer::LoggedIn(nick) => {
                self.waiting = false;
                self.retry = None;
                note(notes, &format!("logged in as {nick}"))?;
                return Ok(Step::LoggedIn(nick));
            }
            Answer::Registered(nick) => note(
                notes,
                &format!("{nick} is registered now, and you are logged in to it"),
            )?,
            Answer::PasswordChanged => note(notes, "password changed")?,
            Answer::Unregistered(nick) => {
                note(notes, &format!("{nick} is no longer registered"))?;
            }
            Answer::Refused {
                asked: Asked::Login { nick, password },
                why,
                text,
                ..
            } => return self.login_refused(nick, password, why, &text, registered, notes),
            Answer::Refused { text, .. } => note(notes, &text)?,
        }
        Ok(Step::Done)
    }

    fn login_refused(
        &mut self,
        nick: Nick,
        password: Secret,
        why: Refusal,
        text: &str,
        registered: bool,
        notes: &mut impl Write,
    ) -> io::Result<Step> {
        if let Some(wait) = why.retry_after() {
            let seconds = wait.as_secs().max(1);
            note(notes, &format!("{text}; logging in again in {seconds} s"))?;
            // Not known to be wrong: kept for the next connection too.
            self.account.remember(nick.clone(), password.clone());
            self.retry = Some((
                Instant::now() + Duration::from_secs(seconds),
                nick,
                password,
            ));
            return Ok(Step::Done);
        }
        if why != Refusal::BadLogin {
            if registered {
                note(notes, &format!("cannot log in to {nick}: {text}"))?;
                return Ok(Step::Done);
            }
            return Err(io::Error::other(format!("cannot log in to {nick}: {text}")));
        }
        note(notes, &format!("wrong password for {nick}"))?;
        match (self.ask)(&nick, "wrong password; ")? {
            Some(password) => Ok(Step::Send(self.account.login(nick, password))),
            None if registered => Ok(Step::Done),
            None => Err(io::Error::other(format!(
                "wrong password for {nick} (the server said BAD_LOGIN), and no terminal to ask \
                 again on: give the right one with --password-file FILE or CHAT_PASSWORD"
            ))),
        }
    }
}

/// A note for the person, on the error output: `chat: <text>`, made printable (it may
/// quote the server).
fn note(notes: &mut impl Write, text: &str) -> io::Result<()> {
    writeln!(notes, "chat: {}", for_output(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn reply(line: &str) -> Reply {
        Reply::parse(line).unwrap()
    }

    #[test]
    fn issue_16_a_login_refused_for_a_while_is_due_after_the_wait_only() {
        let login = Login {
            password: Some(Secret::new("correct-horse")),
            ask: |_, _| Ok(None),
        };
        let mut plain = PlainLogin::new(&nick("alice"), login);
        let line = plain.on_registered_nick(&nick("alice")).unwrap();
        assert_eq!(line.as_deref(), Some("LOGIN alice correct-horse"));
        let mut notes = Vec::new();
        let refusal = reply("ERR TOO_MANY_ATTEMPTS too many failed logins; try again in 60 s");
        let before = Instant::now();
        let step = plain.on_reply(&refusal, false, &mut notes).unwrap();
        assert!(matches!(step, Step::Done));
        let notes = String::from_utf8(notes).unwrap();
        assert!(notes.contains("logging in again in 60 s"), "{notes}");
        let due = plain.due(false).unwrap();
        assert!(due >= before + Duration::from_secs(60), "{due:?}");
        assert_eq!(plain.retry(false), None);
        // A new connection waits for its own NICK_REGISTERED: nothing is due until then,
        // and that one does not log in before the wait is over either.
        plain.new_connection();
        assert_eq!(plain.due(false), None);
        assert_eq!(plain.on_registered_nick(&nick("alice")).unwrap(), None);
        assert_eq!(plain.due(false), Some(due));
    }

    #[test]
    fn issue_16_without_a_terminal_a_wrong_password_ends_registration() {
        let login = Login {
            password: Some(Secret::new("wrong-horse")),
            ask: |_, _| Ok(None),
        };
        let mut plain = PlainLogin::new(&nick("alice"), login);
        plain.on_registered_nick(&nick("alice")).unwrap();
        let mut notes = Vec::new();
        let bad = reply("ERR BAD_LOGIN wrong nick or password");
        let error = plain.on_reply(&bad, false, &mut notes).err().unwrap();
        assert!(
            error.to_string().contains("wrong password for alice"),
            "{error}"
        );
        assert!(!error.to_string().contains("wrong-horse"));
        // Asked again on a terminal: a new LOGIN with what was typed.
        let login = Login {
            password: Some(Secret::new("wrong-horse")),
            ask: |_, why| {
                assert_eq!(why, "wrong password; ");
                Ok(Some(Secret::new("right-horse")))
            },
        };
        let mut plain = PlainLogin::new(&nick("alice"), login);
        plain.on_registered_nick(&nick("alice")).unwrap();
        match plain.on_reply(&bad, false, &mut notes).unwrap() {
            Step::Send(line) => assert_eq!(line, "LOGIN alice right-horse"),
            _ => panic!("not sent again"),
        }
    }
}
