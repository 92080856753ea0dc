//! The `@<id> <v1 line>` form of a chat line as a [`Reply`]: written from one
//! ([`MessageId::write_reply_line`]) and split off a server line ([`Reply::parse_with_id`]).
//!
//! Out of scope: the id itself and the form of a formatted line (`message_id`), which lines
//! carry an id ([`Reply::carries_id`], in `forms`), and who gets which form (the server).

use crate::error::ProtocolError;
use crate::message_id::{ID_MARK, MessageId};
use crate::reply::Reply;

impl MessageId {
    /// Appends `reply`'s line with this id, ending included, as [`MessageId::write_line`]
    /// would for the formatted reply, without formatting it apart first.
    pub fn write_reply_line(self, reply: &Reply, out: &mut String) {
        self.write_prefix(out);
        reply.write_line(out);
    }
}

impl Reply {
    /// Parses one server line (without its ending) of a connection that may have turned on
    /// `CAP ids`: an optional `@<id> ` prefix, then the line as [`Reply::parse`] reads it.
    /// The prefix must be `@`, a valid [`MessageId`] and one space, and only a line that
    /// [`Reply::carries_id`] may have it; anything else is an error, as a malformed line is.
    pub fn parse_with_id(line: &str) -> Result<(Option<MessageId>, Reply), ProtocolError> {
        let Some(stamped) = line.strip_prefix(ID_MARK) else {
            return Ok((None, Reply::parse(line)?));
        };
        let malformed = || ProtocolError::UnknownCommand(line.to_owned());
        let (digits, rest) = stamped.split_once(' ').ok_or_else(malformed)?;
        let id = MessageId::parse(digits).ok_or_else(malformed)?;
        let reply = Reply::parse(rest)?;
        if !reply.carries_id() {
            return Err(malformed());
        }
        Ok((Some(id), reply))
    }
}

#[cfg(test)]
mod tests;
