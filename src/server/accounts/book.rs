//! The account book: every account's nick as registered, its password hash (a PHC string)
//! and when it was made, by nick key; in memory, and written through to the `accounts` table
//! of the server's database.
//!
//! In scope: reading the table at start, looking an account up (a memory lookup) or listing
//! them all (`chatd account list`), and the three changes (make, re-hash, delete), each
//! written to the database before it shows in memory and before its outcome is reported.
//! Changes take turns (one mutex), so a check and the change that follows it cannot
//! interleave with another change. Out of scope: hashing (`password`), throttling
//! (`throttle`), which thread writes (`pool`: the verification threads, never a worker; or
//! `admin`, an operator's command with no server running) and the schema (`store::schema`).
//!
//! The connection is the book's own, beside the store thread's: the database is in
//! write-ahead-log mode, so readers never wait, and a write waits for the other writer's
//! commit (up to the busy timeout) instead of failing. Account changes are rare and small.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chatd_proto::{Nick, NickKey};
use parking_lot::{Mutex, RwLock};
use rusqlite::{Connection, params};

use crate::server::store;

/// One account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The nick as it was registered: the spelling a login takes.
    pub nick: Nick,
    /// The password's Argon2id hash, a PHC string. Shared: a check clones it out of the
    /// map and hashes without holding any lock.
    pub hash: Arc<str>,
    /// When the account was made, in milliseconds since the Unix epoch.
    pub created_ms: u64,
}

/// Why a change was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The nick is already an account: its own spelling.
    Taken(Nick),
    /// The account is gone, or its hash is not the one the caller checked against: another
    /// change came first.
    Changed,
    /// The database refused the change (logged): nothing changed.
    Store,
}

/// Where the accounts are shared beyond this server: a cluster's bucket (`--cluster`). Each
/// call is made under the book's change mutex, before the local write, on a verification
/// thread: it may wait for the network, and its refusal leaves everything as it was.
pub trait SharedBook: Send + Sync {
    /// Makes `account`; `Taken` (with the account's spelling) if one of its nick exists.
    fn create(&self, account: &Account) -> Result<(), Refused>;
    /// Makes `account` the account's record if its hash is still `checked`.
    fn replace(&self, account: &Account, checked: &str) -> Result<(), Refused>;
    /// Deletes the account `nick` if its hash is still `checked`.
    fn delete(&self, nick: &Nick, checked: &str) -> Result<(), Refused>;
}

/// The write connection, and where it goes, for the log.
struct Disk {
    connection: Connection,
    path: PathBuf,
}

pub struct Book {
    /// Every account by nick key. A read-write lock: workers read it on every `NICK` and
    /// verification threads on every check; a change holds the write side only for one
    /// map insert or removal, never during a disk write or a hash.
    accounts: RwLock<HashMap<NickKey, Account>>,
    /// Makes changes take turns: the check that a change still applies, its write to the
    /// disk and its publication in `accounts` happen under it. A mutex, held by
    /// verification threads only; `None` inside for a book in memory only.
    changes: Mutex<Option<Disk>>,
    /// The cluster's copy, once the node has joined (`--cluster`): every change is made
    /// there first, and the other nodes' changes come back through
    /// [`Book::apply_shared`].
    shared: OnceLock<Arc<dyn SharedBook>>,
}

impl Book {
    /// A book kept in memory only: nothing survives the process.
    pub fn in_memory() -> Book {
        Book {
            accounts: RwLock::new(HashMap::new()),
            changes: Mutex::new(None),
            shared: OnceLock::new(),
        }
    }

    /// Opens the database at `path` (creating `dir` and the file, and bringing the schema up
    /// to date, as the store does) and reads every account. The error says what failed, for
    /// the log.
    pub fn open(dir: &Path, path: &Path) -> Result<Book, String> {
        Book::with_connection(store::open_writer(dir, path)?, path)
    }

    /// As [`Book::open`], for a database that must exist already: `chatd account` creates
    /// no folder and no file.
    pub fn open_existing(path: &Path) -> Result<Book, String> {
        Book::with_connection(store::open_existing_writer(path)?, path)
    }

