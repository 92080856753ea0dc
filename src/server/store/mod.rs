//! The history store: every line of history also goes to an SQLite database in the data
//! folder, so history outlives the memory rings and a restart; [`Store`] is the handle the
//! registry and the history rings hold.
//!
//! In scope: opening the database and recovering from it (the lobby's recent lines and the
//! message-id high-water mark), handing lines to the one store thread without ever waiting
//! ([`Link::record`]), forgetting a room's lines, reading pages older than a ring holds,
//! keeping and reading accounts' direct lines ([`Store::keep_direct`],
//! [`Store::read_direct`]), and the clean close that writes everything. The files: `schema`
//! (the tables and their migrations), `writer` (the store thread: batches, retention, the
//! high-water mark, errors), `reader` (pages read on the asking worker), `direct` (the
//! direct lines' table).
//!
//! Out of scope: the recent lines in memory and which page needs the disk (`history`), who
//! may read what (the registry), the wire (`chatd_proto`).
//!
//! Invariants. Nothing that holds a registry lock, no worker and no writer thread waits for
//! the disk: a line is packed into its conversation's pending chunk (`batch`), in the
//! critical section that takes its id, so a conversation's chunks hold its lines in id
//! order; a full chunk goes into a bounded channel with `try_send`, and a full channel (a
//! disk that cannot keep up) counts its lines as not stored instead of waiting. One thread
//! writes: each flush window it takes every pending chunk, then every full one in the
//! channel, so a line waits at most a window (and a commit) before it is written. Each
//! conversation has a counter of the highest id the thread has dealt with (written, or failed
//! to write), which a reader checks before it trusts the disk for lines the ring has let go
//! of.
//!
//! Direct lines (issue 16) have a channel of their own, and no ring: each `HISTORY <nick>`
//! reads the disk, after a barrier sent down that channel ([`Direct::Barrier`]), which the
//! thread answers once every line before it is written, so a page misses no line handed over
//! before it was asked for.
//!
//! Designed for what comes next: a conversation is a number ([`Conversation`]), so registered
//! rooms get numbers of their own and rows in the same table; the thread is the one place
//! that writes, so accounts can share it.

mod batch;
mod direct;
mod messages;
mod packing;
mod reader;
mod rooms;
mod schema;
mod writer;

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{RecvTimeoutError, SendTimeoutError, Sender, TrySendError};
use parking_lot::Mutex;

use crate::config::Config;
use crate::server::history_entry::Entry;
use crate::server::message_ids::MessageIds;
use chatd_proto::{MessageId, NickKey, Page, UtcMillis};

pub use batch::Conversation;
pub use messages::Text;
pub use reader::{Range, StoreRead};
pub use rooms::RoomRecord;
/// The newest schema, for tests of the migrations.
#[cfg(test)]
pub use schema::SCHEMA_VERSION;
/// A write connection with the settings and schema every writer needs: the account book's.
pub use schema::open as open_writer;
/// As [`open_writer`], for a database that must exist: the account commands create nothing.
pub use schema::open_existing as open_existing_writer;
pub use schema::{Recovered, cutoff};

use batch::{CHUNK_LINES, Chunk, Pending, Recorded};
use messages::{CHANNEL_CHUNKS, CHANNEL_DIRECT, Control, Direct, DirectLine};
use reader::ReadSide;

/// The database's file name in the data folder.
pub const DATABASE_FILE: &str = "chatd.db";

/// The history store, or its absence (`--ephemeral`, or history off): cheap to clone.
#[derive(Clone, Default)]
pub struct Store {
    shared: Option<Arc<Shared>>,
}

