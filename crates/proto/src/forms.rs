//! The forms of a server line by capability: which lines need which capability, and the v1
//! line that stands for one a client did not ask for. This is the rule that a client that
//! never sends `CAP` sees only v1 lines.
//!
//! In scope: [`Reply::capability`], [`Reply::without_capability`], [`Reply::form_for`],
//! [`Reply::carries_id`] and [`ACTION_PREFIX`]. Out of scope: the capabilities themselves (`caps`), and choosing a form
//! per recipient during a fan-out (the server's registry, with these functions).

use std::borrow::Cow;

use crate::caps::{CapSet, Capability};
use crate::names::Target;
use crate::reply::Reply;

/// What `/me ` puts before an action's text in the message that stands for it, for a client
/// without `CAP actions`.
pub const ACTION_PREFIX: &str = "/me ";

impl Reply {
    /// The capability a client must have turned on to get this line as it is, or `None` for a
    /// v1 line (and every other line) that any client may get.
    pub fn capability(&self) -> Option<Capability> {
        match self {
            Reply::Me { .. } => Some(Capability::Actions),
            Reply::Away { .. } => Some(Capability::Away),
            Reply::Owner { .. } => Some(Capability::Owner),
            Reply::Presence { .. } => Some(Capability::Presence),
            Reply::LobbyFile { .. } => Some(Capability::Files),
            _ => None,
        }
    }

    /// The line that stands for this one for a client without its [`Reply::capability`]:
    /// for an action, the message the same text would make, with [`ACTION_PREFIX`] before
    /// the text (`ALL <from> /me <text>`, `MSG <from> /me <text>`,
    /// `MSG #room <from> /me <text>`). `None` when such a client gets nothing (`AWAY`,
    /// `OWNER`, `PRESENCE`), and for a line that needs no capability.
    pub fn without_capability(&self) -> Option<Reply> {
        if let Reply::LobbyFile {
            from,
            size,
            url,
            name,
        } = self
        {
            return Some(Reply::File {
                from: from.clone(),
                size: *size,
                url: url.clone(),
                name: name.clone(),
            });
        }
        let Reply::Me { target, from, text } = self else {
            return None;
        };
        let from = from.clone();
        let text = format!("{ACTION_PREFIX}{text}");
        Some(match target {
            Target::Lobby => Reply::All { from, text },
            Target::Nick(_) => Reply::Msg { from, text },
            Target::Room(room) => Reply::RoomMsg {
                room: room.clone(),
                from,
                text,
            },
        })
    }

    /// Whether this line carries a message id to a client with `CAP ids`: the chat lines
    /// from another client (`ALL`, `MSG`, `MSG #room`, `ME`, whose `/me` message for a
    /// client without `CAP actions` is one of the others, and `FILE`). No other line ever
    /// does.
    pub fn carries_id(&self) -> bool {
        matches!(
            self,
            Reply::All { .. }
                | Reply::Msg { .. }
                | Reply::RoomMsg { .. }
                | Reply::Me { .. }
                | Reply::File { .. }
                | Reply::LobbyFile { .. }
                | Reply::RoomFile { .. }
        )
    }

    /// This line as a client with `caps` must get it: itself, the v1 line that stands for it,
    /// or nothing.
    pub fn form_for(&self, caps: CapSet) -> Option<Cow<'_, Reply>> {
        match self.capability() {
            Some(cap) if !caps.has(cap) => self.without_capability().map(Cow::Owned),
            _ => Some(Cow::Borrowed(self)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::{Nick, Room};

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    #[test]
    fn an_action_stands_as_the_message_its_text_would_make() {
        let me = |target| Reply::Me {
            target,
            from: nick("alice"),
            text: "waves  hi".to_owned(),
        };
        let room = Room::parse("#tea").unwrap();
        for (target, v1) in [
            (Target::Lobby, "ALL alice /me waves  hi"),
            (Target::Nick(nick("bob")), "MSG alice /me waves  hi"),
            (Target::Room(room), "MSG #tea alice /me waves  hi"),
        ] {
            let action = me(target);
            assert_eq!(action.capability(), Some(Capability::Actions));
            let fallback = action.without_capability().unwrap();
            assert_eq!(fallback.to_string(), v1);
            assert_eq!(fallback.capability(), None);
            let with = CapSet::NONE.with(Capability::Actions);
            assert_eq!(action.form_for(with).as_deref(), Some(&action));
            assert_eq!(action.form_for(CapSet::NONE).as_deref(), Some(&fallback));
        }
    }

    #[test]
    fn away_and_owner_lines_reach_only_clients_that_asked() {
        let room = Room::parse("#tea").unwrap();
        for (line, cap) in [
            (
                Reply::Away {
                    nick: nick("bob"),
                    text: "lunch".to_owned(),
                },
                Capability::Away,
            ),
            (
                Reply::Owner {
                    room,
                    nick: nick("bob"),
                },
                Capability::Owner,
            ),
            (
                Reply::Presence {
                    exact: false,
                    count: 1001,
                },
                Capability::Presence,
            ),
        ] {
            assert_eq!(line.capability(), Some(cap));
            assert_eq!(line.form_for(CapSet::NONE), None);
            let others = CapSet::NONE.with(Capability::Actions);
            assert_eq!(line.form_for(others), None);
            assert_eq!(line.form_for(others.with(cap)).as_deref(), Some(&line));
        }
        let v1 = Reply::EndHelp;
        assert_eq!(v1.form_for(CapSet::NONE).as_deref(), Some(&v1));
    }
}
