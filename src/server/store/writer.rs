//! The store thread: the one writer of the database.
//!
//! In scope: collecting lines into batches (full chunks as they come, and each
//! conversation's pending chunk once a flush window, so a crash loses at most that window's
//! lines), writing each batch in one
//! transaction, with the accounts' direct lines taken meanwhile, answering a reader's barrier
//! on the direct lines once what came before it is written (cutting the window short),
//! deleting what retention lets go of (`--history-lines` per conversation or pair as lines
//! come, `--history-days` once a minute), keeping the message-id high-water mark ahead
//! of the ids handed out, and carrying on through a disk that fails: the batch is counted as
//! not stored, the error logged at most once a minute, and a database that could not be
//! opened is tried again each minute.
//!
//! Out of scope: who sends lines and when (`history`, the registry), reading (`reader`), the
//! schema (`schema`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use rusqlite::{Connection, TransactionBehavior, params};

use super::batch::{Batch, CHUNK_LINES, Chunk, Conversation, Pending};
use super::direct::{self, PairRows};
use super::messages::{CHANNEL_CHUNKS, CHANNEL_DIRECT, Control, Direct, DirectLine};
use super::rooms;
use super::schema::{self, ID_HIGH_WATER};
use crate::config::Config;
use crate::server::message_ids::MessageIds;

/// The store's settings from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// The longest a line waits before its batch is written.
    pub flush: Duration,
    /// Lines kept per conversation.
    pub lines: usize,
    /// Days a line is kept; 0: no limit.
    pub days: u32,
}

impl Settings {
    pub fn of(config: &Config) -> Settings {
        Settings {
            flush: config.history_flush,
            lines: config.history_lines,
            days: config.history_days,
        }
    }
}

/// The most lines in one transaction: a burst is written in pieces of this, so one commit
/// stays short and a batch's memory bounded.
const MAX_BATCH: usize = 16_384;

/// How far the high-water mark on disk runs ahead of the ids handed out. It is raised when
/// the ids come within half of it of the mark, and the thread looks at least once per flush
/// window plus a commit: ids would have to be handed out at eight million per such look to
/// overtake it, forty times the fastest fan-out of this server. A restart skips at most this
/// many ids, a sliver of the 2^53 there are.
pub const HIGH_WATER_HEADROOM: u64 = 1 << 24;

/// How often the thread takes lines from the channel while a batch's window runs.
const COLLECT_STEP: Duration = Duration::from_millis(5);

/// Lines after which the log is folded into the database even while the store is busy:
/// about 100 MB of log with lines of a hundred bytes.
const LONGEST_LOG_LINES: usize = 1_000_000;

/// How often a failing disk is logged, retention by age runs, and an unopened database is
/// tried again.
const MINUTE: Duration = Duration::from_secs(60);

/// A conversation the thread writes lines of.
struct Open {
    /// The highest id of it dealt with, for readers.
    handled: Arc<AtomicU64>,
    /// The chunk its lines are being packed into.
    pending: Arc<Pending>,
    /// Its rows in the database (what retention trims), as far as this thread knows.
    rows: usize,
}

pub struct StoreThread {
    /// `None` while the database cannot be opened.
    pub connection: Option<Connection>,
    pub dir: PathBuf,
    pub path: PathBuf,
    /// Full chunks of the lobby's and rooms' lines.
    pub chunks: Receiver<Chunk>,
    /// Set when a line began a chunk since the last sweep.
    pub begun: Arc<AtomicBool>,
    pub control: Receiver<Control>,
    pub direct: Receiver<Direct>,
    pub settings: Settings,
    pub ids: Arc<MessageIds>,
    pub unstored: Arc<AtomicU64>,
    pub stored: Arc<AtomicU64>,
    /// The lobby's rows at start.
    pub lobby_rows: usize,
}

