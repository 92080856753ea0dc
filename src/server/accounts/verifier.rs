//! What one job does, on a verification thread: the throttle consulted, the password hashed or
//! checked without any lock held, the change made in the book, and the answer with its delay.
//!
//! In scope: the order of those steps and the log lines of failed checks (info, with the
//! address group and the nick, never the password). Out of scope: the rules of the throttle
//! (`throttle`), hashing (`password`), storage (`book`) and the threads (`pool`).
//!
//! A check clones the account's hash out of the book, verifies without a lock, and a change
//! that follows is made only if the hash is still the one checked; if another change came
//! first, the check is made again against what is there now.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chatd_proto::{Nick, NickKey};
use parking_lot::Mutex;

use super::book::{Account, Book, Refused};
use super::job::{Answer, Job, Outcome};
use super::mailbox::{Mailbox, NotKept, Waiting};
use super::password::{self, Password};
use super::throttle::{LOCK, Throttle, Verdict};
use crate::server::admission::AddressGroup;
use crate::server::history_entry::now;

/// How often a check is made again when another change to the account keeps coming first: a
/// bound, not a number any real use reaches.
const CHECK_ROUNDS: usize = 3;

/// The book and the throttle the verification threads share.
pub struct Verifier {
    pub book: Book,
    /// Direct messages waiting for offline accounts.
    pub mailbox: Mailbox,
    /// Failures by account and address. A mutex: held by a verification thread for a map
    /// lookup or update, never while hashing.
    throttle: Mutex<Throttle>,
    /// Checks that failed since the start.
    failed_checks: AtomicU64,
}

/// What a password check found.
enum Checked {
    /// The password is right for this account, as it was when checked.
    Right(Account),
    /// Wrong, or no such account; the throttle has counted it.
    Wrong(Duration),
    Refused(Duration),
}

impl Verifier {
    /// With a mailbox in memory.
    #[cfg(test)]
    pub fn new(book: Book) -> Verifier {
        Verifier::with_mailbox(book, Mailbox::in_memory())
    }

    pub fn with_mailbox(book: Book, mailbox: Mailbox) -> Verifier {
        Verifier {
            book,
            mailbox,
            throttle: Mutex::new(Throttle::default()),
            failed_checks: AtomicU64::new(0),
        }
    }

    /// Checks that failed since the start, counted before their answer is sent (and before
    /// its delay).
    pub fn failed_checks(&self) -> u64 {
        self.failed_checks.load(Ordering::Relaxed)
    }

    /// Does `job` and says how it went. Takes tens of milliseconds (a hash or two).
    pub fn answer(&self, job: Job) -> Answer {
        match job {
            Job::Register { nick, password } => self.register(&nick, &password),
            Job::Login {
                nick,
                password,
                from,
                budget,
            } => self.login(&nick, &password, from, budget),
            Job::ChangePassword {
                nick,
                old,
                new,
                from,
            } => self.change_password(&nick, &old, &new, from),
            Job::Unregister {
                nick,
                password,
                from,
            } => self.unregister(&nick, &password, from),
            Job::Keep { to, line } => self.keep(&to, line),
        }
    }

    /// Keeps `line` for the account `to`, if it still is one.
    fn keep(&self, to: &Nick, line: Waiting) -> Answer {
        let Some(account) = self.book.get(to) else {
            // Unregistered since the session looked: as for any nick not online.
            return Answer::now(Outcome::NoSuchAccount(to.clone()));
        };
        Answer::now(match self.mailbox.keep(&account.nick.key(), line) {
            Ok(()) => Outcome::Kept(account.nick),
            Err(NotKept::Full) => Outcome::MailboxFull(account.nick),
            Err(NotKept::Store) => Outcome::StoreFailed,
        })
    }

    fn register(&self, nick: &Nick, password: &Password) -> Answer {
        // Spares the hash when the answer is known already; `insert` checks again.
        if let Some(account) = self.book.get(nick) {
            return Answer::now(Outcome::AlreadyRegistered(account.nick));
        }
        let Some(hash) = hash(password) else {
            return Answer::now(Outcome::StoreFailed);
        };
        Answer::now(match self.book.insert(nick, hash, now().millis()) {
            Ok(()) => {
                log::info!("account {nick} registered");
                Outcome::Registered(nick.clone())
            }
            Err(Refused::Taken(nick)) => Outcome::AlreadyRegistered(nick),
            Err(Refused::Changed | Refused::Store) => Outcome::StoreFailed,
        })
    }

