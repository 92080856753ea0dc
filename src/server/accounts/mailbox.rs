//! The mailbox: direct messages sent to an account while it was offline, kept until its next
//! login; in memory, or in the `waiting` table of the server's database, or on a node of a
//! cluster in the cluster's ([`SharedMailbox`], so a login on any node takes them).
//!
//! In scope: keeping one line for an account (at most [`MAILBOX_LINES`] wait per account),
//! taking every line of an account at its login (in the order they were sent; taken means
//! deleted, so each is delivered once), and dropping an account's lines when it is deleted.
//! Out of scope: who may send (the session), which thread calls in (the verification
//! threads: a keep or a take waits for the disk), and the schema (`store::schema`).
//!
//! Its own connection to the database, as the account book has: the writes are rare and one
//! row (or one account's rows) each; write-ahead logging lets the three writers take turns.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use chatd_proto::{MessageId, Nick, NickKey, UtcMillis};
use parking_lot::Mutex;
use rusqlite::{Connection, TransactionBehavior, params};

use crate::server::store;

/// Lines that may wait for one account. A mailbox is written by anyone who knows the nick,
/// so it is bounded: 1,000 lines of at most 4 KiB are 4 MiB on disk for one account, and
/// enough for anyone away for a while. More is refused to the sender, never dropped silently.
pub const MAILBOX_LINES: usize = 1_000;

/// One direct message waiting for its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub id: MessageId,
    pub time: UtcMillis,
    /// The sender's nick when it sent the line.
    pub from: Nick,
    pub text: String,
}

/// Why a line was not kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKept {
    /// [`MAILBOX_LINES`] wait already.
    Full,
    /// The database refused the write (logged).
    Store,
}

/// The mailboxes of a cluster's nodes (`--cluster`), which every node's mailbox hands its
/// work to once it joined: a line kept for an account on one node is taken by its login on
/// any node.
pub trait SharedMailbox: Send + Sync {
    /// Keeps `line` for `to`, unless [`MAILBOX_LINES`] wait already.
    fn keep(&self, to: &NickKey, line: &Waiting) -> Result<(), NotKept>;
    /// Takes the oldest lines waiting for `account` that fit `budget`, as
    /// [`Mailbox::take`] does.
    fn take(&self, account: &NickKey, budget: usize) -> Vec<Waiting>;
    /// Drops every line waiting for `account`.
    fn discard(&self, account: &NickKey);
}

pub struct Mailbox {
    inner: Mutex<Inner>,
    /// The cluster's mailboxes, once the node has joined: this one's are not used then.
    shared: OnceLock<Arc<dyn SharedMailbox>>,
}

enum Inner {
    Memory(HashMap<NickKey, Vec<Waiting>>),
    Disk {
        connection: Connection,
        path: PathBuf,
    },
}

impl Mailbox {
    pub fn in_memory() -> Mailbox {
        Mailbox {
            inner: Mutex::new(Inner::Memory(HashMap::new())),
            shared: OnceLock::new(),
        }
    }

    /// Opens the database at `path` (its schema brought up to date). The error says what
    /// failed, for the log.
    pub fn open(dir: &Path, path: &Path) -> Result<Mailbox, String> {
        let connection = store::open_writer(dir, path)?;
        connection
            .pragma_update(None, "wal_autocheckpoint", 1000)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        Ok(Mailbox {
            inner: Mutex::new(Inner::Disk {
                connection,
                path: path.to_owned(),
            }),
            shared: OnceLock::new(),
        })
    }

    /// Hands every line to `shared` from now on (a node joining its cluster).
    pub fn share(&self, shared: Arc<dyn SharedMailbox>) {
        if self.shared.set(shared).is_err() {
            log::warn!("the mailbox was shared already");
        }
    }

