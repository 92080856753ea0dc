//! The account the client logs in to (issue 16): the password it keeps for the session, so
//! that every reconnect logs in again by itself, the account commands (`REGISTER`,
//! `LOGIN`, `PASSWORD`, `UNREGISTER`) sent and not answered yet, whose answers it reads,
//! whether the connection holds the account (the direct messages the server keeps for it
//! can be asked for only then), and the `PING` barrier after `OK LOGIN` that tells when the
//! messages that waited for the account are all in ([`DELIVERED`]). Shared by the
//! full-screen client and the line mode, as `caps` is. [`Account::answer`] is, with
//! `nick`'s and `caps`' readers, one of the places where error codes are read.
//!
//! Out of scope: when to log in and what to tell the user (`login` for the full-screen
//! client, `line_mode`), where a password comes from (`crate::password`), and sending: the
//! methods give the line to send, built by the protocol crate. The password is kept in
//! memory only; it is never part of a text for the user.

use std::collections::VecDeque;
use std::time::Duration;

use chatd_proto::{Command, ErrorCode, Nick, NickKey, Password, Reply};

use crate::password::Secret;

/// How long to wait before a `LOGIN` answered `SERVER_BUSY` is sent again: its text says
/// "a few seconds".
pub const BUSY_RETRY: Duration = Duration::from_secs(3);

/// The wait used when a `TOO_MANY_ATTEMPTS` text gives none that can be read.
const THROTTLE_FALLBACK: Duration = Duration::from_secs(10);

/// The token of the `PING` sent once an `OK LOGIN` is handled. Right after `OK LOGIN` the
/// server sends the direct messages that waited for the account, a block of `HIST <sender>`
/// lines and an `END HISTORY <sender> <n>` per sender, which nothing else marks as such; it
/// answers lines in order, so this `PONG` comes after the last of them. Until then no
/// `HISTORY <nick>` is sent, whose answer would look the same.
pub const DELIVERED: &str = "chat-waiting-delivered";

/// An account command sent and not answered yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked {
    Login {
        nick: Nick,
        password: Secret,
    },
    Register {
        password: Secret,
    },
    /// `PASSWORD`: the new password, remembered once the server says `OK PASSWORD`.
    Password {
        new: Secret,
    },
    Unregister,
}

/// Why the server refused an account command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `BAD_LOGIN`: a wrong password (or, for `LOGIN`, a nick that is no account).
    BadLogin,
    /// `TOO_MANY_ATTEMPTS`: the server checks no password of this account or address for
    /// this long, the right one neither.
    Throttled(Duration),
    /// `SERVER_BUSY`: nothing was done; the same line may be sent again in a few seconds.
    Busy,
    /// Anything else (`WEAK_PASSWORD`, `LOGIN_REQUIRED`, `NICK_REGISTERED` for a nick that is
    /// an account already, `UNKNOWN_COMMAND` from a server without accounts): told as is.
    Other,
}

impl Refusal {
    /// How long to wait before the same `LOGIN` is worth sending again, if it is.
    pub fn retry_after(self) -> Option<Duration> {
        match self {
            Refusal::Throttled(wait) => Some(wait),
            Refusal::Busy => Some(BUSY_RETRY),
            Refusal::BadLogin | Refusal::Other => None,
        }
    }
}

/// What an answer to one of our account commands means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `OK LOGIN <nick>`: the connection holds the account's nick, as the account spells it.
    LoggedIn(Nick),
    /// `OK REGISTER <nick>`: our nick is an account now, and we are logged in to it.
    Registered(Nick),
    /// `OK PASSWORD`: the new password is the one kept.
    PasswordChanged,
    /// `OK UNREGISTER <nick>`: the account is gone; its password is forgotten.
    Unregistered(Nick),
    /// An `ERR` answering `asked`.
    Refused {
        asked: Asked,
        why: Refusal,
        code: ErrorCode,
        text: String,
    },
}

/// The account side of the client: the password kept and the commands waiting for answers.
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// The nick and password to log in with when the server says the nick is registered:
    /// given for `--nick` (`--password-file`, `CHAT_PASSWORD`), typed when asked, or set by
    /// `/register`, `/login` and `/password` once the server agreed. Forgotten when the
    /// server says it is wrong and on `OK UNREGISTER`. Kept in memory for the session only.
    remembered: Option<(Nick, Secret)>,
    /// Account commands sent on this connection and not answered yet, oldest first: the
    /// server answers them in order (it reads nothing more from us until it has).
    asked: VecDeque<Asked>,
    /// The account this connection holds, as its answers and our renames tell (`OK LOGIN`,
    /// `OK REGISTER`; none as a guest, after `OK UNREGISTER` or a rename away from it, as
    /// the server has it): the server keeps direct messages for it, and only then answers
    /// `HISTORY <nick>`.
    held: Option<NickKey>,
    /// `PING`s of [`DELIVERED`] sent and not answered yet: the messages that waited for the
    /// account may still be coming.
    delivering: u32,
}