struct Shared {
    /// Full chunks of the lobby's and rooms' lines.
    chunks: Sender<Chunk>,
    /// Set when a line begins a chunk: the thread sweeps the pending chunks when it is.
    begun: Arc<AtomicBool>,
    control: Sender<Control>,
    /// Accounts' direct lines, and the barriers of their readers.
    direct: Sender<Direct>,
    /// What readers share: their connections, the file, the settings they read with.
    read: Arc<ReadSide>,
    /// The next room's conversation number.
    next_conversation: AtomicU64,
    /// Lines not stored: refused by a full channel, or lost with a failed write.
    unstored: Arc<AtomicU64>,
    /// Lines written.
    stored: Arc<AtomicU64>,
    /// The store thread: `None` once joined.
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A database opened and recovered from, whose thread has not started yet: it needs the
/// server's id source, which starts above what was recovered.
pub struct Opened {
    /// `None` without a store; a connection of `None` while it cannot be opened.
    database: Option<Database>,
    settings: writer::Settings,
}

struct Database {
    connection: Option<rusqlite::Connection>,
    dir: PathBuf,
    path: PathBuf,
    lobby_rows: usize,
    /// Read connections to open: one per worker, the most that read at once.
    readers: usize,
    /// The first conversation number of this run's rooms.
    next_conversation: u64,
}

impl Opened {
    /// Opens (creating it if needed) the database in `config.data_dir`, brings its schema
    /// up to date, deletes the lines of rooms (they did not survive the restart), and reads
    /// what the new run starts from. A folder or database that cannot be opened is logged,
    /// and the server runs on with history in memory: the store thread tries again each
    /// minute, counting the lines it cannot store meanwhile.
    pub fn open(config: &Config, ring: usize) -> (Opened, Recovered) {
        let settings = writer::Settings::of(config);
        let path = config.data_dir.join(DATABASE_FILE);
        let nothing = || Recovered {
            rooms: Vec::new(),
            // Far above any number a database may hold, in case it opens later in the run:
            // this run's rooms must not write into a registered room's lines then.
            next_conversation: UNOPENED_CONVERSATIONS,
            lobby: VecDeque::new(),
            lobby_complete: true,
            id_floor: 0,
            lobby_rows: 0,
        };
        // With history off (`--history-lines 0`) the store still keeps registered rooms; no
        // conversation records a line.
        if config.ephemeral {
            return (
                Opened {
                    database: None,
                    settings,
                },
                nothing(),
            );
        }
        let opened = schema::open(&config.data_dir, &path).and_then(|connection| {
            let recovered = schema::recover(&connection, ring, config.history_days)
                .map_err(|error| error.to_string())?;
            Ok((connection, recovered))
        });
        match opened {
            Ok((connection, recovered)) => {
                log::info!(
                    "history store {}: {} lobby lines recovered",
                    path.display(),
                    recovered.lobby.len()
                );
                let database = Database {
                    connection: Some(connection),
                    dir: config.data_dir.clone(),
                    path,
                    lobby_rows: recovered.lobby_rows,
                    readers: config.workers,
                    next_conversation: recovered.next_conversation,
                };
                (
                    Opened {
                        database: Some(database),
                        settings,
                    },
                    recovered,
                )
            }
            Err(error) => {
                log::error!(
                    "history store {}: {error}; history is kept in memory only until it can \
                     be opened (tried again each minute)",
                    path.display()
                );
                let database = Database {
                    connection: None,
                    dir: config.data_dir.clone(),
                    path,
                    lobby_rows: 0,
                    readers: config.workers,
                    next_conversation: UNOPENED_CONVERSATIONS,
                };
                let database = Some(database);
                (Opened { database, settings }, nothing())
            }
        }
    }

    /// Starts the store thread; `ids` is the server's id source, whose high-water mark the
    /// thread keeps on disk.
    pub fn start(self, ids: Arc<MessageIds>) -> io::Result<Store> {
        let Some(database) = self.database else {
            return Ok(Store::default());
        };
        let Database {
            connection,
            dir,
            path,
            lobby_rows,
            readers,
            next_conversation,
        } = database;
        if let Some(connection) = &connection {
            // Before any id is handed out: ids of this run that a crash keeps off the disk
            // are still below the mark the next run starts above. A database that cannot be
            // written stores no line of this run either; the thread logs its failures.
            let mark = ids.last() + writer::HIGH_WATER_HEADROOM;
            if let Err(error) = writer::raise_high_water(connection, mark) {
                log::error!("history store {}: {error}", path.display());
            }
        }
        // Without a database yet, the first reads open their connections.
        let readers = if connection.is_some() { readers } else { 0 };
        let (chunks, chunks_in) = crossbeam_channel::bounded(CHANNEL_CHUNKS);
        let begun = Arc::new(AtomicBool::new(false));
        let (control, control_in) = crossbeam_channel::unbounded();
        let (direct, direct_in) = crossbeam_channel::bounded(CHANNEL_DIRECT);
        let unstored = Arc::new(AtomicU64::new(0));
        let stored = Arc::new(AtomicU64::new(0));
        let thread = writer::StoreThread {
            connection,
            dir,
            path: path.clone(),
            chunks: chunks_in,
            begun: Arc::clone(&begun),
            control: control_in,
            direct: direct_in,
            settings: self.settings,
            ids,
            unstored: Arc::clone(&unstored),
            stored: Arc::clone(&stored),
            lobby_rows,
        };
        let handle = std::thread::Builder::new()
            .name("chatd-store".to_owned())
            .spawn(move || thread.run())?;
        let read = ReadSide::new(
            path.clone(),
            self.settings.days,
            self.settings.flush + READ_WAIT_SLACK,
            readers,
        );
        Ok(Store {
            shared: Some(Arc::new(Shared {
                chunks,
                begun,
                control,
                direct,
                read: Arc::new(read),
                next_conversation: AtomicU64::new(next_conversation),
                unstored,
                stored,
                thread: Mutex::new(Some(handle)),
            })),
        })
    }
}

/// A conversation's tie to the store: what its history ring holds to record into it.
pub struct Link {
    store: Store,
    conversation: Conversation,
    /// The chunk its lines are packed into, shared with the store thread, which sweeps it.
    pending: Arc<Pending>,
    /// The highest id of this conversation the store thread has dealt with.
    handled: Arc<AtomicU64>,
    /// A registered room's: its lines stay when the link drops (at shutdown, or with a room
    /// that was unregistered after it was saved).
    kept: bool,
}

/// The first conversation number of a run whose database could not be opened at start.
const UNOPENED_CONVERSATIONS: u64 = 1 << 62;

impl Store {
    /// Ties a new conversation to the store: the lobby, or a room just created (a fresh
    /// number). `None` without a store.
    pub fn link(&self, lobby: bool) -> Option<Link> {
        let shared = self.shared.as_ref()?;
        let conversation = if lobby {
            Conversation::LOBBY
        } else {
            Conversation(shared.next_conversation.fetch_add(1, Ordering::Relaxed))
        };
        Some(self.open(conversation, false))
    }

