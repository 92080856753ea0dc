//! What the server asks of the account book ([`Job`]) and what it gets back ([`Answer`]).
//!
//! In scope: the four requests, their outcomes, and a `Debug` that never shows a password.
//! Out of scope: carrying them out (`verifier`), queueing them (`pool`), and their wire
//! spelling (the session turns an [`Outcome`] into `OK ...` or `ERR ...`).

use std::fmt;
use std::time::Duration;

use chatd_proto::Nick;

use super::mailbox::Waiting;
use super::password::Password;
use crate::server::admission::AddressGroup;

/// A request that needs a password hashed or checked, so it runs on a verification thread.
pub enum Job {
    /// Makes `nick` an account with `password` (`REGISTER <password>`).
    Register { nick: Nick, password: Password },
    /// Checks `password` for the account `nick` (`LOGIN <nick> <password>`); `from` is the
    /// client's address group, which failures are counted by as well as by the account.
    Login {
        nick: Nick,
        password: Password,
        from: AddressGroup,
        /// Bytes of waiting direct messages the answer may carry (half the client's queue).
        budget: usize,
    },
    /// Replaces the account's password once `old` checks (`PASSWORD <old> <new>`).
    ChangePassword {
        nick: Nick,
        old: Password,
        new: Password,
        from: AddressGroup,
    },
    /// Deletes the account once `password` checks (`UNREGISTER <password>`).
    Unregister {
        nick: Nick,
        password: Password,
        from: AddressGroup,
    },
    /// Keeps a direct message for the offline account `to` until its next login (a `MSG`
    /// to it): no password, but a write to the disk, so it runs here too.
    Keep { to: Nick, line: Waiting },
}

/// Written by hand, not derived, so that no change to a field can ever print a password.
impl fmt::Debug for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Job::Register { nick, .. } => f.debug_struct("Register").field("nick", nick).finish(),
            Job::Login { nick, from, .. } => f
                .debug_struct("Login")
                .field("nick", nick)
                .field("from", from)
                .finish_non_exhaustive(),
            Job::ChangePassword { nick, from, .. } => f
                .debug_struct("ChangePassword")
                .field("nick", nick)
                .field("from", from)
                .finish_non_exhaustive(),
            Job::Unregister { nick, from, .. } => f
                .debug_struct("Unregister")
                .field("nick", nick)
                .field("from", from)
                .finish_non_exhaustive(),
            // Not the text: message bodies are not logged above trace level.
            Job::Keep { to, line } => f
                .debug_struct("Keep")
                .field("to", to)
                .field("from", &line.from)
                .finish_non_exhaustive(),
        }
    }
}

/// A job's outcome, and how long the server waits before it tells the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub outcome: Outcome,
    /// How long the server waits before it answers: zero but for a failed password check
    /// after the first few (`throttle`). The wait is the server's (a timer), never a
    /// verification thread's or a worker's.
    pub delay: Duration,
    /// With [`Outcome::LoggedIn`]: the direct messages that waited for the account, oldest
    /// first, taken from its mailbox (the session delivers them after `OK LOGIN`).
    pub waiting: Vec<Waiting>,
}

impl Answer {
    /// An answer given at once.
    pub fn now(outcome: Outcome) -> Answer {
        Answer {
            outcome,
            delay: Duration::ZERO,
            waiting: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The account was made, under the nick as given.
    Registered(Nick),
    /// The nick is already an account, registered under this spelling.
    AlreadyRegistered(Nick),
    /// The password checked: the account's own spelling of the nick, which the connection
    /// takes.
    LoggedIn(Nick),
    /// A wrong password, or no such account: the two are not told apart.
    BadLogin,
    /// Too many failures lately for this account or from this address: nothing was
    /// checked. `retry_after` is when an attempt will be checked again.
    TooManyAttempts {
        retry_after: Duration,
    },
    PasswordChanged,
    /// The account was deleted: its own spelling of the nick.
    Unregistered(Nick),
    /// The direct message waits for the account (its own spelling of the nick).
    Kept(Nick),
    /// The account has `mailbox::MAILBOX_LINES` waiting already: not kept.
    MailboxFull(Nick),
    /// The nick a line was to be kept for is no account (any more): not kept.
    NoSuchAccount(Nick),
    /// The change could not be made: the database refused it (or, never seen, the system's
    /// random generator gave no salt). Nothing changed; both are logged.
    StoreFailed,
}

/// The verification queue is full (or closed): the job was not taken, and its `done` will
/// never be called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    #[test]
    fn a_jobs_debug_shows_no_password() {
        let nick = Nick::parse("alice").unwrap();
        let from = AddressGroup::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let secret = || Password::from("hunter22-secret".to_owned());
        let jobs = [
            Job::Register {
                nick: nick.clone(),
                password: secret(),
            },
            Job::Login {
                nick: nick.clone(),
                password: secret(),
                from,
                budget: 0,
            },
            Job::ChangePassword {
                nick: nick.clone(),
                old: secret(),
                new: Password::from("other-secret".to_owned()),
                from,
            },
            Job::Unregister {
                nick: nick.clone(),
                password: secret(),
                from,
            },
        ];
        for job in &jobs {
            let shown = format!("{job:?} {job:#?}");
            assert!(shown.contains("alice"), "{shown}");
            assert!(!shown.contains("secret"), "{shown}");
        }
        assert!(format!("{:?}", jobs[1]).contains("192.0.2.1"));
    }
}