impl Account {
    /// An account side that knows `password` for `nick`, if one was given.
    pub fn new(nick: &Nick, password: Option<Secret>) -> Account {
        Account {
            remembered: password.map(|password| (nick.clone(), password)),
            asked: VecDeque::new(),
            held: None,
            delivering: 0,
        }
    }

    /// The password kept for `nick` (nicks compared as the server does, ignoring case).
    pub fn password_for(&self, nick: &Nick) -> Option<&Secret> {
        self.remembered
            .as_ref()
            .filter(|(kept, _)| kept.key() == nick.key())
            .map(|(_, password)| password)
    }

    /// Keeps `password` for `nick`, replacing whatever was kept.
    pub fn remember(&mut self, nick: Nick, password: Secret) {
        self.remembered = Some((nick, password));
    }

    /// A new connection: what was asked on the old one will never be answered, and it
    /// holds no account until it logs in.
    pub fn new_connection(&mut self) {
        self.asked.clear();
        self.held = None;
        self.delivering = 0;
    }

    /// Whether the connection holds an account (it is logged in).
    pub fn holds_account(&self) -> bool {
        self.held.is_some()
    }

    /// Our nick is `nick` now (`OK NICK`): a rename away from the account's nick leaves the
    /// account, as at the server; the same nick in another case keeps it.
    pub fn renamed(&mut self, nick: &Nick) {
        if self.held.as_ref() != Some(&nick.key()) {
            self.held = None;
        }
    }

    /// `ERR LOGIN_REQUIRED` answered a `HISTORY <nick>`: the server does not count us
    /// logged in (the account was deleted meanwhile, say), so nothing more is asked of it
    /// until the next login.
    pub fn history_refused(&mut self) {
        self.held = None;
    }

    /// The `PING` line to send once an `OK LOGIN` is handled, noted as sent (see
    /// [`DELIVERED`]).
    pub fn delivery_barrier(&mut self) -> String {
        self.delivering += 1;
        Command::Ping {
            token: Some(DELIVERED),
        }
        .to_string()
    }

    /// Whether a `PONG` with `token` answers one of our [`Account::delivery_barrier`]s (it
    /// is then taken, and shown nowhere).
    pub fn delivered(&mut self, token: Option<&str>) -> bool {
        if token != Some(DELIVERED) || self.delivering == 0 {
            return false;
        }
        self.delivering -= 1;
        true
    }

    /// Whether the direct messages the server keeps for the account can be asked for now
    /// (`HISTORY <nick>`): logged in, the messages that waited for the login all in (their
    /// `HIST` blocks would be taken for the answer), and no account command waiting (its
    /// answer may end the login, and an `ERR LOGIN_REQUIRED` could answer either).
    pub fn direct_history(&self) -> bool {
        self.held.is_some() && self.delivering == 0 && self.asked.is_empty()
    }

    /// Whether a `LOGIN` is waiting for its answer.
    pub fn logging_in(&self) -> bool {
        self.asked
            .iter()
            .any(|asked| matches!(asked, Asked::Login { .. }))
    }

    /// Whether an account command is waiting for its answer.
    pub fn waiting(&self) -> bool {
        !self.asked.is_empty()
    }

    /// The `LOGIN` line for `nick` with `password`, noted as asked.
    pub fn login(&mut self, nick: Nick, password: Secret) -> String {
        let line = Command::Login {
            nick: nick.clone(),
            password: password.given(),
        }
        .to_string();
        self.asked.push_back(Asked::Login { nick, password });
        line
    }

    /// The `REGISTER` line for a password that meets the rule, noted as asked.
    pub fn register(&mut self, password: Password<'_>) -> String {
        let line = Command::Register(password).to_string();
        self.asked.push_back(Asked::Register {
            password: Secret::new(password.expose()),
        });
        line
    }

    /// The `PASSWORD` line, the new password meeting the rule, noted as asked.
    pub fn change_password(&mut self, old: Password<'_>, new: Password<'_>) -> String {
        let line = Command::Password { old, new }.to_string();
        self.asked.push_back(Asked::Password {
            new: Secret::new(new.expose()),
        });
        line
    }