    fn with_connection(connection: Connection, path: &Path) -> Result<Book, String> {
        let described = |error: rusqlite::Error| format!("{}: {error}", path.display());
        // The store thread folds the log into the database at quiet moments (its connections
        // turn SQLite's own folding off); with history off there is no store thread, so this
        // connection keeps SQLite's default and the log stays small either way.
        connection
            .pragma_update(None, "wal_autocheckpoint", 1000)
            .map_err(described)?;
        let accounts = read_all(&connection, path).map_err(described)?;
        Ok(Book {
            accounts: RwLock::new(accounts),
            changes: Mutex::new(Some(Disk {
                connection,
                path: path.to_owned(),
            })),
            shared: OnceLock::new(),
        })
    }

    /// Whether `key` is an account: one map lookup under the read lock.
    pub fn contains(&self, key: &NickKey) -> bool {
        self.accounts.read().contains_key(key)
    }

    /// When the account of `key` was made (milliseconds since the epoch), if there is one.
    pub fn created_ms(&self, key: &NickKey) -> Option<u64> {
        self.accounts
            .read()
            .get(key)
            .map(|account| account.created_ms)
    }

    /// The account `nick` names, in any case.
    pub fn get(&self, nick: &Nick) -> Option<Account> {
        nick.with_key(|key| self.accounts.read().get(key).cloned())
    }

    /// The number of accounts.
    pub fn len(&self) -> usize {
        self.accounts.read().len()
    }

    /// Every account, in the order of their nick keys (case does not count).
    pub fn all(&self) -> Vec<Account> {
        let accounts = self.accounts.read();
        let mut sorted: Vec<(&NickKey, &Account)> = accounts.iter().collect();
        sorted.sort_unstable_by(|a, b| key_text(a.0).cmp(key_text(b.0)));
        sorted
            .into_iter()
            .map(|(_, account)| account.clone())
            .collect()
    }

    /// Makes `nick` an account with the password hash `hash`.
    pub fn insert(&self, nick: &Nick, hash: String, created_ms: u64) -> Result<(), Refused> {
        let mut disk = self.changes.lock();
        if let Some(account) = self.get(nick) {
            return Err(Refused::Taken(account.nick));
        }
        let key = nick.key();
        let account = Account {
            nick: nick.clone(),
            hash: Arc::from(hash.as_str()),
            created_ms,
        };
        if let Some(shared) = self.shared.get() {
            shared.create(&account)?;
        }
        if let Some(disk) = disk.as_mut() {
            let written = disk.write(
                "INSERT INTO accounts (nick_key, nick, hash, created_ms) VALUES (?1, ?2, ?3, ?4)",
                params![key_text(&key), nick.as_str(), hash, created_ms],
            );
            if let (Err(refused), Some(shared)) = (&written, self.shared.get()) {
                // Not made here: not made anywhere.
                let _ = shared.delete(nick, &account.hash);
                return Err(refused.clone());
            }
            written?;
        }
        self.accounts.write().insert(key, account);
        Ok(())
    }

    /// Replaces the hash of the account `nick`, if it is still `checked`.
    pub fn replace_hash(&self, nick: &Nick, checked: &str, hash: String) -> Result<(), Refused> {
        let mut disk = self.changes.lock();
        let account = self.current(nick, checked)?;
        let key = account.nick.key();
        let account = Account {
            hash: Arc::from(hash.as_str()),
            ..account
        };
        if let Some(shared) = self.shared.get() {
            shared.replace(&account, checked)?;
        }
        if let Some(disk) = disk.as_mut() {
            disk.write(
                "UPDATE accounts SET hash = ?2 WHERE nick_key = ?1",
                params![key_text(&key), hash],
            )?;
        }
        self.accounts.write().insert(key, account);
        Ok(())
    }

