//! Accounts (issue 16): the account book and the threads that check passwords. [`Accounts`]
//! is the handle the server holds.
//!
//! In scope: which nicks are accounts ([`Accounts::is_registered`], a memory lookup for every
//! `NICK`), and the requests that hash or check a password ([`Job`]), done off the workers on
//! the verification threads and answered through a callback with a delay to wait
//! ([`Answer`]). Out of scope: the wire (the session turns an [`Outcome`] into a reply, checks
//! that a password has the length the protocol asks, and waits the delay on a timer), who is
//! logged in where (the registry), and the tables' schema (`store::schema`).
//!
//! In reading order:
//! - `job`: the requests and their outcomes;
//! - `pool`: the verification threads (`chatd-auth-N`, max(1, cores / 2), at most 8, run
//!   10 nice steps below the workers) and their queue (1,024 jobs, then [`Busy`]);
//! - `verifier`: what one job does, in order;
//! - `throttle`: failures per account and per address group: 3 answered at once, then waits of
//!   1, 2, 4 and 8 s before the answer, and after 10 failures in 10 minutes every attempt
//!   refused for 10 minutes, without hashing;
//! - `book`: the accounts in memory, written through to the `accounts` table;
//! - `password`: Argon2id (m = 19 MiB, t = 2, p = 1) in PHC strings, checked in constant time;
//! - `admin`: the operator's commands (`chatd account list|delete|reset-password`) on the
//!   book of a data folder no server uses, [`AccountAdmin`].
//!
//! Invariants: no worker and no lock holder ever hashes or waits for the disk here: workers
//! only read the book's map, and `submit` never blocks. A change is on disk before its
//! outcome is reported. A password never reaches a log line or a `Debug` output.

mod admin;
mod book;
mod job;
mod mailbox;
mod password;
mod pool;
mod throttle;
mod verifier;

use std::io;
use std::sync::Arc;

use chatd_proto::NickKey;

use crate::config::Config;
use crate::server::store::DATABASE_FILE;
use book::Book;
use mailbox::Mailbox;
use pool::Pool;
use verifier::Verifier;

pub use admin::{AccountAdmin, AdminError, ListedAccount};
pub use book::{Account, Refused, SharedBook};
pub use job::{Answer, Busy, Job, Outcome};
pub use mailbox::{MAILBOX_LINES, NotKept, SharedMailbox, Waiting, fitting};
pub use password::Password;

/// The server's account book and its verification threads; cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    shared: Arc<Shared>,
}

struct Shared {
    /// Also held by each verification thread.
    verifier: Arc<Verifier>,
    pool: Pool,
}

impl Accounts {
    /// Opens the book and starts its threads. With `config.ephemeral` the book is in memory
    /// only; otherwise it is the `accounts` table of the history store's database
    /// (`config.data_dir`/chatd.db), read into memory here, every change written through
    /// before its outcome is reported. A database that cannot be opened is logged, and the
    /// server runs on with accounts in memory only. The error: a thread could not start.
    pub fn open(config: &Config) -> io::Result<Accounts> {
        let (book, mailbox) = open_book(config);
        let verifier = Verifier::with_mailbox(book, mailbox);
        Accounts::start(verifier, pool::thread_count(), pool::QUEUE_JOBS)
    }

    /// An empty book in memory with one verification thread, for unit tests.
    #[cfg(test)]
    pub fn in_memory() -> Accounts {
        let verifier = Verifier::new(Book::in_memory());
        Accounts::start(verifier, 1, pool::QUEUE_JOBS).expect("a thread starts")
    }

    fn start(verifier: Verifier, threads: usize, queue: usize) -> io::Result<Accounts> {
        let verifier = Arc::new(verifier);
        let pool = Pool::start(Arc::clone(&verifier), threads, queue)?;
        Ok(Accounts {
            shared: Arc::new(Shared { verifier, pool }),
        })
    }

    /// Whether `nick` is a registered account: one map lookup under a read lock that is
    /// only ever held for a lookup or an insert, never during a hash or a disk write.
    pub fn is_registered(&self, nick: &NickKey) -> bool {
        self.shared.verifier.book.contains(nick)
    }

    /// When the account `nick` was made (milliseconds since the epoch), if it is registered.
    pub fn created_ms(&self, nick: &NickKey) -> Option<u64> {
        self.shared.verifier.book.created_ms(nick)
    }

    /// Queues `job` for the verification threads without waiting. `done` is called once,
    /// with the outcome, on a verification thread: never on the caller's thread, and with no
    /// lock of this module held. [`Busy`] when the queue is full (or the book closed): `done`
    /// is then dropped uncalled.
    pub fn submit(&self, job: Job, done: Box<dyn FnOnce(Answer) + Send>) -> Result<(), Busy> {
        self.shared.pool.submit(job, done)
    }

    /// Makes every account change through `shared` from now on (a node joining its cluster).
    pub fn share(&self, shared: Arc<dyn SharedBook>) {
        self.shared.verifier.book.share(shared);
    }

    /// Keeps the messages waiting for offline accounts in `shared` from now on (a node
    /// joining its cluster).
    pub fn share_mailbox(&self, shared: Arc<dyn SharedMailbox>) {
        self.shared.verifier.mailbox.share(shared);
    }

    /// Takes an account record changed on any node of the cluster ([`Book::apply_shared`]).
    pub fn apply_shared(&self, key: &NickKey, account: Option<Account>) {
        let deleted = account.is_none();
        self.shared.verifier.book.apply_shared(key, account);
        if deleted {
            // Deleted on any node or by an operator: its messages go with it, as the
            // database's trigger takes them on one server.
            self.shared.verifier.mailbox.discard(key);
        }
    }

    /// Every account this server has, for the cluster to share those it lacks.
    pub fn all(&self) -> Vec<Account> {
        self.shared.verifier.book.all()
    }

    /// Password checks that failed since the start (`STATS logins_failed`).
    pub fn failed_checks(&self) -> u64 {
        self.shared.verifier.failed_checks()
    }

    /// Stops the verification threads and returns once they have ended: each finishes and
    /// answers the job it is doing; jobs still queued are dropped, their `done` never called.
    /// Every change already answered is on disk. Later jobs are [`Busy`].
    pub fn close(&self) {
        self.shared.pool.close();
    }
}

fn open_book(config: &Config) -> (Book, Mailbox) {
    let in_memory = || (Book::in_memory(), Mailbox::in_memory());
    if config.ephemeral {
        return in_memory();
    }
    let path = config.data_dir.join(DATABASE_FILE);
    let opened = Book::open(&config.data_dir, &path)
        .and_then(|book| Ok((book, Mailbox::open(&config.data_dir, &path)?)));
    match opened {
        Ok((book, mailbox)) => {
            log::info!("accounts {}: {} accounts", path.display(), book.len());
            (book, mailbox)
        }
        Err(error) => {
            log::error!(
                "accounts {}: {error}; accounts are kept in memory only, and lost when the \
                 server stops",
                path.display()
            );
            in_memory()
        }
    }
}

#[cfg(test)]
mod tests;