/// What the thread keeps between batches.
struct State {
    open: HashMap<Conversation, Open>,
    /// The high-water mark on disk.
    high_water: u64,
    /// When a failure was last logged, and the failures since.
    last_logged: Option<Instant>,
    failures_since_log: u64,
    /// The last retention pass by age, or attempt to open the database.
    last_minute: Instant,
    /// Lines written since the write-ahead log was last folded into the database.
    unchecked_lines: usize,
    /// Each direct pair's rows, for its retention.
    pairs: PairRows,
}

/// The direct lines taken from their channel and not written yet, and the barriers to
/// answer once they are.
#[derive(Default)]
struct Directs {
    lines: Vec<DirectLine>,
    barriers: Vec<Sender<()>>,
}

impl Directs {
    fn add(&mut self, direct: Direct) {
        match direct {
            Direct::Line(line) => self.lines.push(*line),
            Direct::Barrier(answer) => self.barriers.push(answer),
        }
    }

    /// Tells each reader waiting that what it waited for is written (or failed to be).
    fn answer(&mut self) {
        for answer in self.barriers.drain(..) {
            // A reader that gave up waiting has dropped its end: nothing to tell.
            let _ = answer.send(());
        }
    }
}

impl StoreThread {
    pub fn run(mut self) {
        let mut state = State {
            open: HashMap::new(),
            // `Opened::start` raised it just before.
            high_water: self.ids.last() + HIGH_WATER_HEADROOM,
            last_logged: None,
            failures_since_log: 0,
            last_minute: Instant::now(),
            unchecked_lines: 0,
            pairs: PairRows::default(),
        };
        let mut batch = Batch::default();
        let mut directs = Directs::default();
        let mut lobby_rows = Some(self.lobby_rows);
        loop {
            let mut stopping = false;
            let mut idle = false;
            let mut controls = Vec::new();
            select! {
                recv(self.chunks) -> chunk => match chunk {
                    Ok(chunk) => batch.add(chunk),
                    Err(_) => stopping = true,
                },
                recv(self.direct) -> direct => match direct {
                    Ok(direct) => directs.add(direct),
                    Err(_) => stopping = true,
                },
                recv(self.control) -> control => match control {
                    Ok(control) => controls.push(control),
                    Err(_) => stopping = true,
                },
                default(self.settings.flush) => idle = true,
            }
            let taken = batch.lines() > 0 || !directs.lines.is_empty();
            if taken && directs.barriers.is_empty() && !stopping {
                self.collect(&mut batch, &mut directs);
            }
            // The flag goes down before the controls are taken: a line that began a chunk
            // before came after its conversation's `Open`, so that `Open` is here by now.
            let begun = self.begun.swap(false, Ordering::AcqRel);
            controls.extend(self.control.try_iter());
            stopping |= controls.iter().any(|c| matches!(c, Control::Stop));
            if stopping {
                // Nothing records any more: what is in the channels is all there is.
                for direct in self.direct.try_iter() {
                    directs.add(direct);
                }
            }
            for control in &controls {
                if let Control::Open {
                    conversation,
                    handled,
                    pending,
                    existing,
                } = control
                {
                    let rows = if *conversation == Conversation::LOBBY {
                        lobby_rows.take().unwrap_or(0)
                    } else if *existing {
                        count_rows(self.connection.as_ref(), *conversation).unwrap_or(0)
                    } else {
                        0
                    };
                    state.open.insert(
                        *conversation,
                        Open {
                            handled: Arc::clone(handled),
                            pending: Arc::clone(pending),
                            rows,
                        },
                    );
                }
            }
            if begun || stopping {
                for open in state.open.values() {
                    if let Some(chunk) = open.pending.take() {
                        batch.add(chunk);
                    }
                }
            }
            // Then every full chunk: one filled before a pending chunk of its conversation
            // was taken is in the channel by now, so no batch holds a conversation's newer
            // lines without its older ones.
            for chunk in self.chunks.try_iter() {
                batch.add(chunk);
            }
            idle &= batch.lines() == 0;
            let lines = batch.lines();
            let chunks = batch.take();
            self.write(&chunks, lines, &directs.lines, &mut state);
            directs.lines.clear();
            directs.answer();
            // In the order they were sent: a room saved, then dropped, ends dropped.
            for control in controls {
                match control {
                    Control::Forget(conversation) => self.forget(conversation, &mut state),
                    Control::SaveRoom(room) => {
                        self.change_room(|c| rooms::save(c, &room), &mut state);
                    }
                    Control::DropRoom(name_key) => {
                        self.change_room(|c| rooms::delete(c, &name_key), &mut state);
                    }
                    Control::Open { .. } | Control::Stop => {}
                }
            }
            self.keep_high_water(&mut state);
            let minute = state.last_minute.elapsed() >= MINUTE;
            self.checkpoint_when_due(idle || minute, &mut state);
            if minute {
                state.last_minute = Instant::now();
                self.every_minute(&mut state);
            }
            if stopping {
                self.close();
                return;
            }
        }
    }

