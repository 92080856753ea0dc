//! Names: [`Nick`] and [`Room`], their case-folded keys, and their length limits; and
//! [`Target`], the lobby, a nick or a room, as the target of a line.
//!
//! In scope: what a valid nick or room name is, and the identity two names share when they
//! differ only in case. A name is validated once, here, and then passed around as its type.
//!
//! Out of scope: the human texts of the faults and how they become `ERR` lines (`error`), and
//! where a name appears in a line (`command`, `reply`).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// Longest nick, in bytes (nicks are ASCII, so also in characters).
pub const MAX_NICK_LEN: usize = 32;

/// Longest room name, in characters after the `#` (room names are ASCII, so also in bytes).
pub const MAX_ROOM_LEN: usize = 48;

/// A valid nick: 1..=32 of `[A-Za-z0-9_-]`, starting with a letter. Keeps the case it was
/// given; compare nicks through [`Nick::key`] or [`Nick::cmp_key`].
///
/// Shared, not copied: a clone is a reference count, so the server can list thousands of
/// nicks under its table lock without allocating one string each (issue 13).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Nick(Arc<str>);

/// A nick folded to ASCII lower case: the identity of a nick in the client table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NickKey(String);

/// Why a nick was refused; its `Display` is the human text of `ERR BAD_NICK`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NickFault {
    Empty,
    TooLong,
    FirstNotLetter,
    BadCharacter,
}

impl Nick {
    pub fn parse(text: &str) -> Result<Nick, NickFault> {
        if text.is_empty() {
            return Err(NickFault::Empty);
        }
        if text.len() > MAX_NICK_LEN {
            return Err(NickFault::TooLong);
        }
        if !text.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(NickFault::FirstNotLetter);
        }
        if !text.bytes().all(is_name_byte) {
            return Err(NickFault::BadCharacter);
        }
        Ok(Nick(Arc::from(text)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> NickKey {
        NickKey(self.0.to_ascii_lowercase())
    }

    /// Calls `f` with the nick's key as a `&str` (a [`NickKey`] borrows as one), without
    /// allocating: a table keyed by [`NickKey`] is searched for every direct message.
    pub fn with_key<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        if !self.0.bytes().any(|b| b.is_ascii_uppercase()) {
            return f(&self.0);
        }
        let mut folded = [0u8; MAX_NICK_LEN];
        let folded = &mut folded[..self.0.len()];
        folded.copy_from_slice(self.0.as_bytes());
        folded.make_ascii_lowercase();
        f(std::str::from_utf8(folded).expect("a nick is ASCII"))
    }

    /// Orders two nicks as their keys do, without building the keys.
    pub fn cmp_key(&self, other: &Nick) -> Ordering {
        cmp_folded(&self.0, &other.0)
    }
}

/// Hashes and compares as its text, so a table keyed by it is searched with a `&str`
/// ([`Nick::with_key`]).
impl std::borrow::Borrow<str> for NickKey {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Nick {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room name as typed: `#` then 1..=48 of `[A-Za-z0-9_-]`. Keeps the case it was given;
/// compare room names through [`Room::key`] or [`Room::cmp_key`]. Shared like a [`Nick`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Room(Arc<str>);

/// A room name folded to ASCII lower case, `#` included: the identity of a room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomKey(String);

/// A word that is not a room name, as typed; its `Display` is the human text of
/// `ERR BAD_ROOM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRoomName(pub String);

impl Room {
    /// Refuses anything but `#` and 1..=[`MAX_ROOM_LEN`] of `[A-Za-z0-9_-]`.
    pub fn parse(text: &str) -> Result<Room, BadRoomName> {
        let valid = text.strip_prefix('#').is_some_and(|name| {
            (1..=MAX_ROOM_LEN).contains(&name.len()) && name.bytes().all(is_name_byte)
        });
        if valid {
            Ok(Room(Arc::from(text)))
        } else {
            Err(BadRoomName(text.to_owned()))
        }
    }

    /// The name as typed, `#` included.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> RoomKey {
        RoomKey(self.0.to_ascii_lowercase())
    }

    /// Orders two room names as their keys do, without building the keys.
    pub fn cmp_key(&self, other: &Room) -> Ordering {
        cmp_folded(&self.0, &other.0)
    }
}

impl RoomKey {
    /// The folded name, as a database row keys a room by it.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a line goes: the lobby (everyone, spelled `*`), one nick, or one room. Nicks never
/// start with `#` or `*`, so the word's first character tells the three apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    Lobby,
    Nick(Nick),
    Room(Room),
}

impl Target {
    /// How the lobby is spelled where a target goes.
    pub const LOBBY: &'static str = "*";
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Lobby => f.write_str(Target::LOBBY),
            Target::Nick(nick) => nick.fmt(f),
            Target::Room(room) => room.fmt(f),
        }
    }
}

