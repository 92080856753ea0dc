//! [`Line`]: one reply formatted for the wire, shared by all its recipients; and how a
//! delivery picks each recipient's line by the capabilities it turned on ([`LineFor`],
//! [`Forms`], and [`WithId`] for a chat line's message id).
//!
//! In scope: formatting a `Reply` once into the line every queue holds a reference to, once
//! per form when its spelling depends on capabilities. Out of scope: the wire spelling and
//! which line needs which capability (`chatd_proto`), queueing (`outbox`), writing
//! (`socket_io`), who the recipients are and when an id is taken (`registry`).

use std::cell::{OnceCell, RefCell};
use std::sync::Arc;

use chatd_proto::{CapSet, Capability, MessageId, Reply};

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
    line_written_by(|buffer| reply.write_line(buffer))
}

/// The line `write` appends to an empty buffer, `\n` included: for a line written from
/// borrowed parts (`Reply::write_chat_line`), without building its `Reply`.
pub fn line_written_by(write: impl FnOnce(&mut String)) -> Line {
    LINE_BUFFER.with_borrow_mut(|buffer| {
        buffer.clear();
        write(buffer);
        Arc::from(buffer.as_str())
    })
}

/// What a delivery queues for each recipient: the fan-out loops ask it for the line of one
/// recipient, given that recipient's capabilities.
///
/// This is the one place where a line's form is chosen per recipient (the `ME` line or the
/// `/me` message, `OWNER` or nothing, and with message ids a line with or without its id).
/// Every form is formatted before the loop, once; the loop only picks an `Arc`. A plain
/// [`Line`] is the same for everyone: its `line_for` ignores the capabilities and compiles
/// away, so the loops for v1 lines (`ALL`, `MSG #room`) are exactly as before.
pub trait LineFor {
    /// The line for a recipient with `caps`, or `None` when it gets nothing.
    fn line_for(&self, caps: CapSet) -> Option<&Line>;
}

impl LineFor for Line {
    #[inline]
    fn line_for(&self, _caps: CapSet) -> Option<&Line> {
        Some(self)
    }
}

/// A reply whose spelling depends on the recipient's capabilities, formatted once per form:
/// the reply itself for recipients with the capability it needs, and the line that stands
/// for it (if any) for the others.
pub struct Forms {
    /// What a recipient needs to get `line`; `None` for a line everyone gets.
    needs: Option<Capability>,
    line: Line,
    /// For a recipient without `needs`: the v1 line standing for `line`, or nothing.
    fallback: Option<Line>,
}

impl Forms {
    pub fn new(reply: &Reply) -> Forms {
        Forms {
            needs: reply.capability(),
            line: shared_line(reply),
            fallback: reply.without_capability().map(|v1| shared_line(&v1)),
        }
    }
}

impl LineFor for Forms {
    fn line_for(&self, caps: CapSet) -> Option<&Line> {
        self.form(caps).map(|(_, line)| line)
    }
}

/// A chat line (`ALL`, `MSG`, `MSG #room`, `ME`) before its id is known: the registry takes
/// the id under the lock that orders the line, and delivers it [`WithId`].
pub trait ChatLine {
    /// The form for a recipient with `caps`, ids aside, and its slot among the line's forms
    /// (below [`CHAT_FORMS`]), or `None` when it gets nothing.
    fn form(&self, caps: CapSet) -> Option<(usize, &Line)>;

    /// The form a client without capabilities gets, as a history keeps the line: the v1
    /// line (`ALL`, `MSG #room`, an action's `/me` message).
    fn v1(&self) -> Option<&Line> {
        self.form(CapSet::NONE).map(|(_, line)| line)
    }
}

/// The most forms of a chat line without its id: an action's `ME` line and its `/me` message.
const CHAT_FORMS: usize = 2;

impl ChatLine for Line {
    #[inline]
    fn form(&self, _caps: CapSet) -> Option<(usize, &Line)> {
        Some((0, self))
    }
}

impl ChatLine for Forms {
    fn form(&self, caps: CapSet) -> Option<(usize, &Line)> {
        match self.needs {
            Some(cap) if !caps.has(cap) => self.fallback.as_ref().map(|line| (1, line)),
            _ => Some((0, &self.line)),
        }
    }
}

/// A chat line with its message id: a recipient with `CAP ids` gets its form with the id
/// (`@<id> <line>`), the others the form as it is. Each form with the id is formatted the
/// first time a recipient needs it, so a delivery formats it once, never per recipient, and
/// not at all when no recipient asked for ids.
pub struct WithId<'a, L> {
    line: &'a L,
    id: MessageId,
    stamped: [OnceCell<Line>; CHAT_FORMS],
}

impl<'a, L: ChatLine> WithId<'a, L> {
    pub fn new(line: &'a L, id: MessageId) -> WithId<'a, L> {
        WithId {
            line,
            id,
            stamped: Default::default(),
        }
    }
}

impl<L: ChatLine> LineFor for WithId<'_, L> {
    #[inline]
    fn line_for(&self, caps: CapSet) -> Option<&Line> {
        let (slot, line) = self.line.form(caps)?;
        if !caps.has(Capability::Ids) {
            return Some(line);
        }
        Some(self.stamped[slot].get_or_init(|| with_id(self.id, line)))
    }
}