    /// Ties a registered room of a previous run to its lines. `None` without a store.
    pub fn link_registered(&self, conversation: u64) -> Option<Link> {
        self.shared.as_ref()?;
        let mut link = self.open(Conversation(conversation), true);
        link.kept = true;
        Some(link)
    }

    fn open(&self, conversation: Conversation, existing: bool) -> Link {
        let shared = self.shared.as_ref().expect("called with a store");
        let handled = Arc::new(AtomicU64::new(0));
        let pending = Arc::new(Pending::new(conversation));
        // Unbounded: cannot fail but for a stopped thread, which stores nothing anyway.
        let _ = shared.control.send(Control::Open {
            conversation,
            handled: Arc::clone(&handled),
            pending: Arc::clone(&pending),
            existing,
        });
        Link {
            store: self.clone(),
            conversation,
            pending,
            handled,
            kept: false,
        }
    }

    /// Saves a registered room's row in the thread's next batch, without waiting. Sent under
    /// the table's write lock that made the change, so rows are saved in the order of the
    /// changes.
    pub fn save_room(&self, room: RoomRecord) {
        if let Some(shared) = &self.shared {
            let _ = shared.control.send(Control::SaveRoom(room));
        }
    }

    /// Deletes a room's row: it is not registered any more.
    pub fn drop_room(&self, name_key: String) {
        if let Some(shared) = &self.shared {
            let _ = shared.control.send(Control::DropRoom(name_key));
        }
    }

    /// Whether there is a store (a database, or one being tried again): not with
    /// `--ephemeral` or `--history-lines 0`.
    pub fn is_open(&self) -> bool {
        self.shared.is_some()
    }