    /// Keeps `line` for the account `to`.
    pub fn keep(&self, to: &NickKey, line: Waiting) -> Result<(), NotKept> {
        if let Some(shared) = self.shared.get() {
            return shared.keep(to, &line);
        }
        match &mut *self.inner.lock() {
            Inner::Memory(boxes) => {
                let waiting = boxes.entry(to.clone()).or_default();
                if waiting.len() >= MAILBOX_LINES {
                    return Err(NotKept::Full);
                }
                waiting.push(line);
                Ok(())
            }
            Inner::Disk { connection, path } => {
                keep_on_disk(connection, to, &line).map_err(|error| {
                    log::error!("mailbox {}: {error}", path.display());
                    NotKept::Store
                })?
            }
        }
    }

    /// Drops every line waiting for `account` (it was deleted). Best effort: logged.
    pub fn discard(&self, account: &NickKey) {
        if let Some(shared) = self.shared.get() {
            shared.discard(account);
            return;
        }
        match &mut *self.inner.lock() {
            Inner::Memory(boxes) => {
                boxes.remove(account);
            }
            Inner::Disk { connection, path } => {
                let deleted = connection.execute(
                    "DELETE FROM waiting WHERE account = ?1",
                    params![key_text(account)],
                );
                if let Err(error) = deleted {
                    log::error!("mailbox {}: {error}", path.display());
                }
            }
        }
    }

    /// Takes (deletes) the oldest lines waiting for `account` whose [`Waiting::footprint`]
    /// fits in `budget` bytes (always one, if there is one): a login's answer must fit in
    /// the client's queue. The rest wait for the next login. A database that fails gives
    /// nothing (logged), and keeps the lines.
    pub fn take(&self, account: &NickKey, budget: usize) -> Vec<Waiting> {
        if let Some(shared) = self.shared.get() {
            return shared.take(account, budget);
        }
        match &mut *self.inner.lock() {
            Inner::Memory(boxes) => {
                let Some(waiting) = boxes.get_mut(account) else {
                    return Vec::new();
                };
                let fitting = fitting(waiting.iter(), budget);
                let taken = waiting.drain(..fitting).collect();
                if waiting.is_empty() {
                    boxes.remove(account);
                }
                taken
            }
            Inner::Disk { connection, path } => take_from_disk(connection, account, budget)
                .unwrap_or_else(|error| {
                    log::error!("mailbox {}: {error}", path.display());
                    Vec::new()
                }),
        }
    }
}

/// Counts, then inserts, in one transaction that takes the write lock at its start
/// (`IMMEDIATE`): a deferred one that read first could not wait for the store thread's write
/// lock (SQLite refuses to turn a reader into a writer while another writes: "database is
/// locked" at once, whatever the busy timeout), and the line would be refused.
fn keep_on_disk(
    connection: &mut Connection,
    to: &NickKey,
    line: &Waiting,
) -> rusqlite::Result<Result<(), NotKept>> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let waiting: usize = transaction.query_row(
        "SELECT count(*) FROM waiting WHERE account = ?1",
        params![key_text(to)],
        |row| row.get(0),
    )?;
    if waiting >= MAILBOX_LINES {
        return Ok(Err(NotKept::Full));
    }
    transaction.execute(
        "INSERT INTO waiting (account, id, time_ms, sender, text) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            key_text(to),
            line.id.get(),
            line.time.millis(),
            line.from.as_str(),
            line.text
        ],
    )?;
    transaction.commit()?;
    Ok(Ok(()))
}

/// How many of `lines`, oldest first, fit in `budget`: at least one, if there is one.
pub fn fitting<'a>(lines: impl Iterator<Item = &'a Waiting>, budget: usize) -> usize {
    let mut used = 0;
    let mut fitting = 0;
    for line in lines {
        used += line.footprint();
        if fitting > 0 && used > budget {
            break;
        }
        fitting += 1;
    }
    fitting
}

impl Waiting {
    /// About the bytes its `HIST` line takes in the client's queue: the text, the sender
    /// twice, an id, a time, the words and the queue's own share.
    pub fn footprint(&self) -> usize {
        self.text.len() + 2 * self.from.as_str().len() + 120
    }
}