    /// The `UNREGISTER` line, noted as asked.
    pub fn unregister(&mut self, password: Password<'_>) -> String {
        let line = Command::Unregister(password).to_string();
        self.asked.push_back(Asked::Unregister);
        line
    }

    /// Reads `reply` if it answers one of our account commands (`None` for an answer to
    /// nothing we asked: the caller shows it as it is). A `NICK_REGISTERED` that
    /// answers a `NICK` is not ours to read: the caller routes it first (`REGISTER` of a nick
    /// that is an account already is answered with the same code).
    pub fn answer(&mut self, reply: &Reply) -> Option<Answer> {
        match reply {
            Reply::OkLogin(nick) => {
                let Some(Asked::Login { password, .. }) = self.take(is_login) else {
                    return None;
                };
                self.remembered = Some((nick.clone(), password));
                self.held = Some(nick.key());
                Some(Answer::LoggedIn(nick.clone()))
            }
            Reply::OkRegister(nick) => {
                let Some(Asked::Register { password }) = self.take(is_register) else {
                    return None;
                };
                self.remembered = Some((nick.clone(), password));
                self.held = Some(nick.key());
                Some(Answer::Registered(nick.clone()))
            }
            Reply::OkPassword => {
                let Some(Asked::Password { new }) = self.take(is_password) else {
                    return None;
                };
                if let Some((_, kept)) = &mut self.remembered {
                    *kept = new;
                }
                Some(Answer::PasswordChanged)
            }
            Reply::OkUnregister(nick) => {
                self.take(|asked| matches!(asked, Asked::Unregister))?;
                self.held = None;
                if self.password_for(nick).is_some() {
                    self.remembered = None;
                }
                Some(Answer::Unregistered(nick.clone()))
            }
            Reply::Err { code, text } => {
                let why = match code {
                    ErrorCode::BadLogin => Refusal::BadLogin,
                    ErrorCode::TooManyAttempts => Refusal::Throttled(wait_in(text)),
                    ErrorCode::ServerBusy => Refusal::Busy,
                    // `REGISTER` of a nick that is an account already.
                    ErrorCode::NickRegistered
                        if matches!(self.asked.front(), Some(Asked::Register { .. })) =>
                    {
                        Refusal::Other
                    }
                    ErrorCode::WeakPassword
                    | ErrorCode::LoginRequired
                    | ErrorCode::UnknownCommand => Refusal::Other,
                    _ => return None,
                };
                let asked = self.asked.pop_front()?;
                if let (Refusal::BadLogin, Asked::Login { nick, password }) = (why, &asked) {
                    // A wrong password is not tried again on the next connection.
                    if self.password_for(nick) == Some(password) {
                        self.remembered = None;
                    }
                }
                Some(Answer::Refused {
                    asked,
                    why,
                    code: code.clone(),
                    text: text.clone(),
                })
            }
            _ => None,
        }
    }

    /// Takes the oldest asked command that `which` picks (the front one, since answers come
    /// in order; searched all the same, so that one answer that is not ours does not
    /// misplace the rest).
    fn take(&mut self, which: impl Fn(&Asked) -> bool) -> Option<Asked> {
        let at = self.asked.iter().position(which)?;
        self.asked.remove(at)
    }
}

fn is_login(asked: &Asked) -> bool {
    matches!(asked, Asked::Login { .. })
}

fn is_register(asked: &Asked) -> bool {
    matches!(asked, Asked::Register { .. })
}

fn is_password(asked: &Asked) -> bool {
    matches!(asked, Asked::Password { .. })
}

