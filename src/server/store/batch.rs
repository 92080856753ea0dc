//! Chunks: runs of consecutive lines of one conversation, packed as a row of `chunks` holds
//! them. [`Pending`] is the chunk a conversation is filling, [`Batch`] the chunks the store
//! thread has taken and not written yet.
//!
//! In scope: packing a line into its conversation's pending chunk (full at [`CHUNK_LINES`]),
//! taking a pending chunk, and gathering chunks for one transaction. Out of scope: the
//! chunk's byte layout (`packing`), when chunks are sent and taken (`mod.rs`, `writer`),
//! writing (`writer`).
//!
//! Why lines are packed where they are recorded, in the conversation's critical section, and
//! not on the store thread: a line handed to the thread one by one cost a slot of a channel
//! of 65,536 (a write to memory no cache held, on one core, and a read of it on another),
//! a hash lookup of its chunk and a copy out of the slot: more than packing it costs. Packed
//! here, a line costs a few bytes appended to its conversation's chunk, which stays in the
//! cache of the core recording it; the thread gets a whole chunk at a time.

use parking_lot::Mutex;

use super::packing::Packer;

/// Which conversation a line belongs to, as the database numbers it. The lobby is 0; each
/// room gets a fresh number when it is created, so a room created again under an old name
/// never sees the old room's lines; a registered room keeps its number across restarts, and
/// a run numbers its new rooms above every registered one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Conversation(pub u64);

impl Conversation {
    pub const LOBBY: Conversation = Conversation(0);
}

/// The most lines in one chunk: a page of history decodes at most a few chunks, and a
/// retention pass keeps at most this many lines beyond `--history-lines`.
pub const CHUNK_LINES: usize = 256;

/// A run of consecutive lines of one conversation, packed.
pub struct Chunk {
    pub conversation: Conversation,
    pub first_id: u64,
    pub last_id: u64,
    pub lines: usize,
    pub first_ms: u64,
    pub last_ms: u64,
    pub packer: Packer,
}

impl Chunk {
    fn new(conversation: Conversation, first_id: u64, first_ms: u64) -> Chunk {
        Chunk {
            conversation,
            first_id,
            last_id: first_id,
            lines: 0,
            first_ms,
            last_ms: first_ms,
            packer: Packer::new(first_id, first_ms),
        }
    }

    fn push(&mut self, id: u64, time: u64, line: &str) {
        self.packer.push(id, time, line);
        self.last_id = id;
        self.last_ms = time;
        self.lines += 1;
    }
}

/// The chunk one conversation is filling: locked by the recording worker (under the
/// conversation's own lock, so never contended by another worker) and by the store thread
/// when it sweeps, once per flush window.
pub struct Pending {
    conversation: Conversation,
    chunk: Mutex<Option<Chunk>>,
}

/// What recording a line into a [`Pending`] left to do.
pub enum Recorded {
    /// The line is in the pending chunk.
    Kept,
    /// The line began a chunk: the thread must sweep before the window ends.
    Began,
    /// The line filled the chunk, handed back to be sent.
    Full(Chunk),
}

impl Pending {
    pub fn new(conversation: Conversation) -> Pending {
        Pending {
            conversation,
            chunk: Mutex::new(None),
        }
    }

    /// Packs a line: its id and time not below the previous line's (`History::record`).
    pub fn record(&self, id: u64, time: u64, line: &str) -> Recorded {
        let mut pending = self.chunk.lock();
        let began = pending.is_none();
        let chunk = pending.get_or_insert_with(|| Chunk::new(self.conversation, id, time));
        chunk.push(id, time, line);
        if chunk.lines == CHUNK_LINES {
            Recorded::Full(pending.take().expect("just filled"))
        } else if began {
            Recorded::Began
        } else {
            Recorded::Kept
        }
    }

    /// Takes the chunk being filled, if any: the next line begins a new one.
    pub fn take(&self) -> Option<Chunk> {
        self.chunk.lock().take()
    }
}

/// Chunks waiting for the next transaction.
#[derive(Default)]
pub struct Batch {
    chunks: Vec<Chunk>,
    lines: usize,
}

impl Batch {
    pub fn add(&mut self, chunk: Chunk) {
        self.lines += chunk.lines;
        self.chunks.push(chunk);
    }

    /// Lines taken since the last [`Batch::take`].
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Every chunk, for one transaction; the batch is empty after.
    pub fn take(&mut self) -> Vec<Chunk> {
        self.lines = 0;
        std::mem::take(&mut self.chunks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_chunk_fills_at_chunk_lines_and_begins_again() {
        let pending = Pending::new(Conversation(7));
        assert!(matches!(
            pending.record(1, 10, "ALL a x\n"),
            Recorded::Began
        ));
        for id in 2..CHUNK_LINES as u64 {
            assert!(matches!(
                pending.record(id, 10, "ALL a x\n"),
                Recorded::Kept
            ));
        }
        let Recorded::Full(full) = pending.record(CHUNK_LINES as u64, 11, "ALL a y\n") else {
            panic!("the chunk is full");
        };
        assert_eq!(
            (full.conversation, full.first_id, full.last_id, full.lines),
            (Conversation(7), 1, CHUNK_LINES as u64, CHUNK_LINES)
        );
        assert_eq!((full.first_ms, full.last_ms), (10, 11));
        assert!(
            pending.take().is_none(),
            "a full chunk leaves nothing pending"
        );
        assert!(matches!(
            pending.record(300, 12, "ALL a z\n"),
            Recorded::Began
        ));
        let taken = pending.take().expect("the line just packed");
        assert_eq!((taken.first_id, taken.lines), (300, 1));
        assert!(matches!(
            pending.record(301, 12, "ALL a z\n"),
            Recorded::Began
        ));
    }
}
