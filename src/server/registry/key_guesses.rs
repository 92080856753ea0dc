//! The throttle on room key guesses (issue 13): a connection may give
//! [`WRONG_KEYS_PER_CONNECTION`] wrong keys, and all connections of one address group
//! [`WRONG_KEYS_PER_ADDRESS`], in a window of [`WINDOW`] from the first; then every `JOIN`
//! that needs a key is `TOO_MANY_ATTEMPTS` until that window has passed.
//!
//! In scope: counting wrong keys over time ([`WrongKeys`]), per address group
//! ([`AddressWrongKeys`], kept in the client table, so that checking and counting a guess
//! happen under the one write lock every `JOIN` takes), and the [`KeyGuesses`] a `JOIN`
//! consults. Out of scope: when a key decides (`rooms`) and admission (`admission`, whose
//! [`AddressGroup`] this counts by). Loopback addresses are limited too: nothing legitimate
//! guesses keys at that rate.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::server::admission::AddressGroup;
use crate::server::rooms::KeyGuesses;

/// Wrong keys one connection may give in a window.
pub const WRONG_KEYS_PER_CONNECTION: u32 = 5;
/// Wrong keys all connections of one address group may give in a window, together: enough
/// for a few people behind one NAT address who mistype, few enough that opening more
/// connections does not buy more guesses.
pub const WRONG_KEYS_PER_ADDRESS: u32 = 20;
/// The window, counted from its first wrong key.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The wrong keys of one connection, or of one address group, in the current window.
#[derive(Debug, Default, Clone, Copy)]
pub struct WrongKeys {
    /// When the window began: its first wrong key. `None` before any.
    since: Option<Instant>,
    count: u32,
}

impl WrongKeys {
    /// How long until a guess is allowed again, given at most `limit` wrong keys a window;
    /// `None` if one is allowed at `now`.
    fn refused_for(&self, limit: u32, now: Instant) -> Option<Duration> {
        let end = self.since? + WINDOW;
        (self.count >= limit && now < end).then(|| end - now)
    }

    fn count(&mut self, now: Instant) {
        match self.since {
            Some(since) if now < since + WINDOW => self.count += 1,
            _ => {
                self.since = Some(now);
                self.count = 1;
            }
        }
    }

    fn expired(&self, now: Instant) -> bool {
        self.since.is_none_or(|since| now >= since + WINDOW)
    }
}

/// The wrong keys of every address group that gave one lately. Bounded: windows that have
/// passed are dropped whenever the map has doubled since the last sweep.
#[derive(Debug, Default)]
pub struct AddressWrongKeys {
    groups: HashMap<AddressGroup, WrongKeys>,
    /// Sweep the expired windows when the map reaches this many entries.
    sweep_at: usize,
}

impl AddressWrongKeys {
    fn refused_for(&self, group: AddressGroup, now: Instant) -> Option<Duration> {
        self.groups
            .get(&group)?
            .refused_for(WRONG_KEYS_PER_ADDRESS, now)
    }

    fn count(&mut self, group: AddressGroup, now: Instant) {
        if self.groups.len() >= self.sweep_at {
            self.groups.retain(|_, wrong| !wrong.expired(now));
            self.sweep_at = (2 * self.groups.len()).max(64);
        }
        self.groups.entry(group).or_default().count(now);
    }
}

/// What a `JOIN` brings to be throttled: its address group and its connection's record.
pub struct Guesser<'a> {
    pub group: AddressGroup,
    pub wrong_keys: &'a mut WrongKeys,
}

/// The throttle one `JOIN` consults: its connection's record and its address group's.
pub struct JoinGuesses<'a> {
    pub guesser: Guesser<'a>,
    pub addresses: &'a mut AddressWrongKeys,
}

impl KeyGuesses for JoinGuesses<'_> {
    fn refused_for(&self) -> Option<Duration> {
        let now = Instant::now();
        let own = self
            .guesser
            .wrong_keys
            .refused_for(WRONG_KEYS_PER_CONNECTION, now);
        own.max(self.addresses.refused_for(self.guesser.group, now))
    }

    fn wrong(&mut self) {
        let now = Instant::now();
        self.guesser.wrong_keys.count(now);
        self.addresses.count(self.guesser.group, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn group(n: u16) -> AddressGroup {
        let [high, low] = n.to_be_bytes();
        AddressGroup::of(IpAddr::V4(Ipv4Addr::new(10, 0, high, low)))
    }

    #[test]
    fn a_window_refuses_after_its_limit_until_it_has_passed() {
        let start = Instant::now();
        let mut wrong = WrongKeys::default();
        assert_eq!(wrong.refused_for(2, start), None);
        wrong.count(start);
        let later = start + Duration::from_secs(10);
        wrong.count(later);
        assert_eq!(wrong.refused_for(2, later), Some(Duration::from_secs(50)));
        assert_eq!(wrong.refused_for(3, later), None);
        let end = start + WINDOW;
        assert_eq!(wrong.refused_for(2, end), None, "the window has passed");
        wrong.count(end);
        assert_eq!(
            wrong.refused_for(2, end),
            None,
            "a new window, one wrong key"
        );
    }

    #[test]
    fn an_address_group_counts_its_connections_together_and_old_windows_go() {
        let start = Instant::now();
        let mut addresses = AddressWrongKeys::default();
        for _ in 0..WRONG_KEYS_PER_ADDRESS {
            assert_eq!(addresses.refused_for(group(1), start), None);
            addresses.count(group(1), start);
        }
        assert!(addresses.refused_for(group(1), start).is_some());
        assert_eq!(addresses.refused_for(group(2), start), None);
        for last in 2..200 {
            addresses.count(group(last), start);
        }
        // Once their window has passed, the next sweep (the map doubled since the last,
        // at 256 entries here) drops them all.
        let later = start + WINDOW;
        for last in 200..=260 {
            addresses.count(group(last), later);
        }
        assert!(addresses.groups.len() <= 61, "{}", addresses.groups.len());
        assert!(!addresses.groups.contains_key(&group(1)));
        assert_eq!(addresses.refused_for(group(1), later), None);
    }

    #[test]
    fn a_join_is_refused_by_its_connection_or_by_its_address() {
        let mut addresses = AddressWrongKeys::default();
        let mut own = WrongKeys::default();
        let mut join = JoinGuesses {
            guesser: Guesser {
                group: group(1),
                wrong_keys: &mut own,
            },
            addresses: &mut addresses,
        };
        for _ in 0..WRONG_KEYS_PER_CONNECTION {
            assert_eq!(join.refused_for(), None);
            join.wrong();
        }
        assert!(join.refused_for().is_some());
        let mut fresh = WrongKeys::default();
        let mut other = JoinGuesses {
            guesser: Guesser {
                group: group(1),
                wrong_keys: &mut fresh,
            },
            addresses: &mut addresses,
        };
        assert_eq!(other.refused_for(), None, "another connection");
        for _ in WRONG_KEYS_PER_CONNECTION..WRONG_KEYS_PER_ADDRESS {
            other.wrong();
        }
        let mut third = WrongKeys::default();
        let from_same_address = JoinGuesses {
            guesser: Guesser {
                group: group(1),
                wrong_keys: &mut third,
            },
            addresses: &mut addresses,
        };
        assert!(from_same_address.refused_for().is_some());
    }
}
