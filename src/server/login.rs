//! [`Login`]: one connection's account state (a guest, waiting for the verification threads,
//! or logged in to an account) and what each account command asks of the server.
//!
//! In scope: turning `REGISTER`, `LOGIN`, `PASSWORD` and `UNREGISTER` into a job for the
//! verification threads or a refusal, turning their answer into a reply or a nick to claim,
//! and who may take a registered nick. Pure: no lock, no I/O, no clock.
//!
//! Out of scope: hashing, the account book and throttling (`accounts`), claiming the nick and
//! ending the connection that held it (`session`, `connection`), the wire (`chatd_proto`).
//!
//! The rules it keeps (protocol.md, Accounts):
//! - A registered nick is taken only by logging in to it. Renaming to another nick leaves
//!   the account: the connection is a guest under its new nick until it logs in again.
//! - `PASSWORD` and `UNREGISTER` need a login (`LOGIN_REQUIRED`); `REGISTER` registers the
//!   nick the connection holds.
//! - One connection per account: a login to an account held by another connection ends that
//!   one (`BYE logged in elsewhere`), then takes the nick.

use std::time::Duration;

use crate::server::accounts::{self, Job, MAILBOX_LINES, Outcome, Waiting};
use crate::server::admission::AddressGroup;
use chatd_proto::{Nick, NickKey, Password, ProtocolError, Reply};

/// What the verification threads said (with the direct messages that waited for a login),
/// or that they could not take the job.
pub enum Verdict {
    Answered(Outcome, Vec<Waiting>),
    /// Their queue was full: nothing was tried.
    Busy,
}

/// What an account command or an answer asks the session to do.
pub enum Step {
    /// Hand the job to the verification threads; read nothing more until the answer.
    Submit(Job),
    Reply(Reply),
    Refuse(ProtocolError),
    /// The login succeeded: claim the account's nick, ending whoever holds it, then deliver
    /// the direct messages that waited for it.
    Claim(Nick, Vec<Waiting>),
}

/// How often a login ends the connection holding its nick and finds it held again before it
/// gives up: the holder is ended at once, so a second round is already a rare race.
const TAKEOVER_ROUNDS: u8 = 3;

#[derive(Default)]
pub struct Login {
    /// The account this connection is logged in to.
    account: Option<NickKey>,
    /// Whether a job is with the verification threads.
    awaiting: bool,
    /// Whether that job is an `UNREGISTER`: the account may be gone any moment, so nothing
    /// is kept for it meanwhile ([`Login::holds_account`]).
    unregistering: bool,
    /// A successful login whose nick was held by another connection, being ended: claimed
    /// again at the next turn (with its waiting messages).
    takeover: Option<(Nick, Vec<Waiting>)>,
    /// Connections this login has ended so far.
    takeover_rounds: u8,
}

impl Login {
    /// Whether `nick` may be claimed by this connection, registered as it is or not.
    pub fn may_claim(&self, nick: &NickKey, registered: bool) -> bool {
        !registered || self.account.as_ref() == Some(nick)
    }

    /// The connection now holds `nick` (a `NICK` that succeeded): a rename away from the
    /// account's nick leaves the account.
    pub fn renamed(&mut self, nick: &NickKey) {
        if self.account.as_ref() != Some(nick) {
            self.account = None;
        }
    }

    pub fn is_awaiting(&self) -> bool {
        self.awaiting
    }

    /// `REGISTER <password>` by the holder of `nick`.
    pub fn register(&mut self, nick: Nick, password: Password<'_>) -> Step {
        self.submit(Job::Register {
            nick,
            password: secret(password),
        })
    }

    /// `LOGIN <nick> <password>` from `from`, whose answer may carry `budget` bytes of
    /// waiting direct messages.
    pub fn login(
        &mut self,
        nick: Nick,
        password: Password<'_>,
        from: AddressGroup,
        budget: usize,
    ) -> Step {
        self.submit(Job::Login {
            nick,
            password: secret(password),
            from,
            budget,
        })
    }

    /// A `MSG` to `to`, a registered account that is not online: kept for its next login.
    pub fn keep(&mut self, to: Nick, line: Waiting) -> Step {
        self.submit(Job::Keep { to, line })
    }

    /// `PASSWORD <old> <new>`.
    pub fn change_password(
        &mut self,
        nick: &Nick,
        old: Password<'_>,
        new: Password<'_>,
        from: AddressGroup,
    ) -> Step {
        if !self.is_logged_in_as(nick) {
            return Step::Refuse(ProtocolError::LoginRequired);
        }
        self.submit(Job::ChangePassword {
            nick: nick.clone(),
            old: secret(old),
            new: secret(new),
            from,
        })
    }