    /// Hands the direct line `line` (the v1 line, `\n` included) to the store thread without
    /// waiting, kept for the account `owner` talking with `peer`: `false` (and counted as not
    /// stored) when the channel is full or there is no store.
    pub fn keep_direct(
        &self,
        owner: &NickKey,
        peer: &NickKey,
        id: MessageId,
        time: UtcMillis,
        line: &str,
    ) -> bool {
        let Some(shared) = &self.shared else {
            return false;
        };
        let line = DirectLine {
            owner: owner.clone(),
            peer: peer.clone(),
            id: id.get(),
            time: time.millis(),
            line: line.strip_suffix('\n').unwrap_or(line).to_owned(),
        };
        match shared.direct.try_send(Direct::Line(Box::new(line))) {
            Ok(()) => true,
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                shared.unstored.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Waits (at most the store's longest read wait) until every direct line handed over
    /// before this call is written, or failed to be. For a worker answering a
    /// `HISTORY <nick>`, or about to make an account whose name an old one had.
    pub fn settle_direct(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        let longest = shared.read.longest_wait();
        let deadline = std::time::Instant::now() + longest;
        let (written, wait) = crossbeam_channel::bounded(1);
        let sent = match shared
            .direct
            .send_timeout(Direct::Barrier(written), longest)
        {
            // A stopped thread has written all it ever will.
            Ok(()) | Err(SendTimeoutError::Disconnected(_)) => true,
            Err(SendTimeoutError::Timeout(_)) => false,
        };
        // Dropped unanswered (a stopped thread) wakes this as well as an answer does.
        if !sent || wait.recv_deadline(deadline) == Err(RecvTimeoutError::Timeout) {
            log::warn!(
                "history store: the store thread did not write the direct lines in time; a \
                 HISTORY of direct messages may miss lines still being written"
            );
        }
    }

    /// At most `count` direct lines of the account `owner` with `peer` as `page` asks,
    /// oldest first: every line handed over before the call that is kept still, after a
    /// barrier ([`Store::settle_direct`]). Nothing without a store.
    pub fn read_direct(
        &self,
        owner: &NickKey,
        peer: &NickKey,
        count: usize,
        page: Page,
    ) -> Vec<Entry> {
        let Some(shared) = &self.shared else {
            return Vec::new();
        };
        self.settle_direct();
        shared.read.direct_page(owner, peer, count, page)
    }

    /// Lines not stored so far, and lines stored.
    pub fn counts(&self) -> (u64, u64) {
        self.shared.as_ref().map_or((0, 0), |shared| {
            (
                shared.unstored.load(Ordering::Relaxed),
                shared.stored.load(Ordering::Relaxed),
            )
        })
    }

    /// Lines handed to the store thread and not yet taken (its lag): the lobby's and rooms'
    /// lines in full chunks and accounts' direct lines in its channels. Not the chunks still
    /// being filled, which the thread takes each flush window.
    pub fn backlog(&self) -> u64 {
        self.shared.as_ref().map_or(0, |shared| {
            (shared.chunks.len() * CHUNK_LINES + shared.direct.len()) as u64
        })
    }

    /// Writes every line handed over so far and stops the store thread. For the shutdown,
    /// once nothing records any more.
    pub fn close(&self) {
        let Some(shared) = &self.shared else {
            return;
        };
        let Some(handle) = shared.thread.lock().take() else {
            return;
        };
        // Nothing is recorded any more: every line sent is in the channel before this.
        let _ = shared.control.send(Control::Stop);
        if handle.join().is_err() {
            log::error!("the store thread panicked");
        }
    }
}

impl Link {
    /// Packs a line into the conversation's pending chunk, which the store thread takes
    /// within a flush window; a full chunk is handed over at once, without waiting. `false`
    /// when the line filled a chunk the channel refused (a store that cannot keep up): the
    /// chunk's lines are counted as not stored. Called under the conversation's lock, in id
    /// order: a full chunk is in the channel before the next line of its conversation is
    /// packed, so the thread, which sweeps then drains the channel, never writes a newer
    /// chunk of a conversation in an earlier batch than an older one.
    pub fn record(&self, id: MessageId, time: UtcMillis, line: &str) -> bool {
        let shared = self.store.shared.as_ref().expect("a link has a store");
        match self.pending.record(id.get(), time.millis(), line) {
            Recorded::Kept => true,
            Recorded::Began => {
                // Read first: the flag's cache line is only written once a window.
                if !shared.begun.load(Ordering::Relaxed) {
                    shared.begun.store(true, Ordering::Release);
                }
                true
            }
            Recorded::Full(chunk) => {
                let lines = chunk.lines as u64;
                match shared.chunks.try_send(chunk) {
                    Ok(()) => true,
                    Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                        shared.unstored.fetch_add(lines, Ordering::Relaxed);
                        false
                    }
                }
            }
        }
    }

    /// What to read from the disk for lines older than the ring holds: the reader waits
    /// until the thread has dealt with `through` (the newest line the ring let go of that
    /// went to the store), so the disk holds every line it will ever hold up to there.
    pub fn read(&self, through: u64) -> StoreRead {
        let shared = self.store.shared.as_ref().expect("a link has a store");
        StoreRead {
            read: Arc::clone(&shared.read),
            conversation: self.conversation,
            handled: Arc::clone(&self.handled),
            through,
        }
    }
}

impl Link {
    /// The conversation's number in the database.
    pub fn conversation(&self) -> u64 {
        self.conversation.0
    }

    /// Whether the conversation's lines outlive the link (a registered room's).
    pub fn keep(&mut self, kept: bool) {
        self.kept = kept;
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        // The lobby lives as long as the server; a room's link drops with the room, and a
        // registered room's lines stay for the next run.
        if self.conversation != Conversation::LOBBY && !self.kept {
            if let Some(shared) = &self.store.shared {
                let _ = shared.control.send(Control::Forget(self.conversation));
            }
        }
    }
}

/// How much longer than a flush window a reader waits for the thread: a commit, and a
/// thread kept off the processor for a while on a busy machine.
const READ_WAIT_SLACK: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests;