/// Compares two names as their ASCII lower-case foldings compare (names are ASCII).
fn cmp_folded(a: &str, b: &str) -> Ordering {
    let a = a.bytes().map(|b| b.to_ascii_lowercase());
    a.cmp(b.bytes().map(|b| b.to_ascii_lowercase()))
}

/// The bytes a nick (after its first letter) and a room name (after its `#`) are made of.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nick(text: &str) -> Nick {
        Nick::parse(text).unwrap()
    }

    fn room(text: &str) -> Room {
        Room::parse(text).unwrap()
    }

    #[test]
    fn issue_14_a_nicks_borrowed_key_finds_what_its_key_was_stored_under() {
        use std::collections::HashMap;
        let long = "Z".repeat(MAX_NICK_LEN);
        for text in ["alice", "Alice", "ALICE-_9", long.as_str()] {
            let stored: HashMap<NickKey, u32> = [(nick(text).key(), 7)].into();
            let other_case = nick(&text.to_ascii_lowercase());
            assert_eq!(nick(text).with_key(|key| stored.get(key).copied()), Some(7));
            assert_eq!(other_case.with_key(|key| stored.get(key).copied()), Some(7));
            assert_eq!(nick(text).with_key(str::to_owned), nick(text).key().0);
        }
    }

    #[test]
    fn nicks() {
        let longest = "a".repeat(MAX_NICK_LEN);
        let too_long = "a".repeat(MAX_NICK_LEN + 1);
        for (text, expected) in [
            ("a-b_9", Ok(())),
            ("Z", Ok(())),
            (longest.as_str(), Ok(())),
            ("", Err(NickFault::Empty)),
            (too_long.as_str(), Err(NickFault::TooLong)),
            ("9lives", Err(NickFault::FirstNotLetter)),
            ("_x", Err(NickFault::FirstNotLetter)),
            ("émile", Err(NickFault::FirstNotLetter)),
            ("#room", Err(NickFault::FirstNotLetter)),
            ("has space", Err(NickFault::BadCharacter)),
            ("a.b", Err(NickFault::BadCharacter)),
        ] {
            let parsed = Nick::parse(text);
            assert_eq!(parsed.clone().map(|_| ()), expected, "{text:?}");
            if let Ok(parsed) = parsed {
                assert_eq!(parsed.as_str(), text);
                assert_eq!(parsed.to_string(), text);
            }
        }
    }

    #[test]
    fn nick_keys_ignore_case() {
        assert_eq!(nick("Alice").key(), nick("aLICE").key());
        assert_ne!(nick("Alice").key(), nick("Alicia").key());
    }

    #[test]
    fn issue_13_names_order_as_their_keys_without_building_them() {
        let names = ["a", "B", "b-", "Ab", "aB9", "z", "Z_", "a_", "a-"];
        for a in names {
            for b in names {
                assert_eq!(nick(a).cmp_key(&nick(b)), nick(a).key().cmp(&nick(b).key()));
                let (ra, rb) = (room(&format!("#{a}")), room(&format!("#{b}")));
                assert_eq!(ra.cmp_key(&rb), ra.key().cmp(&rb.key()), "{a} {b}");
            }
        }
    }

    #[test]
    fn room_names() {
        let longest = format!("#{}", "a".repeat(MAX_ROOM_LEN));
        for good in ["#a", "#A-b_9", "#9", "#_", "#-", longest.as_str()] {
            assert_eq!(room(good).as_str(), good);
            assert_eq!(room(good).to_string(), good);
        }
        let too_long = format!("#{}", "a".repeat(MAX_ROOM_LEN + 1));
        for bad in [
            "",
            "#",
            "a",
            "room",
            "##a",
            "#a.b",
            "#a b",
            "#a\t",
            "#é",
            "＃a",
            too_long.as_str(),
        ] {
            assert_eq!(
                Room::parse(bad),
                Err(BadRoomName(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn room_keys_ignore_case() {
        assert_eq!(room("#Rust").key(), room("#rUST").key());
        assert_ne!(room("#Rust").key(), room("#Rusty").key());
        assert_ne!(room("#Rust"), room("#rust"));
        assert!(room("#b").key() > room("#A").key());
    }
}