fn take_from_disk(
    connection: &mut Connection,
    account: &NickKey,
    budget: usize,
) -> rusqlite::Result<Vec<Waiting>> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut taken = Vec::new();
    {
        let mut rows = transaction.prepare(
            "SELECT id, time_ms, sender, text FROM waiting WHERE account = ?1 ORDER BY id",
        )?;
        let mut rows = rows.query(params![key_text(account)])?;
        while let Some(row) = rows.next()? {
            let (id, time, from, text): (u64, u64, String, String) =
                (row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?);
            // Written by this code from values of these types: a row that does not read
            // back is damage, and skipped rather than delivered wrong.
            let (Some(id), Ok(from)) = (MessageId::new(id), Nick::parse(&from)) else {
                continue;
            };
            taken.push(Waiting {
                id,
                time: UtcMillis::saturating(time),
                from,
                text,
            });
        }
    }
    taken.truncate(fitting(taken.iter(), budget));
    if let Some(last) = taken.last() {
        transaction.execute(
            "DELETE FROM waiting WHERE account = ?1 AND id <= ?2",
            params![key_text(account), last.id.get()],
        )?;
    }
    transaction.commit()?;
    Ok(taken)
}

fn key_text(key: &NickKey) -> &str {
    key.borrow()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(n: u64, text: &str) -> Waiting {
        Waiting {
            id: MessageId::new(n).expect("not 0"),
            time: UtcMillis::saturating(n),
            from: Nick::parse("bob").expect("a nick"),
            text: text.to_owned(),
        }
    }

    fn alice() -> NickKey {
        Nick::parse("Alice").expect("a nick").key()
    }

    /// Keeps `MAILBOX_LINES` lines, refuses one more, and takes them back in pieces that
    /// fit the budget, oldest first, each once.
    fn fills_then_takes_in_order(mailbox: &Mailbox) {
        for n in 1..=MAILBOX_LINES as u64 {
            assert_eq!(mailbox.keep(&alice(), line(n, "hi")), Ok(()));
        }
        assert_eq!(
            mailbox.keep(&alice(), line(5_000, "one too many")),
            Err(NotKept::Full)
        );
        let budget = 10 * line(1, "hi").footprint();
        let first = mailbox.take(&alice(), budget);
        let ids: Vec<u64> = first.iter().map(|line| line.id.get()).collect();
        assert_eq!(ids, (1..=10).collect::<Vec<_>>());
        // Always at least one, however small the budget.
        assert_eq!(mailbox.take(&alice(), 0)[0].id.get(), 11);
        let rest = mailbox.take(&alice(), usize::MAX);
        assert_eq!(rest.len(), MAILBOX_LINES - 11);
        assert_eq!(rest[0].id.get(), 12);
        assert!(mailbox.take(&alice(), usize::MAX).is_empty());
        // Room again, and a deleted account's lines are gone.
        assert_eq!(mailbox.keep(&alice(), line(6_000, "again")), Ok(()));
        mailbox.discard(&alice());
        assert!(mailbox.take(&alice(), usize::MAX).is_empty());
    }

    #[test]
    fn issue_16_a_mailbox_in_memory_is_bounded_and_taken_once_in_order() {
        fills_then_takes_in_order(&Mailbox::in_memory());
    }

    #[test]
    fn issue_16_a_mailbox_on_disk_is_bounded_taken_once_in_order_and_outlives_its_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chatd.db");
        fills_then_takes_in_order(&Mailbox::open(dir.path(), &path).unwrap());
        let mailbox = Mailbox::open(dir.path(), &path).unwrap();
        mailbox.keep(&alice(), line(7, "kept")).unwrap();
        drop(mailbox);
        let reopened = Mailbox::open(dir.path(), &path).unwrap();
        assert_eq!(reopened.take(&alice(), usize::MAX), [line(7, "kept")]);
    }
}