    /// Deletes the account `nick`, if its hash is still `checked`: its own spelling.
    pub fn remove(&self, nick: &Nick, checked: &str) -> Result<Nick, Refused> {
        let mut disk = self.changes.lock();
        let account = self.current(nick, checked)?;
        let key = account.nick.key();
        if let Some(shared) = self.shared.get() {
            shared.delete(nick, checked)?;
        }
        if let Some(disk) = disk.as_mut() {
            disk.write(
                "DELETE FROM accounts WHERE nick_key = ?1",
                params![key_text(&key)],
            )?;
        }
        self.accounts.write().remove(&key);
        Ok(account.nick)
    }

    /// Makes every change through `shared` from now on (a node joining its cluster).
    pub fn share(&self, shared: Arc<dyn SharedBook>) {
        let _ = self.shared.set(shared);
    }

    /// Takes the shared record of `key`, made or changed (`Some`) or deleted (`None`) on any
    /// node, this one's own changes coming back included: written here too (the account's
    /// rooms and kept lines go with it, as for a local delete), then shown in memory.
    pub fn apply_shared(&self, key: &NickKey, account: Option<Account>) {
        let mut disk = self.changes.lock();
        let current = self.accounts.read().get(key).cloned();
        if current == account {
            return;
        }
        if let Some(disk) = disk.as_mut() {
            let written = match &account {
                Some(account) => disk.write(
                    "INSERT INTO accounts (nick_key, nick, hash, created_ms) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (nick_key) DO UPDATE SET nick = excluded.nick, \
                     hash = excluded.hash, created_ms = excluded.created_ms",
                    params![
                        key_text(key),
                        account.nick.as_str(),
                        &*account.hash,
                        account.created_ms
                    ],
                ),
                None => disk.write(
                    "DELETE FROM accounts WHERE nick_key = ?1",
                    params![key_text(key)],
                ),
            };
            // Logged by `write`; memory follows the cluster all the same, as it is what the
            // other nodes go by.
            let _ = written;
        }
        let mut accounts = self.accounts.write();
        match account {
            Some(account) => accounts.insert(key.clone(), account),
            None => accounts.remove(key),
        };
    }

    /// The account `nick`, if its hash is still the one a password was checked against.
    fn current(&self, nick: &Nick, checked: &str) -> Result<Account, Refused> {
        self.get(nick)
            .filter(|account| *account.hash == *checked)
            .ok_or(Refused::Changed)
    }
}

impl Disk {
    /// Runs one statement that must change exactly one row; it commits on its own.
    fn write(&mut self, sql: &str, values: impl rusqlite::Params) -> Result<(), Refused> {
        match self.connection.execute(sql, values) {
            Ok(1) => Ok(()),
            Ok(rows) => {
                // The table differs from memory: someone else wrote to the database.
                log::error!(
                    "accounts {}: a change touched {rows} rows instead of one; nothing changed \
                     in memory",
                    self.path.display()
                );
                Err(Refused::Store)
            }
            Err(error) => {
                log::error!(
                    "accounts {}: {error}; the change was not made",
                    self.path.display()
                );
                Err(Refused::Store)
            }
        }
    }
}

/// The key as the table spells it.
fn key_text(key: &NickKey) -> &str {
    std::borrow::Borrow::borrow(key)
}

fn read_all(connection: &Connection, path: &Path) -> rusqlite::Result<HashMap<NickKey, Account>> {
    let mut statement = connection.prepare("SELECT nick, hash, created_ms FROM accounts")?;
    let mut rows = statement.query([])?;
    let mut accounts = HashMap::new();
    while let Some(row) = rows.next()? {
        let text: String = row.get(0)?;
        let Ok(nick) = Nick::parse(&text) else {
            // Only a hand-edited table holds one; skipping it keeps every other account.
            log::warn!(
                "accounts {}: skipped a row with the invalid nick {text:?}",
                path.display()
            );
            continue;
        };
        let hash: String = row.get(1)?;
        let account = Account {
            nick,
            hash: Arc::from(hash),
            created_ms: row.get(2)?,
        };
        accounts.insert(account.nick.key(), account);
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests;
