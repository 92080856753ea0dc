//! [`Entry`]: one line of a conversation's history, as the memory ring and the store both
//! hold it, and [`now`], the time a line is recorded with.
//!
//! Its own file because both `history` (the rings) and `store` (the database) use it, and
//! the rings use the store. Out of scope: keeping and paging entries (`history`), writing
//! and reading them (`store`).

use std::time::{SystemTime, UNIX_EPOCH};

use chatd_proto::{MessageId, UtcMillis};

use crate::server::line::Line;

/// One line of a history.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: MessageId,
    /// When the line was queued for its recipients.
    pub time: UtcMillis,
    /// The line as a client without capabilities got it (`ALL`, `MSG #room`, and for an
    /// action its `/me` form), `\n` included, without its id.
    pub line: Line,
    /// Whether the line went to the store (a full store channel refuses lines).
    pub stored: bool,
}

/// The time to record a line with: now, to the millisecond.
pub fn now() -> UtcMillis {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        });
    UtcMillis::saturating(millis)
}
