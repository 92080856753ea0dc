//! Message ids: [`MessageId`], and the `@<id> ` prefix a chat line carries to a client with
//! `CAP ids`, written onto a formatted line.
//!
//! In scope: the id's range (positive, below 2^53, so it survives a JSON number or a
//! JavaScript client), its spelling, and the wire form `@<id> <v1 line>` of a formatted line
//! ([`MessageId::write_line`]). The same form from and to a `Reply` is in `id_line`, so this
//! file, which `reply` uses, uses no reply.
//! Out of scope: handing ids out (the server's id source), which lines carry one
//! (`Reply::carries_id`, in `forms`), and who gets which form (the server's registry).

use std::fmt;

/// The id of one chat line: the same at every recipient, never reused. Positive and below
/// 2^53, so every client language holds it exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(u64);

impl MessageId {
    /// The largest id: 2^53 - 1.
    pub const MAX: MessageId = MessageId((1 << 53) - 1);

    /// The id `value`, or `None` for 0 and for values from 2^53 on.
    pub const fn new(value: u64) -> Option<MessageId> {
        if value == 0 || value > MessageId::MAX.0 {
            None
        } else {
            Some(MessageId(value))
        }
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id spelled in decimal, as `@<id>` has it: ASCII digits only, no sign and no
    /// leading zero, so each id has one spelling. `None` for anything else.
    pub fn parse(digits: &str) -> Option<MessageId> {
        let canonical = !digits.is_empty()
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        if !canonical {
            return None;
        }
        digits.parse().ok().and_then(MessageId::new)
    }

    /// Appends the line a client with `CAP ids` gets for the formatted line `v1_line`:
    /// `@<id> ` and then `v1_line` as it is (its ending included, if it has one).
    pub fn write_line(self, v1_line: &str, out: &mut String) {
        self.write_prefix(out);
        out.push_str(v1_line);
    }

    pub(crate) fn write_prefix(self, out: &mut String) {
        use fmt::Write as _;
        // Writing to a String cannot fail.
        let _ = write!(out, "{ID_MARK}{self} ");
    }
}

/// What starts a line that carries an id.
pub(crate) const ID_MARK: char = '@';

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}