    /// Takes full chunks and direct lines for one flush window from the first, in steps: one
    /// wake-up per step, not one per chunk or line (a receiver blocked on a channel is woken
    /// by every send). A store that is behind (a full batch waiting) writes at once, and so
    /// does one that a reader of direct lines waits for (a barrier taken).
    fn collect(&self, batch: &mut Batch, directs: &mut Directs) {
        let deadline = Instant::now() + self.settings.flush;
        loop {
            for chunk in self.chunks.try_iter().take(CHANNEL_CHUNKS) {
                batch.add(chunk);
            }
            for direct in self.direct.try_iter().take(CHANNEL_DIRECT) {
                directs.add(direct);
            }
            let now = Instant::now();
            let full = batch.lines() + directs.lines.len() >= MAX_BATCH;
            if now >= deadline || full || !directs.barriers.is_empty() {
                return;
            }
            std::thread::sleep(COLLECT_STEP.min(deadline - now));
        }
    }

    /// Writes `chunks` (`lines` lines) and the direct lines `direct` in one transaction,
    /// trimming each conversation and pair they touch to its `--history-lines`; then tells
    /// readers the lines were dealt with, written or not.
    fn write(&mut self, chunks: &[Chunk], lines: usize, direct: &[DirectLine], state: &mut State) {
        if chunks.is_empty() && direct.is_empty() {
            return;
        }
        let keep = self.settings.lines;
        let lines = lines + direct.len();
        let result = match self.connection.as_mut() {
            None => Err("the database is not open".to_owned()),
            Some(connection) => {
                let taken = Taken { chunks, direct };
                write_taken(connection, &taken, state, keep).map_err(|error| error.to_string())
            }
        };
        match result {
            Ok(written) => {
                self.stored.fetch_add(written, Ordering::Relaxed);
                state.unchecked_lines += lines;
            }
            Err(error) => {
                self.unstored.fetch_add(lines as u64, Ordering::Relaxed);
                // A trim rolled back with the rest: the pairs are counted again when next
                // written, so none is ever counted below what it holds.
                state.pairs = PairRows::default();
                self.failed(&error, state);
            }
        }
        for chunk in chunks {
            if let Some(open) = state.open.get(&chunk.conversation) {
                open.handled.fetch_max(chunk.last_id, Ordering::Release);
            }
        }
    }

