//! The database's tables, their migrations, and what a starting server reads back from it.
//!
//! In scope: opening a connection with the settings every connection needs (write-ahead
//! log, how long to wait for a lock), the schema versions (SQLite's `user_version`: each
//! migration runs once, in order, in one transaction), and recovery at start. Out of scope:
//! writing lines (`writer`) and reading pages (`reader`).
//!
//! The schema. `chunks` holds the lines of history, a run of consecutive lines of one
//! conversation per row (those one batch wrote, up to [`CHUNK_LINES`](super::batch::CHUNK_LINES)): its conversation (0
//! the lobby, a room a number of its run), the ids of its first and last line, how many lines
//! it holds, the times of its first and last lines, and the lines themselves packed in a
//! blob (`packing`). A row per line cost a b-tree insert each, about a microsecond: as much as the
//! fan-out of a line to ten recipients. Rows are appended in rowid order, and the index on
//! (conversation, last_id) is the one every read and every retention pass walks: a table
//! keyed on it instead (`WITHOUT ROWID`) put the blobs in the key's b-tree, whose every
//! insert then read the overflow pages of its neighbours, a third of the store's time.
//! `meta` holds named numbers; `id_high_water` is above every message id the server may have
//! handed out, written ahead of use, so ids are never reused after a crash.
//!
//! `accounts` (version 2, issue 16) holds one row per account, keyed by the nick folded to
//! lower case: the nick as registered, its password's Argon2id hash as a PHC string, and
//! when it was made (milliseconds since the epoch). The account book (`server::accounts`)
//! reads it whole at start and writes each change through its own connection.
//! `waiting` (version 3) holds the direct messages sent to an offline account until its next
//! login (`accounts::mailbox`): the account's key, the line's message id, time, sender (as
//! it was then) and text; a trigger deletes an account's rows with the account.
//!
//! `direct` (version 4) holds each account's direct messages for `HISTORY <nick>`, a row per
//! line kept for one party (`owner`, the account's key) with the other (`peer`, a nick's
//! key): its id, time and v1 line (without its `\n`). A row per line, not chunks: the two
//! parties' lines are taken in two senders' turns and may reach the store out of id order,
//! and only account holders' direct lines are kept, few beside the lobby's and rooms'.
//! Triggers delete an owner's rows with its account, and when an account of its name is
//! made.
//! `rooms` (version 5) holds the registered rooms (`store::rooms`): the name folded and as
//! typed, the owner account's key, topic and its setter, key, privacy, and the room's
//! conversation number, whose `chunks` survive restarts; triggers delete an account's rooms
//! and their lines with the account, and when an account of the same name is made again.
//! Conversation numbers of rooms that are not registered are given per run above every
//! registered room's, and their lines deleted at every start.
//!
//! Later issues add tables as new migrations: a database is never rewritten, only moved
//! forward, and a server refuses a database newer than it knows.

use std::collections::VecDeque;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};

use super::batch::Conversation;
use super::packing::unpack;
use super::rooms::{self, RoomRecord};
use crate::server::history_entry::{Entry, now};

