//! [`Batch`]: the lines the store thread has taken from its channel and not written yet,
//! already packed into chunks, one run of lines of one conversation each.
//!
//! In scope: packing a line into its conversation's open chunk (closing it at
//! [`CHUNK_LINES`]), and handing the chunks over for one transaction. Out of scope: the
//! chunk's byte layout (`packing`), writing (`writer`).
//!
//! Why lines are packed as they are taken, not when the batch is written: a line taken from
//! the channel is copied into its chunk and its shared `Line` dropped at once, so the lines of
//! a batch window are not all kept alive until the window ends (megabytes of a busy lobby's
//! lines, freed in one go on another thread than the one that made them).

use std::collections::HashMap;

use super::messages::{Conversation, Stored};
use super::packing::Packer;
use super::schema::CHUNK_LINES;

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

/// Chunks waiting for the next transaction.
#[derive(Default)]
pub struct Batch {
    closed: Vec<Chunk>,
    open: HashMap<Conversation, Chunk>,
    lines: usize,
}

impl Batch {
    /// Packs `line` into its conversation's chunk; the `Line` itself is dropped here.
    pub fn add(&mut self, line: Stored) {
        let chunk = self.open.entry(line.conversation).or_insert_with(|| Chunk {
            conversation: line.conversation,
            first_id: line.id,
            last_id: line.id,
            lines: 0,
            first_ms: line.time,
            last_ms: line.time,
            packer: Packer::new(line.id, line.time),
        });
        chunk.packer.push(line.id, line.time, line.text.as_str());
        chunk.last_id = line.id;
        chunk.last_ms = line.time;
        chunk.lines += 1;
        self.lines += 1;
        if chunk.lines == CHUNK_LINES {
            let full = self.open.remove(&line.conversation).expect("just filled");
            self.closed.push(full);
        }
    }

    /// Lines taken since the last [`Batch::take`].
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Every chunk, for one transaction; the batch is empty after.
    pub fn take(&mut self) -> Vec<Chunk> {
        let mut chunks = std::mem::take(&mut self.closed);
        chunks.extend(self.open.drain().map(|(_, chunk)| chunk));
        self.lines = 0;
        chunks
    }
}