    fn login(&self, nick: &Nick, password: &Password, from: AddressGroup, budget: usize) -> Answer {
        match self.check(nick, password, from, "login") {
            Checked::Right(account) => {
                let waiting = self.mailbox.take(&account.nick.key(), budget);
                Answer {
                    waiting,
                    ..Answer::now(Outcome::LoggedIn(account.nick))
                }
            }
            Checked::Wrong(delay) => wrong(delay),
            Checked::Refused(retry_after) => refused(retry_after),
        }
    }

    fn change_password(
        &self,
        nick: &Nick,
        old: &Password,
        new: &Password,
        from: AddressGroup,
    ) -> Answer {
        let mut new_hash = None;
        for _ in 0..CHECK_ROUNDS {
            let account = match self.check(nick, old, from, "password change") {
                Checked::Right(account) => account,
                Checked::Wrong(delay) => return wrong(delay),
                Checked::Refused(retry_after) => return refused(retry_after),
            };
            if new_hash.is_none() {
                new_hash = hash(new);
            }
            let Some(hash) = new_hash.clone() else {
                return Answer::now(Outcome::StoreFailed);
            };
            match self.book.replace_hash(&account.nick, &account.hash, hash) {
                Ok(()) => {
                    log::info!("account {} changed its password", account.nick);
                    return Answer::now(Outcome::PasswordChanged);
                }
                Err(Refused::Changed) => continue,
                Err(Refused::Taken(_) | Refused::Store) => {
                    return Answer::now(Outcome::StoreFailed);
                }
            }
        }
        wrong(Duration::ZERO)
    }

    fn unregister(&self, nick: &Nick, password: &Password, from: AddressGroup) -> Answer {
        for _ in 0..CHECK_ROUNDS {
            let account = match self.check(nick, password, from, "unregister") {
                Checked::Right(account) => account,
                Checked::Wrong(delay) => return wrong(delay),
                Checked::Refused(retry_after) => return refused(retry_after),
            };
            match self.book.remove(&account.nick, &account.hash) {
                Ok(nick) => {
                    // Nobody will log in to read them.
                    self.mailbox.discard(&nick.key());
                    log::info!("account {nick} unregistered");
                    return Answer::now(Outcome::Unregistered(nick));
                }
                Err(Refused::Changed) => continue,
                Err(Refused::Taken(_) | Refused::Store) => {
                    return Answer::now(Outcome::StoreFailed);
                }
            }
        }
        wrong(Duration::ZERO)
    }

    /// Checks `password` for `nick` from `from`, as the throttle allows; `what` names the
    /// attempt in the log.
    fn check(&self, nick: &Nick, password: &Password, from: AddressGroup, what: &str) -> Checked {
        let key = nick.key();
        if let Verdict::Refused { retry_after } =
            self.throttle.lock().verdict(&key, from, Instant::now())
        {
            return Checked::Refused(retry_after);
        }
        for _ in 0..CHECK_ROUNDS {
            let Some(account) = self.book.get(nick) else {
                password::verify_nobody(password);
                return Checked::Wrong(self.failed(nick, &key, from, what));
            };
            if !password::verify(password, &account.hash) {
                return Checked::Wrong(self.failed(nick, &key, from, what));
            }
            // A change made while the hash was computed decides instead: check again.
            if self.book.get(nick).as_ref() == Some(&account) {
                self.throttle.lock().succeeded(&key);
                return Checked::Right(account);
            }
        }
        Checked::Wrong(Duration::ZERO)
    }

    /// Counts and logs a failed check: the wait before its answer.
    fn failed(&self, nick: &Nick, key: &NickKey, from: AddressGroup, what: &str) -> Duration {
        self.failed_checks.fetch_add(1, Ordering::Relaxed);
        let failed = self.throttle.lock().failed(key, from, Instant::now());
        log::info!("failed {what} for {nick} from {from}");
        let minutes = LOCK.as_secs() / 60;
        if failed.locked_account {
            log::info!("too many failures for {nick}: its checks refused for {minutes} minutes");
        }
        if failed.locked_address {
            log::info!("too many failures from {from}: its checks refused for {minutes} minutes");
        }
        failed.delay
    }
}

/// The hash of `password`, or `None` (logged) when the system's random generator failed.
fn hash(password: &Password) -> Option<String> {
    password::hash(password)
        .map_err(|error| log::error!("cannot hash a password: {error}"))
        .ok()
}

fn wrong(delay: Duration) -> Answer {
    Answer {
        delay,
        ..Answer::now(Outcome::BadLogin)
    }
}

fn refused(retry_after: Duration) -> Answer {
    Answer::now(Outcome::TooManyAttempts { retry_after })
}

#[cfg(test)]
mod tests;