/// What a previous run left: the lobby's latest lines, the registered rooms, and where
/// message ids and conversation numbers must start.
pub struct Recovered {
    /// The registered rooms whose owner account exists.
    pub rooms: Vec<RoomRecord>,
    /// Above every registered room's conversation number.
    pub next_conversation: u64,
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
const MIGRATIONS: &[&str] = &[
    "
    CREATE TABLE chunks (
        conversation INTEGER NOT NULL,
        last_id INTEGER NOT NULL,
        first_id INTEGER NOT NULL,
        lines INTEGER NOT NULL,
        first_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        packed BLOB NOT NULL
    );
    CREATE UNIQUE INDEX chunks_by_conversation ON chunks (conversation, last_id);
    CREATE TABLE meta (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
",
    // Version 2: the account book (issue 16).
    "
    CREATE TABLE accounts (
        nick_key TEXT PRIMARY KEY,
        nick TEXT NOT NULL,
        hash TEXT NOT NULL,
        created_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
",
    // Version 3: direct messages kept for an offline account until its login (issue 16).
    "
    CREATE TABLE waiting (
        account TEXT NOT NULL,
        id INTEGER NOT NULL,
        time_ms INTEGER NOT NULL,
        sender TEXT NOT NULL,
        text TEXT NOT NULL,
        PRIMARY KEY (account, id)
    ) WITHOUT ROWID;
    -- In the deletion's own transaction, whoever deletes (UNREGISTER, `chatd account
    -- delete`): a later account of the same nick never reads the old one's messages.
    CREATE TRIGGER waiting_goes_with_its_account AFTER DELETE ON accounts
    BEGIN
        DELETE FROM waiting WHERE account = old.nick_key;
    END;
",
    // Version 4: each account's direct messages, for `HISTORY <nick>` (issue 16).
    "
    CREATE TABLE direct (
        owner TEXT NOT NULL,
        peer TEXT NOT NULL,
        id INTEGER NOT NULL,
        time_ms INTEGER NOT NULL,
        line TEXT NOT NULL,
        PRIMARY KEY (owner, peer, id)
    ) WITHOUT ROWID;
    -- Retention by age walks this, not the whole table, once a minute.
    CREATE INDEX direct_by_time ON direct (time_ms);
    -- In the deletion's own transaction, as for `waiting`.
    CREATE TRIGGER direct_goes_with_its_account AFTER DELETE ON accounts
    BEGIN
        DELETE FROM direct WHERE owner = old.nick_key;
    END;
    -- A new account of an old name starts with nothing, whatever a race left: a line kept
    -- for the old account and written after its deletion.
    CREATE TRIGGER direct_starts_empty AFTER INSERT ON accounts
    BEGIN
        DELETE FROM direct WHERE owner = new.nick_key;
    END;
",
    // Version 5: registered rooms (issue 16).
    "
    CREATE TABLE rooms (
        name_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT NOT NULL,
        topic_setter TEXT,
        topic TEXT,
        room_key TEXT,
        private INTEGER NOT NULL,
        conversation INTEGER NOT NULL UNIQUE
    ) WITHOUT ROWID;
    CREATE INDEX rooms_by_owner ON rooms (owner);
    -- A room goes with its owner account, lines first (whoever deletes the account), and a
    -- new account of an old name never finds the old one's rooms.
    CREATE TRIGGER rooms_go_with_their_account AFTER DELETE ON accounts
    BEGIN
        DELETE FROM chunks WHERE conversation IN
            (SELECT conversation FROM rooms WHERE owner = old.nick_key);
        DELETE FROM rooms WHERE owner = old.nick_key;
    END;
    CREATE TRIGGER new_accounts_own_no_room AFTER INSERT ON accounts
    BEGIN
        DELETE FROM chunks WHERE conversation IN
            (SELECT conversation FROM rooms WHERE owner = new.nick_key);
        DELETE FROM rooms WHERE owner = new.nick_key;
    END;
",
];

/// The schema version this server brings a database to.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// How long a connection waits for another's lock (a reader during a checkpoint) before its
/// statement fails. Two writers meet at most: the store thread and the account book, whose
/// changes are rare and one row each.
const BUSY_TIMEOUT: Duration = Duration::from_secs(2);

pub const ID_HIGH_WATER: &str = "id_high_water";

/// Opens the database at `path` for writing, creating `dir` and the file if needed, and
/// brings its schema up to date. The error says what failed, for the log.
pub fn open(dir: &Path, path: &Path) -> Result<Connection, String> {
    std::fs::create_dir_all(dir)
        .map_err(|error| format!("cannot create the data folder {}: {error}", dir.display()))?;
    let connection = Connection::open(path)
        .and_then(prepare)
        .map_err(|error| error.to_string())?;
    Ok(connection)
}

/// As [`open`], for a database that must exist already: a missing file is an error, and
/// nothing is created (`chatd account` on a folder no server has used).
pub fn open_existing(path: &Path) -> Result<Connection, String> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags)
        .and_then(prepare)
        .map_err(|error| format!("{}: {error}", path.display()))
}

/// The settings and the schema every write connection needs.
fn prepare(mut connection: Connection) -> rusqlite::Result<Connection> {
    configure(&connection)?;
    // 16 KiB pages (SQLite's default is 4): a chunk of a busy conversation's lines (a few
    // KiB) filled a 4 KiB page alone, leaving a third of it empty, and every page is one
    // write into the log. Measured in the rooms benchmark: a quarter less of the store
    // thread's time. Only a new database takes it; an existing one keeps its pages.
    connection.pragma_update(None, "page_size", 16_384)?;
    // WAL: readers (HISTORY on the workers) never wait for the writer, nor it for them.
    // NORMAL: a commit does not wait for the disk to confirm; a power cut may lose the last
    // commits but never corrupts the database, and a process crash loses nothing committed.
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    // 16 MiB of pages (the default is 2): a busy store's recent pages stay in memory instead
    // of being read back from the file for every batch and checkpoint.
    connection.pragma_update(None, "cache_size", -16_384)?;
    // The store thread folds the log into the database itself, when it is quiet
    // (`writer::checkpoint_when_due`), instead of inside a busy commit.
    connection.pragma_update(None, "wal_autocheckpoint", 0)?;
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
    if version > SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "the database has schema version {version}, newer than this chatd knows ({}): \
             it was written by a newer chatd",
            SCHEMA_VERSION
        )));
    }
    for (from, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
        transaction.execute_batch(migration)?;
        transaction.pragma_update(None, "user_version", from + 1)?;
        transaction.commit()?;
    }
    Ok(())
}

/// What a new run starts from: the registered rooms, the lines of the other rooms deleted
/// (they do not outlive a run), lines older than `days` deleted, the lobby's latest `ring`
/// lines, and the id floor.
pub fn recover(connection: &Connection, ring: usize, days: u32) -> rusqlite::Result<Recovered> {
    let rooms = rooms::load(connection)?;
    delete_unregistered_rooms(connection)?;
    let next_conversation = rooms
        .iter()
        .map(|room| room.conversation + 1)
        .max()
        .unwrap_or(1);
    if let Some(cutoff) = cutoff(days) {
        connection.execute("DELETE FROM chunks WHERE last_ms < ?1", params![cutoff])?;
    }
    let mut lobby = VecDeque::new();
    {
        let mut statement = connection.prepare(
            "SELECT first_id, first_ms, lines, packed FROM chunks WHERE conversation = ?1 \
                 ORDER BY last_id DESC",
        )?;
        let mut rows = statement.query(params![Conversation::LOBBY.0])?;
        while lobby.len() < ring {
            let Some(row) = rows.next()? else { break };
            let mut entries = chunk_lines(row)?;
            while let Some(entry) = entries.pop() {
                if lobby.len() == ring {
                    break;
                }
                lobby.push_front(entry);
            }
        }
    }
    if let Some(cutoff) = cutoff(days) {
        lobby.retain(|entry: &Entry| entry.time.millis() >= cutoff);
    }
    let total: u64 = connection.query_row(
        "SELECT coalesce(sum(lines), 0) FROM chunks WHERE conversation = ?1",
        params![Conversation::LOBBY.0],
        |row| row.get(0),
    )?;
    let stored_max: u64 =
        connection.query_row("SELECT coalesce(max(last_id), 0) FROM chunks", [], |row| {
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
        rooms,
        next_conversation,
        lobby_complete: total <= lobby.len() as u64,
        lobby_rows: usize::try_from(total).unwrap_or(usize::MAX),
        lobby,
        id_floor: stored_max.max(high_water),
    })
}

/// Deletes the lines of every room but the registered ones (the lobby's stay).
pub fn delete_unregistered_rooms(connection: &Connection) -> rusqlite::Result<usize> {
    connection.execute(
        "DELETE FROM chunks WHERE conversation != ?1 \
         AND conversation NOT IN (SELECT conversation FROM rooms)",
        params![Conversation::LOBBY.0],
    )
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

/// The lines of the chunk in a row of `SELECT first_id, first_ms, lines, packed`, oldest
/// first.
pub fn chunk_lines(row: &rusqlite::Row<'_>) -> rusqlite::Result<Vec<Entry>> {
    unpack(
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get_ref(3)?.as_blob()?,
    )
}
