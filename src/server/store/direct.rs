//! The `direct` table (issue 16): writing the direct lines the store thread took, with each
//! pair's `--history-lines`, deleting lines past `--history-days`, and reading one page of
//! one account's lines with one nick.
//!
//! In scope: the SQL, and the store thread's count of each pair's rows, which keeps the
//! retention cheap. Out of scope: when lines are written and barriers answered (`writer`),
//! the barrier a reader sends first (`mod.rs`), the read connections (`reader`), the table
//! and its triggers (`schema`), and who may read what (the registry).
//!
//! A row per line, keyed by (owner, peer, id): the lines of the two directions of a pair are
//! taken in two senders' turns and may reach the store out of id order, which a key on the
//! id puts back in order.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::sync::Arc;

use chatd_proto::{MessageId, NickKey, Page, UtcMillis};
use rusqlite::{Connection, Transaction, params};

use super::messages::DirectLine;
use crate::server::history_entry::Entry;

/// One pair's lines below an id, newest first.
pub const NEWEST: &str = "SELECT id, time_ms, line FROM direct \
     WHERE owner = ?1 AND peer = ?2 AND id < ?3 AND time_ms >= ?4 ORDER BY id DESC LIMIT ?5";
/// One pair's lines above an id, oldest first.
pub const OLDEST: &str = "SELECT id, time_ms, line FROM direct \
     WHERE owner = ?1 AND peer = ?2 AND id > ?3 AND time_ms >= ?4 ORDER BY id LIMIT ?5";

/// Deletes a pair's lines but its newest `?3`: walks `?3` entries of the pair's key, so it runs
/// only when the count says the pair is over its share.
const TRIM: &str = "DELETE FROM direct WHERE owner = ?1 AND peer = ?2 AND id <= \
     (SELECT id FROM direct WHERE owner = ?1 AND peer = ?2 ORDER BY id DESC LIMIT 1 OFFSET ?3)";

const COUNT: &str = "SELECT count(*) FROM direct WHERE owner = ?1 AND peer = ?2";

/// Pairs whose rows the store thread counts at once: a few megabytes of keys at most. Past
/// it the counts start over, each pair counted again when next written.
const COUNTED_PAIRS: usize = 65_536;

/// The rows of each pair written lately, as the store thread counts them: never fewer than
/// the table holds (deletions by age and by the account triggers only lower the truth), so a
/// pair over its share is never missed, and one counted too high costs one exact trim.
#[derive(Default)]
pub struct PairRows {
    rows: HashMap<(NickKey, NickKey), usize>,
}

/// Writes `lines` in the caller's transaction and trims each pair they overfilled to its
/// newest `keep`; the lines written. A line written already (the same id for the same owner
/// and peer) is left as it is, so a repeat never fails the batch.
pub fn write(
    transaction: &Transaction<'_>,
    lines: &[DirectLine],
    keep: usize,
    pairs: &mut PairRows,
) -> rusqlite::Result<u64> {
    let mut written = 0;
    let mut touched: HashMap<(&NickKey, &NickKey), usize> = HashMap::new();
    {
        let mut insert = transaction.prepare_cached(
            "INSERT OR IGNORE INTO direct (owner, peer, id, time_ms, line) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for line in lines {
            let inserted = insert.execute(params![
                key(&line.owner),
                key(&line.peer),
                line.id,
                line.time,
                line.line
            ])?;
            written += inserted as u64;
            *touched.entry((&line.owner, &line.peer)).or_default() += inserted;
        }
    }
    for ((owner, peer), inserted) in touched {
        pairs.written(transaction, owner, peer, inserted, keep)?;
    }
    Ok(written)
}

impl PairRows {
    /// Counts `inserted` more rows of the pair, and trims it once it is a hundredth over
    /// `keep` (at once for a `keep` below 100): the trim walks `keep` rows, so it runs once
    /// per many lines of a busy pair, not once per batch.
    fn written(
        &mut self,
        transaction: &Transaction<'_>,
        owner: &NickKey,
        peer: &NickKey,
        inserted: usize,
        keep: usize,
    ) -> rusqlite::Result<()> {
        let pair = (owner.clone(), peer.clone());
        let rows = match self.rows.get_mut(&pair) {
            Some(rows) => {
                *rows += inserted;
                *rows
            }
            None => {
                if self.rows.len() >= COUNTED_PAIRS {
                    self.rows.clear();
                }
                count(transaction, owner, peer)?
            }
        };
        let rows = if rows > keep + keep / 100 {
            let deleted =
                transaction
                    .prepare_cached(TRIM)?
                    .execute(params![key(owner), key(peer), keep])?;
            if deleted > 0 {
                keep
            } else {
                count(transaction, owner, peer)?
            }
        } else {
            rows
        };
        self.rows.insert(pair, rows);
        Ok(())
    }
}

fn count(connection: &Connection, owner: &NickKey, peer: &NickKey) -> rusqlite::Result<usize> {
    connection
        .prepare_cached(COUNT)?
        .query_row(params![key(owner), key(peer)], |row| row.get(0))
}

/// Deletes every line older than `cutoff` (milliseconds since the epoch); the lines deleted.
pub fn delete_older(connection: &Connection, cutoff: u64) -> rusqlite::Result<usize> {
    connection.execute("DELETE FROM direct WHERE time_ms < ?1", params![cutoff])
}

/// At most `count` lines of `owner` with `peer` as `page` asks, none older than `cutoff`,
/// oldest first.
pub fn read_page(
    connection: &Connection,
    owner: &NickKey,
    peer: &NickKey,
    count: usize,
    page: Page,
    cutoff: u64,
) -> rusqlite::Result<Vec<Entry>> {
    let (sql, bound, newest_first) = match page {
        Page::Latest => (NEWEST, MessageId::MAX.get() + 1, true),
        Page::Before(id) => (NEWEST, id.get(), true),
        Page::After(id) => (OLDEST, id.get(), false),
    };
    let mut statement = connection.prepare_cached(sql)?;
    let mut rows = statement.query(params![key(owner), key(peer), bound, cutoff, count])?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next()? {
        let (id, time, line): (u64, u64, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        // Written by this code from a message id: a row that does not read back as one is
        // damage, left out rather than shown wrong.
        let Some(id) = MessageId::new(id) else {
            continue;
        };
        let mut text = line;
        text.push('\n');
        entries.push(Entry {
            id,
            time: UtcMillis::saturating(time),
            line: Arc::from(text),
            stored: true,
        });
    }
    if newest_first {
        entries.reverse();
    }
    Ok(entries)
}

fn key(key: &NickKey) -> &str {
    key.borrow()
}