    /// Folds the write-ahead log into the database (a checkpoint) once a whole flush window
    /// went by without a line, once a minute (`due`, like a quiet window), or when the log
    /// has grown long whatever the load. The minute bounds the log of a server whose lines
    /// never pause for a whole window but come a few at a time: every commit writes whole
    /// pages, so a few lines a commit would grow the log by pages, not lines. SQLite's own
    /// checkpoints run inside a commit every 4 MB of log, so a busy store paid for them while
    /// lines waited: a third of the store thread's time in the rooms benchmark. A quiet moment
    /// comes soon in chat, and the log's size stays bounded either way.
    fn checkpoint_when_due(&mut self, due: bool, state: &mut State) {
        let quiet = due && state.unchecked_lines > 0;
        if !(quiet || state.unchecked_lines >= LONGEST_LOG_LINES) {
            return;
        }
        let Some(connection) = &self.connection else {
            return;
        };
        match connection.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            Ok(()) => state.unchecked_lines = 0,
            Err(error) => self.failed(&error.to_string(), state),
        }
    }

    fn forget(&mut self, conversation: Conversation, state: &mut State) {
        state.open.remove(&conversation);
        if let Some(connection) = &self.connection {
            let deleted = connection.execute(
                "DELETE FROM chunks WHERE conversation = ?1",
                params![conversation.0],
            );
            if let Err(error) = deleted {
                // Left behind, the rows are unreachable (the number is never used again) and
                // deleted at the next start.
                self.failed(&error.to_string(), state);
            }
        }
    }

    /// Writes a registered room's row; a failure is logged as a failed line is (the room
    /// lives on in memory, and is not registered after a restart).
    fn change_room(
        &mut self,
        change: impl FnOnce(&Connection) -> rusqlite::Result<()>,
        state: &mut State,
    ) {
        let result = match &self.connection {
            Some(connection) => change(connection).map_err(|error| error.to_string()),
            None => Err("the database is not open: a registered room was not saved".to_owned()),
        };
        if let Err(error) = result {
            self.failed(&error, state);
        }
    }

    /// Raises the high-water mark on disk when the ids come near it.
    fn keep_high_water(&mut self, state: &mut State) {
        let last = self.ids.last();
        if last.saturating_add(HIGH_WATER_HEADROOM / 2) <= state.high_water {
            return;
        }
        let Some(connection) = &self.connection else {
            return;
        };
        match raise_high_water(connection, last + HIGH_WATER_HEADROOM) {
            Ok(mark) => state.high_water = mark,
            Err(error) => self.failed(&error.to_string(), state),
        }
    }

    fn every_minute(&mut self, state: &mut State) {
        if self.connection.is_none() {
            match schema::open(&self.dir, &self.path) {
                Ok(connection) => {
                    // Unregistered rooms of an earlier run are gone; this run's rooms had
                    // nothing stored. Registered rooms found now are not this run's: they
                    // come back at the next start.
                    let cleared = schema::delete_unregistered_rooms(&connection);
                    if cleared.is_ok() {
                        log::info!("history store {}: open now", self.path.display());
                        self.connection = Some(connection);
                        recount(self.connection.as_ref(), &mut state.open);
                    }
                }
                Err(error) => self.failed(&error, state),
            }
        }
        let (Some(connection), Some(cutoff)) =
            (&self.connection, schema::cutoff(self.settings.days))
        else {
            return;
        };
        // Whole chunks only: a chunk with a line young enough stays, and reads leave its
        // older lines out.
        match connection.execute("DELETE FROM chunks WHERE last_ms < ?1", params![cutoff]) {
            Ok(0) => {}
            Ok(_) => recount(self.connection.as_ref(), &mut state.open),
            Err(error) => self.failed(&error.to_string(), state),
        }
        // The pairs' counts are left too high, which retention allows for.
        if let Err(error) = direct::delete_older(connection, cutoff) {
            self.failed(&error.to_string(), state);
        }
    }

    /// Logs a failure at most once a minute, with how many failed and how many lines were
    /// not stored since the last such line.
    fn failed(&self, error: &str, state: &mut State) {
        state.failures_since_log += 1;
        let due = state.last_logged.is_none_or(|at| at.elapsed() >= MINUTE);
        if due {
            log::error!(
                "history store {}: {error} ({} failures, {} lines not stored so far; chat goes \
                 on, this is logged at most once a minute)",
                self.path.display(),
                state.failures_since_log,
                self.unstored.load(Ordering::Relaxed),
            );
            state.last_logged = Some(Instant::now());
            state.failures_since_log = 0;
        }
    }

    /// The clean end: everything is written; the write-ahead log is folded into the
    /// database so the folder holds one file.
    fn close(&mut self) {
        if let Some(connection) = self.connection.take() {
            if let Err(error) = connection.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                log::warn!("history store {}: {error}", self.path.display());
            }
            if let Err((_, error)) = connection.close() {
                log::warn!("history store {}: {error}", self.path.display());
            }
        }
    }
}