/// The wait a `TOO_MANY_ATTEMPTS` text gives (`... try again in <seconds> s`, see
/// protocol.md), or [`THROTTLE_FALLBACK`]; at least a second, so that nothing is sent
/// again at once.
pub fn wait_in(text: &str) -> Duration {
    let seconds = text
        .rsplit_once("try again in ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|number| number.parse::<u64>().ok());
    match seconds {
        Some(seconds) => Duration::from_secs(seconds.max(1)),
        None => THROTTLE_FALLBACK,
    }
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
    fn issue_16_a_login_the_server_agrees_to_is_remembered_for_the_next_connection() {
        let mut account = Account::new(&nick("alice"), None);
        assert_eq!(account.password_for(&nick("alice")), None);
        let line = account.login(nick("Alice"), Secret::new("correct-horse"));
        assert_eq!(line, "LOGIN Alice correct-horse");
        assert!(account.logging_in());
        assert_eq!(
            account.answer(&reply("OK LOGIN alice")),
            Some(Answer::LoggedIn(nick("alice")))
        );
        assert!(!account.waiting());
        assert_eq!(
            account.password_for(&nick("ALICE")).map(Secret::expose),
            Some("correct-horse")
        );
    }

    #[test]
    fn issue_16_a_wrong_password_is_forgotten() {
        let mut account = Account::new(&nick("alice"), Some(Secret::new("wrong-one")));
        account.login(nick("alice"), Secret::new("wrong-one"));
        let Some(Answer::Refused { asked, why, .. }) =
            account.answer(&reply("ERR BAD_LOGIN wrong nick or password"))
        else {
            panic!("not a refusal");
        };
        assert_eq!(why, Refusal::BadLogin);
        assert!(matches!(asked, Asked::Login { .. }));
        assert_eq!(account.password_for(&nick("alice")), None);
    }

    #[test]
    fn issue_16_password_and_unregister_change_what_is_kept() {
        let mut account = Account::new(&nick("alice"), None);
        let new = |text| Password::new(text).unwrap();
        assert_eq!(
            account.register(new("first-password")),
            "REGISTER first-password"
        );
        account.answer(&reply("OK REGISTER alice"));
        assert_eq!(
            account.password_for(&nick("alice")).map(Secret::expose),
            Some("first-password")
        );
        let line = account.change_password(new("first-password"), new("second-password"));
        assert_eq!(line, "PASSWORD first-password second-password");
        assert_eq!(
            account.answer(&reply("OK PASSWORD")),
            Some(Answer::PasswordChanged)
        );
        assert_eq!(
            account.password_for(&nick("alice")).map(Secret::expose),
            Some("second-password")
        );
        assert_eq!(
            account.unregister(Password::given("second-password")),
            "UNREGISTER second-password"
        );
        account.answer(&reply("OK UNREGISTER alice"));
        assert_eq!(account.password_for(&nick("alice")), None);
    }

    #[test]
    fn issue_16_the_direct_history_is_asked_only_while_the_account_is_held() {
        let mut account = Account::new(&nick("alice"), Some(Secret::new("correct-horse")));
        assert!(!account.holds_account() && !account.direct_history());
        account.login(nick("alice"), Secret::new("correct-horse"));
        assert!(!account.direct_history(), "not before OK LOGIN");
        account.answer(&reply("OK LOGIN alice"));
        assert_eq!(account.delivery_barrier(), "PING chat-waiting-delivered");
        assert!(account.holds_account() && !account.direct_history());
        // Someone else's PONG is not ours.
        assert!(!account.delivered(Some("other")) && !account.delivered(None));
        assert!(account.delivered(Some(DELIVERED)));
        assert!(account.direct_history());
        assert!(!account.delivered(Some(DELIVERED)), "answered once");
        // A change of case keeps the account, a rename leaves it.
        account.renamed(&nick("Alice"));
        assert!(account.direct_history());
        account.renamed(&nick("al"));
        assert!(!account.holds_account());
        // REGISTER makes one, UNREGISTER ends it, and so does a new connection.
        account.register(Password::new("first-password").unwrap());
        assert!(!account.direct_history(), "an account command waits");
        account.answer(&reply("OK REGISTER al"));
        assert!(account.direct_history());
        account.unregister(Password::given("first-password"));
        account.answer(&reply("OK UNREGISTER al"));
        assert!(!account.holds_account());
        account.login(nick("alice"), Secret::new("correct-horse"));
        account.answer(&reply("OK LOGIN alice"));
        account.new_connection();
        assert!(!account.holds_account());
    }

    #[test]
    fn issue_16_refusals_say_when_to_try_again() {
        let mut account = Account::new(&nick("alice"), None);
        // An error that no account command gets is not read here, nor one with nothing asked.
        account.login(nick("alice"), Secret::new("pw-pw-pw-pw"));
        assert_eq!(account.answer(&reply("ERR NO_SUCH_ROOM no room #x")), None);
        let throttled = "ERR TOO_MANY_ATTEMPTS too many failed logins; try again in 8 s";
        let Some(Answer::Refused { why, .. }) = account.answer(&reply(throttled)) else {
            panic!("not a refusal");
        };
        assert_eq!(why.retry_after(), Some(Duration::from_secs(8)));
        assert_eq!(account.answer(&reply(throttled)), None);
        assert_eq!(wait_in("garbled"), THROTTLE_FALLBACK);
        assert_eq!(wait_in("try again in 0 s"), Duration::from_secs(1));
        assert_eq!(Refusal::Busy.retry_after(), Some(BUSY_RETRY));
        assert_eq!(Refusal::BadLogin.retry_after(), None);
    }
}
