//! [`Line`]: one reply formatted for the wire, shared by all its recipients.
//!
//! In scope: formatting a `Reply` once into the line every queue holds a reference to. Out of
//! scope: the wire spelling (`chatd_proto`), queueing (`outbox`) and writing (`socket_io`).

use std::cell::RefCell;
use std::sync::Arc;

use chatd_proto::Reply;

/// A line ready for the wire, `\n` included. Shared by every recipient of a broadcast, so a
/// delivery costs a reference count, not a copy.
pub type Line = Arc<str>;

thread_local! {
    /// Each worker formats into one reused buffer, so a line costs one allocation (its
    /// `Arc`), not a `String` grown piece by piece and then copied.
    static LINE_BUFFER: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Formats a reply once, into the line every recipient shares.
pub fn shared_line(reply: &Reply) -> Line {
    LINE_BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        reply.write_line(buffer);
        Arc::from(buffer.as_str())
    })
}
