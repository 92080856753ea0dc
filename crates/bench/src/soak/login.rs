//! The check of the soak's logins: what the answers to right and wrong passwords may be
//! ([`judge_wrong`]), how many wrong passwords may be checked against an account before its
//! next right login without the server's throttle slowing that login down
//! ([`AccountFailures`]), what the login clients counted ([`LoginCounts`]) and what breaks
//! the contract ([`LoginFigures::failures`]).
//!
//! In scope: the rules and the counts. Pure: the answers come in read and parsed.
//! Out of scope: the connections and their loops (`login_clients`), the verdict as a whole
//! (`outcome`).
//!
//! The throttle (protocol.md, Accounts) counts failed checks per account and per address;
//! the first 3 of each are answered at once, later ones wait, and while one waits every other
//! check of that account or from that address is refused unchecked, the right password too.
//! The wrong passwords come from addresses of their own (`sources`), so their addresses are
//! slowed down and locked, never 127.0.0.1, where the right ones come from. But a wrong
//! password for an account counts against the account as well: [`AccountFailures`] keeps
//! the failures that no right login has cleared yet under the 3 answered at once, so a right
//! login is never refused for them.

use std::ops::AddAssign;

use chatd_proto::{ErrorCode, ProtocolError, Reply, reason};

/// Text in every password the soak sends, right or wrong: a line from the server that holds
/// it has echoed a password.
pub const PASSWORD_MARK: &str = "soak-pw-";

/// Wrong passwords checked against one account and not yet cleared by a right login, at
/// most: one under the server's 3 answered at once, for a wrong check that another auth
/// thread finishes just after a right one has cleared the count.
pub const UNCLEARED_AT_MOST: u32 = 2;

/// What the server made of a wrong password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrongAnswer {
    /// `ERR BAD_LOGIN wrong nick or password`: checked and refused.
    BadLogin,
    /// `ERR TOO_MANY_ATTEMPTS too many failed logins; ...`: refused unchecked.
    TooManyAttempts,
    /// `BYE register timeout` came first: the answer waited (the throttle's delay, or a busy
    /// auth thread) longer than an unregistered connection may stay.
    Cut,
    /// `OK LOGIN`: a wrong password was taken.
    Accepted,
    /// Anything else: a break of the contract.
    Other,
}

impl WrongAnswer {
    /// Whether the server may have counted the attempt as a failure: all but those refused
    /// unchecked.
    pub fn maybe_counted(&self) -> bool {
        *self != WrongAnswer::TooManyAttempts
    }
}

/// The answer `reply` to a `LOGIN` with a wrong password, from a client that is not
/// registered.
pub fn judge_wrong(reply: &Reply) -> WrongAnswer {
    match reply {
        Reply::Err {
            code: ErrorCode::BadLogin,
            ..
        } if *reply == Reply::from(&ProtocolError::BadLogin) => WrongAnswer::BadLogin,
        Reply::Err {
            code: ErrorCode::TooManyAttempts,
            text,
        } => {
            let wait_secs = text.split(' ').find_map(|word| word.parse::<u64>().ok());
            match wait_secs {
                Some(wait_secs)
                    if *reply == Reply::from(&ProtocolError::TooManyLogins { wait_secs }) =>
                {
                    WrongAnswer::TooManyAttempts
                }
                _ => WrongAnswer::Other,
            }
        }
        Reply::Bye {
            reason: Some(reason),
        } if reason == reason::REGISTER_TIMEOUT => WrongAnswer::Cut,
        Reply::OkLogin(_) => WrongAnswer::Accepted,
        _ => WrongAnswer::Other,
    }
}

/// Whether a line from the server holds one of the soak's passwords.
pub fn holds_password(line: &str) -> bool {
    line.contains(PASSWORD_MARK)
}

/// One account's wrong passwords that the server may have counted against it since its
/// last right login: those sent and not answered yet, and those answered before a right
/// login was sent that has not cleared them yet.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AccountFailures {
    in_flight: u32,
    answered: u32,
}

impl AccountFailures {
    /// Whether a wrong password may be sent for the account now; if so, it is counted as in
    /// flight until [`AccountFailures::end_wrong`].
    pub fn start_wrong(&mut self) -> bool {
        let may = self.in_flight + self.answered < UNCLEARED_AT_MOST;
        self.in_flight += u32::from(may);
        may
    }

    /// A wrong password's answer came (or its connection ended): `answer` says whether the
    /// server may have counted it.
    pub fn end_wrong(&mut self, answer: &WrongAnswer) {
        self.in_flight -= 1;
        self.answered += u32::from(answer.maybe_counted());
    }

    /// Before a right login is sent: the failures it will clear if it succeeds (those whose
    /// answer came before it, so whose check came before it too).
    pub fn before_right(&self) -> u32 {
        self.answered
    }

    /// The right login sent after [`AccountFailures::before_right`] said `clears` was
    /// answered `OK LOGIN`: the server has forgotten those failures.
    pub fn after_right(&mut self, clears: u32) {
        self.answered -= clears;
    }
}