    /// `UNREGISTER <password>`.
    pub fn unregister(&mut self, nick: &Nick, password: Password<'_>, from: AddressGroup) -> Step {
        if !self.is_logged_in_as(nick) {
            return Step::Refuse(ProtocolError::LoginRequired);
        }
        self.unregistering = true;
        self.submit(Job::Unregister {
            nick: nick.clone(),
            password: secret(password),
            from,
        })
    }

    /// Whether the connection holds its account: logged in, and not unregistering it. What
    /// the registry keeps for the account (direct messages, rooms) follows this.
    pub fn holds_account(&self) -> bool {
        self.account.is_some() && !self.unregistering
    }

    /// Whether the connection is logged in to the account of `nick`.
    pub fn is_account(&self, nick: &NickKey) -> bool {
        self.account.as_ref() == Some(nick)
    }

    fn is_logged_in_as(&self, nick: &Nick) -> bool {
        self.account.as_ref() == Some(&nick.key())
    }

    fn submit(&mut self, job: Job) -> Step {
        self.awaiting = true;
        Step::Submit(job)
    }

    /// What the answer to the job asks for.
    pub fn answered(&mut self, verdict: Verdict) -> Step {
        self.awaiting = false;
        self.unregistering = false;
        let (outcome, waiting) = match verdict {
            Verdict::Busy => return Step::Refuse(ProtocolError::ServerBusy),
            Verdict::Answered(outcome, waiting) => (outcome, waiting),
        };
        match outcome {
            Outcome::Registered(nick) => {
                self.account = Some(nick.key());
                Step::Reply(Reply::OkRegister(nick))
            }
            Outcome::AlreadyRegistered(nick) => Step::Refuse(ProtocolError::NickRegistered(nick)),
            Outcome::LoggedIn(nick) => {
                self.takeover_rounds = 0;
                Step::Claim(nick, waiting)
            }
            Outcome::Kept(nick) => Step::Reply(Reply::OkStored(nick)),
            Outcome::MailboxFull(nick) => Step::Refuse(ProtocolError::MailboxFull {
                nick,
                lines: MAILBOX_LINES,
            }),
            Outcome::NoSuchAccount(nick) => {
                Step::Refuse(ProtocolError::NoSuchNick(nick.to_string()))
            }
            Outcome::BadLogin => Step::Refuse(ProtocolError::BadLogin),
            Outcome::TooManyAttempts { retry_after } => {
                Step::Refuse(ProtocolError::TooManyLogins {
                    wait_secs: whole_seconds(retry_after),
                })
            }
            Outcome::PasswordChanged => Step::Reply(Reply::OkPassword),
            Outcome::Unregistered(nick) => {
                self.account = None;
                Step::Reply(Reply::OkUnregister(nick))
            }
            Outcome::StoreFailed => Step::Refuse(ProtocolError::ServerBusy),
        }
    }

    /// The login's nick is held by another connection, which is being ended: `Ok` to claim
    /// it again after that, with `waiting`; `Err(waiting)` back when it has been tried often
    /// enough (the owner's own connections racing): the password was right, so the caller
    /// still delivers them.
    pub fn held_elsewhere(
        &mut self,
        nick: Nick,
        waiting: Vec<Waiting>,
    ) -> Result<(), Vec<Waiting>> {
        self.takeover_rounds += 1;
        if self.takeover_rounds > TAKEOVER_ROUNDS {
            return Err(waiting);
        }
        self.takeover = Some((nick, waiting));
        Ok(())
    }

    /// The nick (and waiting messages) of a takeover whose holder has been ended, to claim
    /// now.
    pub fn take_takeover(&mut self) -> Option<(Nick, Vec<Waiting>)> {
        self.takeover.take()
    }

    /// The claim of `nick` succeeded: logged in.
    pub fn logged_in(&mut self, nick: &Nick) {
        self.account = Some(nick.key());
    }
}

/// The password as the verification threads take it: their own copy, wiped when dropped.
fn secret(password: Password<'_>) -> accounts::Password {
    password.expose().to_owned().into()
}