/// What one transaction writes.
struct Taken<'a> {
    chunks: &'a [Chunk],
    direct: &'a [DirectLine],
}

/// Writes chunks and direct lines in one transaction and trims the conversations and pairs
/// they overfilled; the lines written.
fn write_taken(
    connection: &mut Connection,
    taken: &Taken<'_>,
    state: &mut State,
    keep: usize,
) -> rusqlite::Result<u64> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut written = direct::write(&transaction, taken.direct, keep, &mut state.pairs)?;
    let open = &mut state.open;
    let mut touched = Vec::new();
    {
        let mut insert = transaction.prepare_cached(
            "INSERT INTO chunks (conversation, last_id, first_id, lines, first_ms, last_ms, \
             packed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?;
        for chunk in taken.chunks {
            // The lines of a room forgotten meanwhile are dropped with the room.
            let Some(state) = open.get_mut(&chunk.conversation) else {
                continue;
            };
            insert.execute(params![
                chunk.conversation.0,
                chunk.last_id,
                chunk.first_id,
                chunk.lines,
                chunk.first_ms,
                chunk.last_ms,
                chunk.packer.packed
            ])?;
            written += chunk.lines as u64;
            state.rows += chunk.lines;
            touched.push(chunk.conversation);
        }
    }
    touched.sort_unstable_by_key(|conversation| conversation.0);
    touched.dedup();
    for conversation in touched {
        let state = open.get_mut(&conversation).expect("touched only if open");
        // Trimmed when a conversation is a chunk or a hundredth over, so the delete runs once
        // per many lines, not once per batch.
        if state.rows > keep + (keep / 100).max(CHUNK_LINES) {
            state.rows -= trim(&transaction, conversation, state.rows - keep)?;
        }
    }
    transaction.commit()?;
    Ok(written)
}

/// Deletes a conversation's oldest chunks, as many whole ones as hold at most `excess` lines;
/// the lines deleted.
fn trim(
    transaction: &rusqlite::Transaction<'_>,
    conversation: Conversation,
    excess: usize,
) -> rusqlite::Result<usize> {
    let mut oldest = transaction.prepare_cached(
        "SELECT last_id, lines FROM chunks WHERE conversation = ?1 ORDER BY last_id",
    )?;
    let mut rows = oldest.query(params![conversation.0])?;
    let (mut through, mut deleted) = (None, 0);
    while let Some(row) = rows.next()? {
        let (last_id, lines): (u64, usize) = (row.get(0)?, row.get(1)?);
        if deleted + lines > excess {
            break;
        }
        deleted += lines;
        through = Some(last_id);
    }
    drop(rows);
    if let Some(through) = through {
        transaction
            .prepare_cached("DELETE FROM chunks WHERE conversation = ?1 AND last_id <= ?2")?
            .execute(params![conversation.0, through])?;
    }
    Ok(deleted)
}

/// Sets the high-water mark to `mark`; returns it.
pub fn raise_high_water(connection: &Connection, mark: u64) -> rusqlite::Result<u64> {
    connection.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2) \
         ON CONFLICT (name) DO UPDATE SET value = max(value, excluded.value)",
        params![ID_HIGH_WATER, mark],
    )?;
    Ok(mark)
}

/// Counts each open conversation's rows again (after a deletion by age).
fn recount(connection: Option<&Connection>, open: &mut HashMap<Conversation, Open>) {
    let Some(connection) = connection else {
        return;
    };
    for (conversation, state) in open.iter_mut() {
        if let Ok(rows) = count_rows(Some(connection), *conversation) {
            state.rows = rows;
        }
    }
}

/// The lines a conversation has in the database.
fn count_rows(
    connection: Option<&Connection>,
    conversation: Conversation,
) -> rusqlite::Result<usize> {
    let Some(connection) = connection else {
        return Ok(0);
    };
    connection.query_row(
        "SELECT coalesce(sum(lines), 0) FROM chunks WHERE conversation = ?1",
        params![conversation.0],
        |row| row.get(0),
    )
}