/// What the login clients counted, summed over clients and halves.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoginCounts {
    /// Logins with the right password that were answered `OK LOGIN` and whose session (a
    /// numbered line, a `PING` barrier, `QUIT`) went as the protocol says.
    pub right: u64,
    /// Right logins that were refused, or whose session broke.
    pub right_failed: u64,
    /// Right logins whose connection the register timeout ended while the password was
    /// checked (a check slower than `--register-timeout`, on a busy machine): neither taken
    /// nor refused.
    pub right_cut: u64,
    /// Wrong passwords sent for the accounts, and for nicks that are no account.
    pub wrong_on_accounts: u64,
    pub wrong_on_unknown: u64,
    pub bad_login: u64,
    pub too_many: u64,
    /// Wrong passwords whose connection the register timeout ended before the answer.
    pub cut: u64,
    /// Wrong passwords answered `OK LOGIN`.
    pub accepted: u64,
    /// Wrong passwords answered otherwise, or whose connection broke.
    pub wrong_broken: u64,
    /// Lines from the server that held a password.
    pub echoed: u64,
    pub first_problem: Option<String>,
}

impl LoginCounts {
    pub fn wrong(&self) -> u64 {
        self.wrong_on_accounts + self.wrong_on_unknown
    }

    /// Counts one wrong password's answer; `line` is what the server said, for the report.
    pub fn wrong_answered(&mut self, answer: &WrongAnswer, line: &str) {
        match answer {
            WrongAnswer::BadLogin => self.bad_login += 1,
            WrongAnswer::TooManyAttempts => self.too_many += 1,
            WrongAnswer::Cut => self.cut += 1,
            WrongAnswer::Accepted => {
                self.accepted += 1;
                self.problem(|| format!("a wrong password was answered {line:?}"));
            }
            WrongAnswer::Other => {
                self.wrong_broken += 1;
                self.problem(|| format!("a wrong password was answered {line:?}"));
            }
        }
    }

    /// Keeps the first problem's words.
    pub fn problem(&mut self, text: impl FnOnce() -> String) {
        if self.first_problem.is_none() {
            self.first_problem = Some(text());
        }
    }
}

impl AddAssign for LoginCounts {
    fn add_assign(&mut self, other: LoginCounts) {
        self.right += other.right;
        self.right_failed += other.right_failed;
        self.right_cut += other.right_cut;
        self.wrong_on_accounts += other.wrong_on_accounts;
        self.wrong_on_unknown += other.wrong_on_unknown;
        self.bad_login += other.bad_login;
        self.too_many += other.too_many;
        self.cut += other.cut;
        self.accepted += other.accepted;
        self.wrong_broken += other.wrong_broken;
        self.echoed += other.echoed;
        if self.first_problem.is_none() {
            self.first_problem = other.first_problem;
        }
    }
}

/// What the login part of a run found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoginFigures {
    /// Accounts; 0: the part did not run.
    pub accounts: usize,
    /// Whether wrong passwords were sent: only from addresses of their own, so not when
    /// every client comes from one address (its lock would refuse the right ones too).
    pub wrong_sent: bool,
    pub counts: LoginCounts,
    /// Numbered lines the accounts said after logging in (checked with the others).
    pub lines: u64,
    /// The server's `STATS logins_failed` before the first half and at the end.
    pub logins_failed: Option<(u64, u64)>,
}

impl LoginFigures {
    /// `STATS logins_failed`'s growth over the run.
    pub fn logins_failed_growth(&self) -> Option<u64> {
        self.logins_failed
            .map(|(before, after)| after.saturating_sub(before))
    }

    /// Every broken rule, in words.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        if self.accounts == 0 {
            return failures;
        }
        let c = &self.counts;
        let first = || c.first_problem.as_deref().unwrap_or("-").to_owned();
        if c.right_failed > 0 {
            failures.push(format!(
                "logins: {} of {} logins with the right password failed; first problem: {}",
                c.right_failed,
                c.right + c.right_failed,
                first()
            ));
        }
        if c.accepted > 0 {
            failures.push(format!(
                "logins: {} wrong passwords were accepted; first problem: {}",
                c.accepted,
                first()
            ));
        }
        if c.wrong_broken > 0 {
            failures.push(format!(
                "logins: {} wrong passwords got an answer other than BAD_LOGIN or \
                 TOO_MANY_ATTEMPTS; first problem: {}",
                c.wrong_broken,
                first()
            ));
        }
        if c.echoed > 0 {
            failures.push(format!(
                "logins: {} lines from the server held a password; first problem: {}",
                c.echoed,
                first()
            ));
        }
        match self.logins_failed_growth() {
            None => failures.push("logins: STATS logins_failed was not read".to_owned()),
            Some(grew) if grew < c.bad_login => failures.push(format!(
                "logins: STATS logins_failed grew by {grew}, fewer than the {} BAD_LOGIN answers",
                c.bad_login
            )),
            Some(_) => {}
        }
        failures
    }
}

#[cfg(test)]
mod tests;
