//! The operator's side of the account book (issue 16, point 8): what `chatd account list`,
//! `delete` and `reset-password` do to the database in the data folder while no server runs,
//! or, with `--cluster`, to a cluster's accounts while its nodes run.
//!
//! In scope: opening an existing database and no other ([`AccountAdmin::open`]: a missing
//! one is an error, and nothing is created), holding the data folder's lock meanwhile, so a
//! server cannot start and read the accounts before a change, nor one that runs (it keeps
//! the accounts in memory and would never see the change) be written behind; listing,
//! deleting and setting a new password with the server's own code (the book, the protocol's
//! password rule, Argon2id). Out of scope: the command line, reading a password from the
//! terminal or a file, and printing (the `chatd` binary).
//!
//! A password never leaves here but as its hash: it is held in a [`Password`] (zeroed when
//! dropped, `***` in `Debug`) from the moment it arrives, and no error names it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chatd_proto::{Nick, NickFault, PasswordFault, UtcMillis};

use super::book::{Account, Book, Refused, SharedBook};
use super::password::{self, Password};
use crate::server::data_lock::{DataLock, LockError};
use crate::server::store::DATABASE_FILE;

/// The account book of a data folder, opened by an operator's command, and the folder's
/// lock, held until this is dropped.
pub struct AccountAdmin {
    book: Book,
    /// Held for as long as the command works.
    _source: Source,
}

/// Where the accounts are, kept open while the command works.
enum Source {
    /// A data folder's database, and its lock: see the module's docs.
    Folder { _lock: DataLock },
    /// A cluster's accounts bucket, reached on this runtime (`--cluster`).
    Cluster { _runtime: tokio::runtime::Runtime },
}

/// One account as `chatd account list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedAccount {
    /// The nick as it was registered.
    pub nick: Nick,
    /// When the account was made.
    pub created: UtcMillis,
}

/// Why an account command did nothing.
#[derive(Debug)]
pub enum AdminError {
    /// The folder has no database: no server has kept anything there.
    NoDatabase(PathBuf),
    /// A server (or another account command) holds the folder's lock.
    ServerRunning(LockError),
    /// The lock could not be taken for another reason.
    Lock(LockError),
    /// The database could not be opened or read; the text names it.
    Open(String),
    /// The name given is not a nick, so it cannot be an account.
    NotANick {
        given: String,
        fault: NickFault,
    },
    NoSuchAccount(Nick),
    /// The new password breaks the protocol's rule.
    WeakPassword(PasswordFault),
    /// The system's random generator gave no salt (never seen): nothing changed.
    Hash(String),
    /// The database refused the change, which the book has logged: nothing changed.
    Store,
}

impl AccountAdmin {
    /// Opens the database in `data_dir` (`chatd.db`), which must exist, after taking the
    /// folder's lock, and reads its accounts. The schema is brought up to date as a server
    /// does at start; a database newer than this chatd is refused.
    pub fn open(data_dir: &Path) -> Result<AccountAdmin, AdminError> {
        let path = data_dir.join(DATABASE_FILE);
        // Before the lock, which would create its file in a folder that may hold nothing.
        match path.try_exists() {
            Ok(true) => {}
            Ok(false) => return Err(AdminError::NoDatabase(path)),
            Err(error) => return Err(AdminError::Open(format!("{}: {error}", path.display()))),
        }
        let lock = DataLock::take(data_dir).map_err(|error| match error {
            LockError::Held { .. } => AdminError::ServerRunning(error),
            LockError::Io { .. } => AdminError::Lock(error),
        })?;
        let book = Book::open_existing(&path).map_err(AdminError::Open)?;
        Ok(AccountAdmin {
            book,
            _source: Source::Folder { _lock: lock },
        })
    }

    /// A cluster's accounts (`chatd account --cluster`): `accounts` as its bucket holds them
    /// now, and every change made there (`shared`, run on `runtime`) and nowhere else, so
    /// that running nodes take it within milliseconds and their databases follow. No data
    /// folder is read or written.
    pub fn of_cluster(
        accounts: Vec<Account>,
        shared: Arc<dyn SharedBook>,
        runtime: tokio::runtime::Runtime,
    ) -> AccountAdmin {
        let book = Book::in_memory();
        for account in accounts {
            book.apply_shared(&account.nick.key(), Some(account));
        }
        book.share(shared);
        AccountAdmin {
            book,
            _source: Source::Cluster { _runtime: runtime },
        }
    }

    /// Every account, in the order of their nicks (case does not count).
    pub fn list(&self) -> Vec<ListedAccount> {
        self.book
            .all()
            .into_iter()
            .map(|account| ListedAccount {
                nick: account.nick,
                created: UtcMillis::saturating(account.created_ms),
            })
            .collect()
    }

    /// The account `nick` names, in any case: its own spelling.
    pub fn account(&self, nick: &str) -> Result<Nick, AdminError> {
        self.find(nick).map(|account| account.nick)
    }

    /// Deletes the account `nick`: its own spelling. Its nick is free at the next start.
    pub fn delete(&self, nick: &str) -> Result<Nick, AdminError> {
        let account = self.find(nick)?;
        self.book
            .remove(&account.nick, &account.hash)
            .map_err(refused)
    }

    /// Gives the account `nick` the password `new`, which must meet the protocol's rule:
    /// its own spelling.
    pub fn reset_password(&self, nick: &str, new: String) -> Result<Nick, AdminError> {
        let rule = chatd_proto::Password::new(&new).map(|_| ());
        // At once, so that the text is zeroed however this ends.
        let new = Password::from(new);
        rule.map_err(AdminError::WeakPassword)?;
        let account = self.find(nick)?;
        let hash = password::hash(&new).map_err(|error| AdminError::Hash(error.to_string()))?;
        self.book
            .replace_hash(&account.nick, &account.hash, hash)
            .map_err(refused)?;
        Ok(account.nick)
    }

    fn find(&self, nick: &str) -> Result<Account, AdminError> {
        let given = Nick::parse(nick).map_err(|fault| AdminError::NotANick {
            given: nick.to_owned(),
            fault,
        })?;
        self.book
            .get(&given)
            .ok_or(AdminError::NoSuchAccount(given))
    }
}

/// A change the book refused. With the folder locked nobody else changes the accounts, so
/// this is the database's refusal.
fn refused(refused: Refused) -> AdminError {
    match refused {
        Refused::Taken(_) | Refused::Changed | Refused::Store => AdminError::Store,
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AdminError::NoDatabase(path) => write!(
                f,
                "there is no database {}: no server has kept accounts in this data folder \
                 (--data-dir, or data_dir in the --config file, names it); nothing was created",
                path.display()
            ),
            AdminError::ServerRunning(held) => write!(
                f,
                "{held}: stop the server first: a running chatd keeps accounts in memory"
            ),
            AdminError::Lock(error) => error.fmt(f),
            AdminError::Open(reason) => write!(f, "cannot open the database {reason}"),
            AdminError::NotANick { given, fault } => {
                write!(f, "{given:?} is not a nick, so not an account: {fault}")
            }
            AdminError::NoSuchAccount(nick) => write!(
                f,
                "there is no account {nick} (chatd account list shows them)"
            ),
            AdminError::WeakPassword(fault) => write!(f, "the new password is refused: {fault}"),
            AdminError::Hash(reason) => write!(f, "cannot hash the password: {reason}"),
            AdminError::Store => f.write_str(
                "the database refused the change (its error is logged above); nothing changed",
            ),
        }
    }
}

impl std::error::Error for AdminError {}

#[cfg(test)]
mod tests;
