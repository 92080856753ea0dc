//! The lobby's presence in a big lobby (`--presence-limit`, issue 14): whether a registration,
//! a rename or a departure is announced to everyone, and what clients with `CAP presence` are
//! told instead once it is not.
//!
//! In scope: the rule, as a small state machine the registry drives under its write lock
//! ([`Presence`]), pure and unit-tested. Out of scope: the pushes (the registry's methods),
//! the lines' forms (`chatd_proto`).
//!
//! Every registration announced to every registered client costs a line per client: a
//! reconnect storm of 10,000 clients queued 50 million `JOIN`s. Above the limit nobody reads
//! them, so they stop: the lobby is *counted*, and clients with `CAP presence` get
//! `PRESENCE COUNT <n>` when that starts and at most once a second while the count changes.
//! Rooms keep exact presence: a departure or a rename is still told to everyone who shares a
//! room with the client. Below nine tenths of the limit the lobby is *exact* again
//! (`PRESENCE EXACT <n>`: refresh the list with `WHO`); the gap keeps a lobby that hovers
//! around the limit from switching, and every `CAP presence` client from re-reading the
//! whole list, at each registration.

use std::time::{Duration, Instant};

use chatd_proto::Reply;

/// How often a counted lobby's clients are told the count, at most.
pub const COUNT_EVERY: Duration = Duration::from_secs(1);

/// What a change of the table tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tell {
    /// The lobby is exact: announce it (`JOIN`, `NICK`, `QUIT`) to everyone.
    Everyone,
    /// The lobby is counted: tell the clients that share a room with it (a rename or a
    /// departure; a registration shares no room yet).
    RoomsOnly,
    /// The lobby has just switched: this line to the clients with `CAP presence`, and the
    /// change itself as in the mode switched to ([`Tell::RoomsOnly`] for both directions:
    /// the change belongs to the counted side).
    Switched(Reply),
}

/// The lobby's mode and what its `CAP presence` clients were last told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// 0: always exact.
    limit: usize,
    counted: bool,
    /// The count last told, and when.
    told: usize,
    told_at: Option<Instant>,
}

impl Presence {
    pub fn new(limit: usize) -> Presence {
        Presence {
            limit,
            counted: false,
            told: 0,
            told_at: None,
        }
    }

    /// A registration made `count` clients.
    pub fn joined(&mut self, count: usize, now: Instant) -> Tell {
        if self.counted {
            return Tell::RoomsOnly;
        }
        if self.limit == 0 || count <= self.limit {
            return Tell::Everyone;
        }
        self.counted = true;
        Tell::Switched(self.tell(count, now))
    }

    /// A departure left `count` clients.
    pub fn left(&mut self, count: usize, now: Instant) -> Tell {
        if !self.counted {
            return Tell::Everyone;
        }
        if count > self.low_water() {
            return Tell::RoomsOnly;
        }
        self.counted = false;
        Tell::Switched(self.tell(count, now))
    }

    /// A rename: told to everyone in an exact lobby, to its rooms in a counted one.
    pub fn renamed(&self) -> Tell {
        if self.counted {
            Tell::RoomsOnly
        } else {
            Tell::Everyone
        }
    }

    /// The line for a client that turns `CAP presence` on or registers with it, `count`
    /// clients being registered.
    pub fn current(&self, count: usize) -> Reply {
        Reply::Presence {
            exact: !self.counted,
            count: clamp(count),
        }
    }

    /// In a counted lobby, `PRESENCE COUNT <count>` if the count changed since it was last
    /// told and that was at least [`COUNT_EVERY`] ago.
    pub fn tick(&mut self, count: usize, now: Instant) -> Option<Reply> {
        let due = self
            .told_at
            .is_none_or(|at| now.saturating_duration_since(at) >= COUNT_EVERY);
        if !self.counted || count == self.told || !due {
            return None;
        }
        Some(self.tell(count, now))
    }

    /// Whether the lobby is counted now.
    pub fn is_counted(&self) -> bool {
        self.counted
    }

    /// At or below this, a counted lobby is exact again.
    fn low_water(&self) -> usize {
        self.limit - self.limit / 10
    }

    fn tell(&mut self, count: usize, now: Instant) -> Reply {
        self.told = count;
        self.told_at = Some(now);
        self.current(count)
    }
}

fn clamp(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(exact: bool, count: u32) -> Tell {
        Tell::Switched(Reply::Presence { exact, count })
    }

    #[test]
    fn issue_14_exact_up_to_the_limit_counted_above_exact_again_below_nine_tenths() {
        let now = Instant::now();
        let mut presence = Presence::new(10);
        for n in 1..=10 {
            assert_eq!(presence.joined(n, now), Tell::Everyone, "{n}");
        }
        assert_eq!(presence.renamed(), Tell::Everyone);
        assert_eq!(presence.joined(11, now), count(false, 11));
        assert!(presence.is_counted());
        assert_eq!(presence.joined(12, now), Tell::RoomsOnly);
        assert_eq!(presence.renamed(), Tell::RoomsOnly);
        // Hovering around the limit switches nothing.
        for n in [11, 10, 10] {
            assert_eq!(presence.left(n, now), Tell::RoomsOnly, "{n}");
            assert_eq!(presence.joined(n + 1, now), Tell::RoomsOnly, "{n}");
        }
        assert_eq!(presence.left(10, now), Tell::RoomsOnly);
        assert_eq!(presence.left(9, now), count(true, 9));
        assert!(!presence.is_counted());
        assert_eq!(presence.left(8, now), Tell::Everyone);
        assert_eq!(
            presence.current(8),
            Reply::Presence {
                exact: true,
                count: 8
            }
        );
    }

    #[test]
    fn issue_14_a_limit_of_0_always_announces() {
        let now = Instant::now();
        let mut presence = Presence::new(0);
        assert_eq!(presence.joined(100_000, now), Tell::Everyone);
        assert_eq!(presence.left(1, now), Tell::Everyone);
        assert_eq!(presence.tick(5, now), None);
    }

    #[test]
    fn issue_14_a_counted_lobby_is_told_its_count_at_most_once_a_second_when_it_changes() {
        let start = Instant::now();
        let mut presence = Presence::new(2);
        assert_eq!(presence.joined(3, start), count(false, 3));
        // Told just now.
        assert_eq!(presence.tick(4, start), None);
        let later = start + COUNT_EVERY;
        assert_eq!(
            presence.tick(4, later),
            Some(Reply::Presence {
                exact: false,
                count: 4
            })
        );
        // Unchanged: nothing, however long since.
        assert_eq!(presence.tick(4, later + COUNT_EVERY * 5), None);
        assert_eq!(
            presence.current(4),
            Reply::Presence {
                exact: false,
                count: 4
            }
        );
    }
}
