//! The byte layout of a chunk: how a run of lines of one conversation is packed into one
//! blob ([`Packer`]) and read back ([`unpack`]).
//!
//! Each line is four unsigned LEB128 numbers and some text: its id minus the previous line's
//! (the chunk's `first_id` before the first line), its time minus the previous line's (the
//! chunk's `first_ms` before the first), how many leading bytes of its text it shares with
//! the previous line's, and how many follow; then those bytes. The v1 line is stored without
//! its `\n`. Consecutive lines of a conversation share most of their start (`MSG #tea alice `),
//! so a line costs its new bytes and about four more, where fixed-width fields and whole
//! texts cost twice as much to write, and every byte is written twice (the write-ahead log,
//! then the database).
//!
//! Out of scope: which lines make a chunk (`batch`), the table (`schema`).

use std::sync::Arc;

use chatd_proto::{MessageId, UtcMillis};

use crate::server::history_entry::Entry;

/// Packs the lines of one chunk, in order.
pub struct Packer {
    previous_id: u64,
    previous_ms: u64,
    previous_text: Vec<u8>,
    pub packed: Vec<u8>,
}

impl Packer {
    /// A chunk whose first line has id `first_id` and time `first_ms`.
    pub fn new(first_id: u64, first_ms: u64) -> Packer {
        Packer {
            previous_id: first_id,
            previous_ms: first_ms,
            previous_text: Vec::new(),
            packed: Vec::new(),
        }
    }

    /// Appends a line: its id and time are not below the previous line's (one conversation's
    /// lines come in id order, with times that never go back: `History::record`).
    pub fn push(&mut self, id: u64, time: u64, line: &str) {
        let text = line.strip_suffix('\n').unwrap_or(line).as_bytes();
        let shared = text
            .iter()
            .zip(&self.previous_text)
            .take_while(|(a, b)| a == b)
            .count();
        write_number(id - self.previous_id, &mut self.packed);
        write_number(time.saturating_sub(self.previous_ms), &mut self.packed);
        write_number(shared as u64, &mut self.packed);
        write_number((text.len() - shared) as u64, &mut self.packed);
        self.packed.extend_from_slice(&text[shared..]);
        self.previous_id = id;
        self.previous_ms = self.previous_ms.max(time);
        self.previous_text.clear();
        self.previous_text.extend_from_slice(text);
    }
}

/// The `lines` lines of a chunk, oldest first. A blob that does not read back as that many
/// lines (a database edited by hand, or damaged) is an error, not lines made up.
pub fn unpack(
    first_id: u64,
    first_ms: u64,
    lines: usize,
    mut packed: &[u8],
) -> rusqlite::Result<Vec<Entry>> {
    let damaged = || {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            "a chunk of history does not read back".into(),
        )
    };
    let (mut id, mut ms) = (first_id, first_ms);
    let mut text: Vec<u8> = Vec::new();
    let mut entries = Vec::new();
    while !packed.is_empty() {
        let mut number = || read_number(&mut packed).ok_or_else(damaged);
        id = id.checked_add(number()?).ok_or_else(damaged)?;
        ms = ms.checked_add(number()?).ok_or_else(damaged)?;
        let shared = usize::try_from(number()?).map_err(|_| damaged())?;
        let new = usize::try_from(number()?).map_err(|_| damaged())?;
        if shared > text.len() || new > packed.len() {
            return Err(damaged());
        }
        text.truncate(shared);
        text.extend_from_slice(&packed[..new]);
        packed = &packed[new..];
        let mut line = std::str::from_utf8(&text)
            .map_err(|_| damaged())?
            .to_owned();
        line.push('\n');
        entries.push(Entry {
            id: MessageId::new(id).ok_or_else(damaged)?,
            time: UtcMillis::saturating(ms),
            line: Arc::from(line),
            stored: true,
        });
    }
    if entries.len() != lines {
        return Err(damaged());
    }
    Ok(entries)
}

/// Unsigned LEB128: seven bits a byte, low first, the high bit set on all but the last.
fn write_number(mut value: u64, out: &mut Vec<u8>) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn read_number(bytes: &mut &[u8]) -> Option<u64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f).checked_shl(shift)?;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(entries: &[Entry]) -> Vec<(u64, u64, &str)> {
        entries
            .iter()
            .map(|e| (e.id.get(), e.time.millis(), &*e.line))
            .collect()
    }

    #[test]
    fn lines_read_back_as_they_were_packed() {
        let said = [
            (
                1_796_565_600_000_001,
                1_796_565_600_000,
                "MSG #tea alice hello\n",
            ),
            (
                1_796_565_600_000_009,
                1_796_565_600_000,
                "MSG #tea alice how are you\n",
            ),
            (
                1_796_565_600_000_200,
                1_796_565_601_500,
                "MSG #tea bob fine, and you?\n",
            ),
            (1_796_565_600_000_201, 1_796_565_601_500, "MSG #tea bob\n"),
            (
                1_796_565_600_900_000,
                1_796_565_900_000,
                "MSG #tea bob é ✓\n",
            ),
        ];
        let mut packer = Packer::new(said[0].0, said[0].1);
        for (id, time, line) in said {
            packer.push(id, time, line);
        }
        let back = unpack(said[0].0, said[0].1, said.len(), &packer.packed).unwrap();
        assert_eq!(lines(&back), said);
        // The shared start is not written again.
        assert!(packer.packed.len() < said.iter().map(|s| s.2.len()).sum::<usize>() / 2 + 40);
    }

    #[test]
    fn a_damaged_chunk_is_an_error_not_lines() {
        let mut packer = Packer::new(10, 5);
        packer.push(10, 5, "ALL ann hi\n");
        packer.push(11, 6, "ALL ann ho\n");
        let whole = packer.packed.clone();
        for cut in 1..whole.len() {
            assert!(unpack(10, 5, 2, &whole[..cut]).is_err(), "cut at {cut}");
        }
        assert!(
            unpack(10, 5, 1, &[0, 0, 5, 1, b'x']).is_err(),
            "shares more than there was"
        );
        assert!(
            unpack(10, 5, 1, &[0x80; 12]).is_err(),
            "a number that never ends"
        );
        assert_eq!(
            unpack(10, 5, 2, &whole).unwrap().len(),
            2,
            "the whole chunk reads"
        );
    }
}