/// Seconds to tell a client to wait, rounded up: "try again in 0 s" would be false.
fn whole_seconds(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn nick(name: &str) -> Nick {
        Nick::parse(name).expect("a nick")
    }

    fn from() -> AddressGroup {
        AddressGroup::of(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    fn password() -> Password<'static> {
        Password::given("correct-horse")
    }

    /// Logs `login` in to `name`, as a successful `LOGIN` and claim do.
    fn log_in(login: &mut Login, name: &str) {
        let step = login.login(nick(name), password(), from(), 1 << 20);
        assert!(matches!(step, Step::Submit(Job::Login { .. })));
        assert!(login.is_awaiting());
        let step = login.answered(Verdict::Answered(Outcome::LoggedIn(nick(name)), Vec::new()));
        assert!(matches!(step, Step::Claim(claimed, _) if claimed == nick(name)));
        assert!(!login.is_awaiting());
        login.logged_in(&nick(name));
    }

    #[test]
    fn issue_16_a_registered_nick_is_claimed_only_by_its_account_in_any_case() {
        let mut login = Login::default();
        let alice = nick("alice").key();
        assert!(login.may_claim(&alice, false));
        assert!(!login.may_claim(&alice, true));
        log_in(&mut login, "alice");
        assert!(login.may_claim(&nick("ALICE").key(), true));
        assert!(!login.may_claim(&nick("bob").key(), true));
    }

    #[test]
    fn issue_16_renaming_away_leaves_the_account_and_a_case_change_does_not() {
        let mut login = Login::default();
        log_in(&mut login, "alice");
        login.renamed(&nick("Alice").key());
        assert!(login.may_claim(&nick("alice").key(), true));
        login.renamed(&nick("al").key());
        assert!(!login.may_claim(&nick("alice").key(), true));
    }

    #[test]
    fn issue_16_password_and_unregister_need_a_login_to_the_nick_held() {
        let mut login = Login::default();
        let alice = nick("alice");
        let new = Password::new("new-password").expect("a good password");
        assert!(matches!(
            login.change_password(&alice, password(), new, from()),
            Step::Refuse(ProtocolError::LoginRequired)
        ));
        assert!(matches!(
            login.unregister(&alice, password(), from()),
            Step::Refuse(ProtocolError::LoginRequired)
        ));
        assert!(!login.is_awaiting());
        log_in(&mut login, "alice");
        assert!(matches!(
            login.unregister(&alice, password(), from()),
            Step::Submit(Job::Unregister { .. })
        ));
        let step = login.answered(Verdict::Answered(
            Outcome::Unregistered(alice.clone()),
            Vec::new(),
        ));
        assert!(matches!(step, Step::Reply(Reply::OkUnregister(n)) if n == alice));
        assert!(matches!(
            login.unregister(&alice, password(), from()),
            Step::Refuse(ProtocolError::LoginRequired)
        ));
    }

    #[test]
    fn issue_16_answers_become_the_documented_replies() {
        let mut login = Login::default();
        let cases = [
            (Verdict::Busy, "ERR SERVER_BUSY"),
            (
                Verdict::Answered(Outcome::BadLogin, Vec::new()),
                "ERR BAD_LOGIN",
            ),
            (
                Verdict::Answered(Outcome::StoreFailed, Vec::new()),
                "ERR SERVER_BUSY",
            ),
            (
                Verdict::Answered(Outcome::AlreadyRegistered(nick("ann")), Vec::new()),
                "ERR NICK_REGISTERED",
            ),
            (
                Verdict::Answered(Outcome::PasswordChanged, Vec::new()),
                "OK PASSWORD",
            ),
            (
                Verdict::Answered(Outcome::Registered(nick("ann")), Vec::new()),
                "OK REGISTER ann",
            ),
        ];
        for (verdict, start) in cases {
            let line = match login.answered(verdict) {
                Step::Reply(reply) => reply.to_string(),
                Step::Refuse(error) => Reply::from(&error).to_string(),
                _ => panic!("a reply or a refusal"),
            };
            assert!(line.starts_with(start), "{line}");
        }
        // A wait is told in whole seconds, rounded up.
        let step = login.answered(Verdict::Answered(
            Outcome::TooManyAttempts {
                retry_after: Duration::from_millis(1_500),
            },
            Vec::new(),
        ));
        let Step::Refuse(error) = step else {
            panic!("a refusal")
        };
        assert!(error.to_string().ends_with("try again in 2 s"), "{error}");
    }

    #[test]
    fn issue_16_a_takeover_is_tried_a_few_rounds_then_given_up() {
        let mut login = Login::default();
        for _ in 0..TAKEOVER_ROUNDS {
            assert!(login.held_elsewhere(nick("alice"), Vec::new()).is_ok());
            assert_eq!(login.take_takeover(), Some((nick("alice"), Vec::new())));
            assert_eq!(login.take_takeover(), None);
        }
        assert!(login.held_elsewhere(nick("alice"), Vec::new()).is_err());
        // A new login starts counting again.
        login.answered(Verdict::Answered(
            Outcome::LoggedIn(nick("alice")),
            Vec::new(),
        ));
        assert!(login.held_elsewhere(nick("alice"), Vec::new()).is_ok());
    }
}
