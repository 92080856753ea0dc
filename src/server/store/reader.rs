//! Pages read from the database, on the worker that answers a `HISTORY` older than its ring,
//! or a `HISTORY <nick>`.
//!
//! In scope: waiting (briefly, with a deadline) until the store thread has dealt with the
//! lines the ring let go of, and reading one page on a reused read-only connection. Readers
//! never wait for the writer (write-ahead log). Out of scope: which page to read (`history`),
//! writing (`writer`), the direct lines' barrier (`mod.rs`) and SQL (`direct`).
//!
//! A read fails softly: an error is logged and the page holds what the ring had, never lines
//! that were not said.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::params;

use parking_lot::Mutex;

use chatd_proto::{NickKey, Page};

use super::batch::Conversation;
use super::direct;
use super::schema::{self, chunk_lines};
use crate::server::history_entry::Entry;

/// Waits between looks at a conversation's counter while a reader waits for the thread.
const READ_WAIT_STEP: Duration = Duration::from_millis(2);

/// What every read shares.
pub struct ReadSide {
    /// Read connections, one per worker (no more can read at once), opened at start and
    /// reused: the server's descriptors do not grow with use, and no page waits for an open.
    connections: Mutex<Vec<rusqlite::Connection>>,
    path: PathBuf,
    /// Days a line is kept (0: no limit): reads leave older lines out.
    days: u32,
    /// The longest a reader waits for the thread to catch up.
    longest_wait: Duration,
}

impl ReadSide {
    /// Opens `readers` connections to the database at `path`. One that cannot be opened now
    /// (the database is not there yet) is opened by the first read that finds none free.
    pub fn new(path: PathBuf, days: u32, longest_wait: Duration, readers: usize) -> ReadSide {
        let mut connections = Vec::with_capacity(readers);
        for _ in 0..readers {
            match open_warm(&path) {
                Ok(connection) => connections.push(connection),
                Err(error) => {
                    log::warn!("history store {}: {error}", path.display());
                    break;
                }
            }
        }
        ReadSide {
            connections: Mutex::new(connections),
            path,
            days,
            longest_wait,
        }
    }
}

impl ReadSide {
    /// At most `count` lines of the account `owner` with `peer` as `page` asks, oldest
    /// first. The caller has made sure the lines handed over before are written.
    pub fn direct_page(
        &self,
        owner: &NickKey,
        peer: &NickKey,
        count: usize,
        page: Page,
    ) -> Vec<Entry> {
        self.with_connection(|connection, cutoff| {
            direct::read_page(connection, owner, peer, count, page, cutoff)
        })
    }

    /// The longest a reader waits for the store thread.
    pub fn longest_wait(&self) -> Duration {
        self.longest_wait
    }

    /// Runs `read` on a free connection (opening one if none is free) with the oldest time a
    /// line may have; a failure is logged and reads nothing.
    fn with_connection(
        &self,
        read: impl FnOnce(&rusqlite::Connection, u64) -> rusqlite::Result<Vec<Entry>>,
    ) -> Vec<Entry> {
        let connection = self.connections.lock().pop();
        let connection = match connection {
            Some(connection) => connection,
            None => match open_warm(&self.path) {
                Ok(connection) => connection,
                Err(error) => {
                    log::warn!("history store {}: {error}", self.path.display());
                    return Vec::new();
                }
            },
        };
        let cutoff = schema::cutoff(self.days).unwrap_or(0);
        let read = read(&connection, cutoff);
        self.connections.lock().push(connection);
        read.unwrap_or_else(|error| {
            log::warn!("history store {}: {error}", self.path.display());
            Vec::new()
        })
    }
}

/// A read connection with its statements prepared: preparing reads the schema, which opens
/// the write-ahead log's file, so a warm connection opens no descriptor later.
fn open_warm(path: &std::path::Path) -> rusqlite::Result<rusqlite::Connection> {
    let connection = schema::open_reader(path)?;
    connection.prepare_cached(NEWEST_CHUNKS)?;
    connection.prepare_cached(OLDEST_CHUNKS)?;
    connection.prepare_cached(direct::NEWEST)?;
    connection.prepare_cached(direct::OLDEST)?;
    Ok(connection)
}