/// `line` (a formatted chat line) with the id `id` before it, for a recipient with `CAP ids`.
pub fn with_id(id: MessageId, line: &str) -> Line {
    line_written_by(|buffer| id.write_line(line, buffer))
}

/// The line of `reply` for one recipient with `caps`, or `None` when it gets nothing: as
/// [`Forms`] picks, but formatting only the form that recipient gets.
pub fn line_for_one(reply: &Reply, caps: CapSet) -> Option<Line> {
    reply.form_for(caps).map(|form| shared_line(&form))
}

/// The line of the chat line `reply` with the id `id` for one recipient with `caps`: as
/// [`line_for_one`] picks, with `@<id> ` before it if the recipient has `CAP ids`, formatted
/// in one go.
pub fn chat_line_for_one(reply: &Reply, id: MessageId, caps: CapSet) -> Option<Line> {
    let form = reply.form_for(caps)?;
    if !caps.has(Capability::Ids) {
        return Some(shared_line(&form));
    }
    Some(line_written_by(|buffer| id.write_reply_line(&form, buffer)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatd_proto::{Nick, Room, Target};

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    #[test]
    fn each_recipient_gets_the_form_its_capabilities_call_for() {
        let actions = CapSet::NONE.with(Capability::Actions);
        let owner = CapSet::NONE.with(Capability::Owner);
        let action = Reply::Me {
            target: Target::Lobby,
            from: nick("ann"),
            text: "waves".to_owned(),
        };
        let forms = Forms::new(&action);
        let v1 = forms.line_for(CapSet::NONE).unwrap();
        let with_cap = forms.line_for(actions).unwrap();
        assert_eq!(&**v1, "ALL ann /me waves\n");
        assert_eq!(&**with_cap, "ME * ann waves\n");
        // Formatted once: every recipient of a form shares its one allocation.
        assert!(Arc::ptr_eq(v1, forms.line_for(owner).unwrap()));
        assert!(Arc::ptr_eq(
            with_cap,
            forms.line_for(actions.with(Capability::Away)).unwrap()
        ));
        assert_eq!(
            line_for_one(&action, actions).as_deref(),
            Some("ME * ann waves\n")
        );

        let change = Reply::Owner {
            room: Room::parse("#tea").unwrap(),
            nick: nick("bob"),
        };
        let forms = Forms::new(&change);
        assert_eq!(forms.line_for(actions), None);
        assert_eq!(
            forms.line_for(owner).map(|l| &**l),
            Some("OWNER #tea bob\n")
        );
        assert_eq!(line_for_one(&change, CapSet::NONE), None);

        let plain: Line = shared_line(&Reply::EndWho);
        assert!(Arc::ptr_eq(plain.line_for(CapSet::NONE).unwrap(), &plain));
        let forms = Forms::new(&Reply::EndWho);
        assert_eq!(
            forms.line_for(CapSet::NONE).map(|l| &**l),
            Some("END WHO\n")
        );
    }

    #[test]
    fn a_chat_line_carries_its_id_to_ids_clients_only_formatted_once_per_form() {
        let ids = CapSet::NONE.with(Capability::Ids);
        let actions = CapSet::NONE.with(Capability::Actions);
        let id = MessageId::new(1042).unwrap();

        let all: Line = Arc::from("ALL ann hi\n");
        let line = WithId::new(&all, id);
        assert!(Arc::ptr_eq(line.line_for(CapSet::NONE).unwrap(), &all));
        assert!(Arc::ptr_eq(line.line_for(actions).unwrap(), &all));
        assert!(
            line.stamped.iter().all(|form| form.get().is_none()),
            "no id form until a recipient has CAP ids"
        );
        let stamped = line.line_for(ids).unwrap();
        assert_eq!(&**stamped, "@1042 ALL ann hi\n");
        assert!(Arc::ptr_eq(
            stamped,
            line.line_for(ids.with(Capability::Away)).unwrap()
        ));

        let action = Forms::new(&Reply::Me {
            target: Target::Room(Room::parse("#tea").unwrap()),
            from: nick("ann"),
            text: "waves".to_owned(),
        });
        let line = WithId::new(&action, id);
        for (caps, expected) in [
            (CapSet::NONE, "MSG #tea ann /me waves\n"),
            (actions, "ME #tea ann waves\n"),
            (ids, "@1042 MSG #tea ann /me waves\n"),
            (ids.with(Capability::Actions), "@1042 ME #tea ann waves\n"),
        ] {
            assert_eq!(line.line_for(caps).map(|l| &**l), Some(expected));
        }
        assert!(Arc::ptr_eq(
            line.line_for(ids).unwrap(),
            line.line_for(ids.with(Capability::Owner)).unwrap()
        ));

        let direct = Reply::Me {
            target: Target::Nick(nick("bob")),
            from: nick("ann"),
            text: "nods".to_owned(),
        };
        assert_eq!(
            chat_line_for_one(&direct, id, ids).as_deref(),
            Some("@1042 MSG ann /me nods\n")
        );
        assert_eq!(
            chat_line_for_one(&direct, id, actions).as_deref(),
            Some("ME bob ann nods\n")
        );
        assert_eq!(&*with_id(id, "MSG ann hi\n"), "@1042 MSG ann hi\n");
    }
}
