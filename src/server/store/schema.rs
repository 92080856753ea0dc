//! The database's tables, their migrations, and what a starting server reads back from it.
//!
//! In scope: opening a connection with the settings every connection needs (write-ahead
//! log, how long to wait for a lock), the schema versions (SQLite's `user_version`: each
//! migration runs once, in order, in one transaction), and recovery at start. Out of scope:
//! writing lines (`writer`) and reading pages (`reader`).
//!
//! The schema. `lines` holds one row per line of history: its conversation (0 the lobby, a
//! room a number of its run), its message id, the time it was queued (milliseconds since the
//! Unix epoch) and the v1 line without its `\n`. Its key is (conversation, id), with no rowid:
//! the one index every read and every retention pass walks, and one b-tree to insert into.
//! `meta` holds named numbers; `id_high_water` is above every message id the server may have
//! handed out, written ahead of use, so ids are never reused after a crash.
//!
//! Later issues add tables (accounts, registered rooms and direct-message conversations, with
//! conversation numbers that survive a restart) as new migrations: a database is never
//! rewritten, only moved forward, and a server refuses a database newer than it knows.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::messages::Conversation;
use crate::server::history_entry::{Entry, now};
use chatd_proto::{MessageId, UtcMillis};

/// What a previous run left: the lobby's latest lines and where message ids must start.
pub struct Recovered {
    /// The lobby's latest lines, oldest first, at most as many as its ring holds.
    pub lobby: VecDeque<Entry>,
    /// Whether `lobby` is every lobby line the database holds.
    pub lobby_complete: bool,
    /// The lobby lines the database holds.
    pub lobby_rows: usize,
    /// Every id a previous run may have handed out is at most this.
    pub id_floor: u64,
}

/// Each migration takes the schema from its index to the next version.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE lines (
        conversation INTEGER NOT NULL,
        id INTEGER NOT NULL,
        sent_ms INTEGER NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (conversation, id)
    ) WITHOUT ROWID;
    CREATE TABLE meta (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
"];

/// How long a connection waits for another's lock (a reader during a checkpoint) before its
/// statement fails. Writers never meet: there is one.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

pub const ID_HIGH_WATER: &str = "id_high_water";

/// Opens the database at `path` for writing, creating `dir` and the file if needed, and
/// brings its schema up to date. The error says what failed, for the log.
pub fn open(dir: &Path, path: &Path) -> Result<Connection, String> {
    std::fs::create_dir_all(dir)
        .map_err(|error| format!("cannot create the data folder {}: {error}", dir.display()))?;
    let connection = open_database(path).map_err(|error| error.to_string())?;
    Ok(connection)
}

fn open_database(path: &Path) -> rusqlite::Result<Connection> {
    let mut connection = Connection::open(path)?;
    configure(&connection)?;
    // WAL: readers (HISTORY on the workers) never wait for the writer, nor it for them.
    // NORMAL: a commit does not wait for the disk to confirm; a power cut may lose the last
    // commits but never corrupts the database, and a process crash loses nothing committed.
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(&mut connection)?;
    Ok(connection)
}

/// A read-only connection to the database at `path`.
pub fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)?;
    configure(&connection)?;
    Ok(connection)
}

fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)
}

fn migrate(connection: &mut Connection) -> rusqlite::Result<()> {
    let version: usize = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if version > MIGRATIONS.len() {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database has schema version {version}, newer than this chatd knows ({}): \
             it was written by a newer chatd",
            MIGRATIONS.len()
        )));
    }
    for (from, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let transaction = connection.transaction()?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", from + 1)?;
        transaction.commit()?;
    }
    Ok(())
}

/// What a new run starts from: rooms' lines deleted (rooms do not outlive a run), lines
/// older than `days` deleted, the lobby's latest `ring` lines, and the id floor.
pub fn recover(connection: &Connection, ring: usize, days: u32) -> rusqlite::Result<Recovered> {
    connection.execute(
        "DELETE FROM lines WHERE conversation != ?1",
        params![Conversation::LOBBY.0],
    )?;
    if let Some(cutoff) = cutoff(days) {
        connection.execute("DELETE FROM lines WHERE sent_ms < ?1", params![cutoff])?;
    }
    let limit = i64::try_from(ring).unwrap_or(i64::MAX);
    let mut statement = connection.prepare(
        "SELECT id, sent_ms, line FROM lines WHERE conversation = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let mut lobby: VecDeque<Entry> = statement
        .query_map(params![Conversation::LOBBY.0, limit], entry_of_row)?
        .collect::<rusqlite::Result<_>>()?;
    lobby.make_contiguous().reverse();
    let total: u64 = connection.query_row(
        "SELECT count(*) FROM lines WHERE conversation = ?1",
        params![Conversation::LOBBY.0],
        |row| row.get(0),
    )?;
    let stored_max: u64 =
        connection.query_row("SELECT coalesce(max(id), 0) FROM lines", [], |row| {
            row.get(0)
        })?;
    let high_water: u64 = connection
        .query_row(
            "SELECT value FROM meta WHERE name = ?1",
            params![ID_HIGH_WATER],
            |row| row.get(0),
        )
        .or_else(|error| match error {
            rusqlite::Error::QueryReturnedNoRows => Ok(0),
            error => Err(error),
        })?;
    Ok(Recovered {
        lobby_complete: total <= lobby.len() as u64,
        lobby_rows: usize::try_from(total).unwrap_or(usize::MAX),
        lobby,
        id_floor: stored_max.max(high_water),
    })
}

/// The oldest time (milliseconds since the epoch) a line may have to be kept, or `None`
/// when lines are kept whatever their age.
pub fn cutoff(days: u32) -> Option<u64> {
    (days > 0).then(|| {
        now()
            .millis()
            .saturating_sub(u64::from(days) * 24 * 3600 * 1000)
    })
}

/// A row of `SELECT id, sent_ms, line` as a history entry (the line gets its `\n` back).
pub fn entry_of_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    let id: u64 = row.get(0)?;
    let time: u64 = row.get(1)?;
    let text: String = row.get(2)?;
    let id = MessageId::new(id).ok_or_else(|| {
        rusqlite::Error::IntegralValueOutOfRange(0, i64::try_from(id).unwrap_or(i64::MAX))
    })?;
    let mut line = text;
    line.push('\n');
    Ok(Entry {
        id,
        time: UtcMillis::saturating(time),
        line: Arc::from(line),
        stored: true,
    })
}