/// A conversation's chunks holding lines below an id, newest first.
const NEWEST_CHUNKS: &str = "SELECT first_id, first_ms, lines, packed FROM chunks \
     WHERE conversation = ?1 AND first_id < ?2 ORDER BY last_id DESC";
/// A conversation's chunks holding lines above an id, oldest first.
const OLDEST_CHUNKS: &str = "SELECT first_id, first_ms, lines, packed FROM chunks \
     WHERE conversation = ?1 AND last_id > ?2 ORDER BY last_id";

/// Which lines of a conversation a page wants from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// The newest lines with an id below `below`.
    Newest { below: u64 },
    /// The oldest lines with an id above `above` and below `below`.
    Oldest { above: u64, below: u64 },
}

/// A read of one conversation's older lines, made under its lock and run after it.
pub struct StoreRead {
    pub(super) read: Arc<ReadSide>,
    pub(super) conversation: Conversation,
    pub(super) handled: Arc<AtomicU64>,
    /// The store thread must have dealt with this id before the read.
    pub(super) through: u64,
}

impl StoreRead {
    /// At most `count` lines of `range`, oldest first.
    pub fn read(&self, count: usize, range: Range) -> Vec<Entry> {
        self.wait_for_thread(self.read.longest_wait);
        self.read.with_connection(|connection, cutoff| {
            read_chunks(connection, self.conversation, count, range, cutoff)
        })
    }

    /// Waits until the thread has dealt with `through`, for at most `longest`: it does so
    /// within a flush window and a commit, unless the disk is slow, and then the page may
    /// miss what is still on its way rather than keep the worker.
    fn wait_for_thread(&self, longest: Duration) {
        let deadline = Instant::now() + longest;
        while self.handled.load(Ordering::Acquire) < self.through {
            if Instant::now() >= deadline {
                log::warn!(
                    "history store: a HISTORY page read the disk before the store thread caught \
                     up; it may miss lines still being written"
                );
                return;
            }
            std::thread::sleep(READ_WAIT_STEP);
        }
    }
}

/// At most `count` lines of `range` newer than `cutoff`, oldest first, from the chunks
/// that hold them: walked from the newest chunk back (`Newest`) or from the oldest forward
/// (`Oldest`), until the page is full.
fn read_chunks(
    connection: &rusqlite::Connection,
    conversation: Conversation,
    count: usize,
    range: Range,
    cutoff: u64,
) -> rusqlite::Result<Vec<Entry>> {
    let mut page = Vec::new();
    match range {
        Range::Newest { below } => {
            let mut statement = connection.prepare_cached(NEWEST_CHUNKS)?;
            // A ring with nothing in it yet (a registered room after a restart) asks from
            // the top: SQLite's integers stop at i64::MAX.
            let top = below.min(i64::MAX as u64);
            let mut rows = statement.query(params![conversation.0, top])?;
            'chunks: while let Some(row) = rows.next()? {
                for entry in chunk_lines(row)?.into_iter().rev() {
                    if entry.time.millis() < cutoff {
                        break 'chunks;
                    }
                    if entry.id.get() < below {
                        page.push(entry);
                        if page.len() == count {
                            break 'chunks;
                        }
                    }
                }
            }
            page.reverse();
        }
        Range::Oldest { above, below } => {
            let mut statement = connection.prepare_cached(OLDEST_CHUNKS)?;
            let mut rows = statement.query(params![conversation.0, above])?;
            'chunks: while let Some(row) = rows.next()? {
                for entry in chunk_lines(row)? {
                    if entry.id.get() >= below || page.len() == count {
                        break 'chunks;
                    }
                    if entry.id.get() > above && entry.time.millis() >= cutoff {
                        page.push(entry);
                    }
                }
            }
        }
    }
    Ok(page)
}
