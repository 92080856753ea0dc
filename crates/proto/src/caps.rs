//! Capabilities: the extensions a connection turns on with `CAP <name>`, and the set of them a
//! connection holds.
//!
//! In scope: [`Capability`] (the names, spelled here only) and [`CapSet`] (a bit set, no
//! allocation, so a server can keep one per client and test it per recipient).
//!
//! Out of scope: which line needs which capability (`forms`), turning a capability on (the
//! server's session) and where each line goes (the server's registry).

use std::fmt;

/// An extension a client turns on with `CAP <name>`, for as long as its connection lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Capability {
    // The discriminant is the capability's bit in a `CapSet`.
    /// Actions arrive as `ME <target> <from> <text>` instead of messages starting `/me `.
    Actions,
    /// The sender of a direct `MSG` or `ME` to an away client gets `AWAY <nick> <text>`.
    Away,
    /// A member gets `OWNER #room <nick>` after joining and when the owner changes.
    Owner,
    /// The client is told how presence is kept (`PRESENCE EXACT <n>` or `PRESENCE COUNT <n>`)
    /// after registering and whenever that changes, and the count while it is counted.
    Presence,
    /// Chat lines from other clients (`ALL`, `MSG`, `MSG #room`, `ME`) arrive as `@<id> `
    /// followed by the v1 line.
    Ids,
    /// A file sent to everyone arrives as `FILE * <from> <size> <url> <name>`, so it is told
    /// from a direct one; without it, as the contract's `FILE <from> ...`, the same as a
    /// direct file.
    Files,
}

impl Capability {
    /// Every capability, in the order protocol.md lists them.
    pub const ALL: [Capability; 6] = [
        Capability::Actions,
        Capability::Away,
        Capability::Owner,
        Capability::Presence,
        Capability::Ids,
        Capability::Files,
    ];

    /// The name, in lower case, as `CAP` and `OK CAP` spell it.
    pub fn name(self) -> &'static str {
        match self {
            Capability::Actions => "actions",
            Capability::Away => "away",
            Capability::Owner => "owner",
            Capability::Presence => "presence",
            Capability::Ids => "ids",
            Capability::Files => "files",
        }
    }

    /// The capability called `name`, ignoring ASCII case; `None` for any other word.
    pub fn parse(name: &str) -> Option<Capability> {
        Capability::ALL
            .into_iter()
            .find(|cap| cap.name().eq_ignore_ascii_case(name))
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The capabilities one connection has turned on: one bit each, `Copy`, no allocation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CapSet(u8);

// Every capability has a bit of its own in the `u8`.
const _: () = assert!(Capability::ALL.len() <= u8::BITS as usize);

impl CapSet {
    /// No capability: a v1 client.
    pub const NONE: CapSet = CapSet(0);

    /// This set with `cap` turned on too.
    #[must_use]
    pub fn with(self, cap: Capability) -> CapSet {
        CapSet(self.0 | cap.bit())
    }

    pub fn has(self, cap: Capability) -> bool {
        self.0 & cap.bit() != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_in_any_case_and_nothing_else_is_a_capability() {
        for cap in Capability::ALL {
            assert_eq!(Capability::parse(cap.name()), Some(cap));
            assert_eq!(Capability::parse(&cap.name().to_uppercase()), Some(cap));
            assert!(cap.name().bytes().all(|b| b.is_ascii_lowercase()));
        }
        for word in ["", "id", "idss", "action", "awayy", " away", "owner "] {
            assert_eq!(Capability::parse(word), None, "{word:?}");
        }
    }

    #[test]
    fn a_set_holds_what_was_turned_on_and_nothing_else() {
        let set = CapSet::NONE.with(Capability::Away);
        assert!(set.has(Capability::Away));
        assert!(!set.has(Capability::Actions) && !set.has(Capability::Owner));
        let all = Capability::ALL.into_iter().fold(CapSet::NONE, CapSet::with);
        assert!(Capability::ALL.into_iter().all(|cap| all.has(cap)));
        assert_eq!(
            all.with(Capability::Owner),
            all,
            "turning on twice changes nothing"
        );
        assert_eq!(CapSet::default(), CapSet::NONE);
    }
}
