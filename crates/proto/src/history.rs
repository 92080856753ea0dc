//! `HISTORY`: the request ([`HistoryRequest`], read from the arguments and written back) and
//! the `HIST` line the server answers with, written from borrowed parts
//! ([`Reply::write_hist_line`]).
//!
//! In scope: the grammar `HISTORY <target> [<count>] [BEFORE <id> | AFTER <id>]`, its limits
//! (a count of 1 to [`MAX_HISTORY`], [`DEFAULT_HISTORY`] when none is given) and the
//! `BAD_HISTORY` errors. Out of scope: the `Reply` variants themselves (`reply`), and which
//! lines a history holds and who may read it (the server).

use std::fmt;

use crate::error::ProtocolError;
use crate::message_id::MessageId;
use crate::names::{Nick, Room, Target};
use crate::reply::Reply;
use crate::syntax::split_word;
use crate::utc_time::UtcMillis;

/// The most lines one `HISTORY` answers with; a larger count is taken as this.
pub const MAX_HISTORY: u16 = 1000;

/// The lines a `HISTORY` without a count answers with.
pub const DEFAULT_HISTORY: u16 = 50;

/// `HISTORY <target> [<count>] [BEFORE <id> | AFTER <id>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRequest {
    /// `*` (the lobby), a room or a nick.
    pub target: Target,
    /// 1..=[`MAX_HISTORY`].
    pub count: u16,
    pub page: Page,
}

/// Which lines of a history a request wants; the answer is oldest first in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    /// The latest `count` lines.
    Latest,
    /// The `count` lines just before this id.
    Before(MessageId),
    /// The `count` lines just after this id.
    After(MessageId),
}

impl HistoryRequest {
    /// Reads the arguments of `HISTORY` (what follows the word), which are there: the caller
    /// checked that much (`MISSING_ARGUMENT`).
    pub(crate) fn parse(rest: &str) -> Result<HistoryRequest, ProtocolError> {
        let (target, mut rest) = split_word(rest);
        let target = if target == Target::LOBBY {
            Target::Lobby
        } else if target.starts_with('#') {
            Target::Room(Room::parse(target)?)
        } else {
            Target::Nick(Nick::parse(target).map_err(|_| bad(THE_TARGET, target))?)
        };
        let mut count = DEFAULT_HISTORY;
        let (word, after_word) = split_word(rest);
        if word.bytes().next().is_some_and(|b| b.is_ascii_digit()) {
            count = parse_count(word)?;
            rest = after_word;
        }
        let (word, after_word) = split_word(rest);
        let page = if word.is_empty() {
            Page::Latest
        } else if word.eq_ignore_ascii_case("BEFORE") || word.eq_ignore_ascii_case("AFTER") {
            let (id, after_id) = split_word(after_word);
            if id.is_empty() {
                return Err(ProtocolError::BadHistory {
                    expected: AN_ID,
                    got: None,
                });
            }
            let id = MessageId::parse(id).ok_or_else(|| bad(AN_ID, id))?;
            if !after_id.is_empty() {
                return Err(bad(NOTHING_MORE, after_id));
            }
            if word.eq_ignore_ascii_case("BEFORE") {
                Page::Before(id)
            } else {
                Page::After(id)
            }
        } else {
            return Err(bad("a count (1 to 1000), BEFORE <id> or AFTER <id>", word));
        };
        Ok(HistoryRequest {
            target,
            count,
            page,
        })
    }
}

const THE_TARGET: &str = "*, a #room or a nick";
const AN_ID: &str = "a message id after BEFORE or AFTER";
const NOTHING_MORE: &str = "nothing after the id";

/// A count of 1 or more, digits only; a larger one than [`MAX_HISTORY`] (however large) is
/// taken as that.
fn parse_count(digits: &str) -> Result<u16, ProtocolError> {
    const A_COUNT: &str = "a count of 1 to 1000";
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(A_COUNT, digits));
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        return Err(bad(A_COUNT, digits));
    }
    // More digits than u16 holds is larger than the most anyway.
    Ok(significant
        .parse::<u16>()
        .map_or(MAX_HISTORY, |count| count.min(MAX_HISTORY)))
}

fn bad(expected: &'static str, got: &str) -> ProtocolError {
    ProtocolError::BadHistory {
        expected,
        got: Some(got.to_owned()),
    }
}

impl fmt::Display for HistoryRequest {
    /// The arguments, as the parser reads them back: the count always written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.target, self.count)?;
        match self.page {
            Page::Latest => Ok(()),
            Page::Before(id) => write!(f, " BEFORE {id}"),
            Page::After(id) => write!(f, " AFTER {id}"),
        }
    }
}

impl Reply {
    /// Appends `HIST <target> <id> <time> <v1 line>` to `out`, as [`Reply::write_line`] would
    /// for [`Reply::Hist`]: `v1_line` is the line as it was delivered, its `\n` included,
    /// which the server keeps formatted, so answering a `HISTORY` copies it once, here.
    pub fn write_hist_line(
        target: &Target,
        id: MessageId,
        time: UtcMillis,
        v1_line: &str,
        out: &mut String,
    ) {
        use fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = write!(out, "HIST {target} {id} {time} {v1_line}");
    }
}

#[cfg(test)]
mod tests;
