//! The connect-rate limit (`--connect-rate`): how often one address group may open a
//! connection, whether or not its earlier ones are still open.
//!
//! In scope: one token bucket per address group, kept as the time its bucket will be full
//! again (the generic cell rate algorithm: one `Instant` per group, no refill arithmetic), and
//! forgetting groups whose bucket is full, so that memory follows the recent connects only.
//! Out of scope: which addresses are limited (`Config::connect_rate_limit`) and telling a
//! refused client why (`acceptor`). Pure: the caller passes the time in.
//!
//! Why it is not the open-connection count: a client that connects and closes in a loop never
//! has more than one connection open, yet each accept costs the server a thread start.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::server::admission::AddressGroup;

/// The burst, in seconds of the rate: a group may open `2 x --connect-rate` connections at
/// once before the rate applies.
pub const BURST_SECONDS: u32 = 2;

/// Groups kept before the first sweep of the full buckets.
const FIRST_SWEEP_AT: usize = 64;

/// The acceptor's connect-rate state. Only the acceptor thread admits, so no lock.
#[derive(Debug, Default)]
pub struct ConnectRate {
    /// Per group, when its bucket holds a whole burst again: each connect moves it one
    /// interval (1 / rate) later, starting from now if it was in the past. A group whose time
    /// has passed is as good as absent, and is removed by the next sweep.
    full_at: HashMap<AddressGroup, Instant>,
    /// The map's size after the last sweep; the next one comes when it has doubled, so the
    /// sweeps cost O(1) per connect.
    swept_len: usize,
}

impl ConnectRate {
    /// Whether `group` may open one more connection at `now` under `per_second` (at least 1)
    /// with a burst of [`BURST_SECONDS`] of it; if so, the connection is counted.
    pub fn admit(&mut self, group: AddressGroup, per_second: u32, now: Instant) -> bool {
        let per_second = per_second.max(1);
        let interval = Duration::from_secs(1) / per_second;
        let burst = per_second.saturating_mul(BURST_SECONDS);
        // A bucket is full `burst` intervals after its last connect at the latest: one more
        // connect fits while at most `burst - 1` intervals are still to come.
        let tolerance = interval * (burst - 1);
        let full_at = self
            .full_at
            .get(&group)
            .copied()
            .filter(|&at| at > now)
            .unwrap_or(now);
        if full_at.saturating_duration_since(now) > tolerance {
            return false;
        }
        self.full_at.insert(group, full_at + interval);
        if self.full_at.len() >= FIRST_SWEEP_AT.max(2 * self.swept_len) {
            self.full_at.retain(|_, at| *at > now);
            self.swept_len = self.full_at.len();
        }
        true
    }

    /// Groups remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.full_at.len()
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

    fn group(last: u8) -> AddressGroup {
        AddressGroup::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
    }

    #[test]
    fn issue_13_a_burst_then_the_rate_whatever_closes_in_between() {
        let start = Instant::now();
        let mut rate = ConnectRate::default();
        let admitted = (0..30).filter(|_| rate.admit(group(1), 10, start)).count();
        assert_eq!(admitted, 20, "a burst of twice the rate");
        // Another group has its own bucket.
        assert!(rate.admit(group(2), 10, start));
        // One interval (100 ms) brings one connection back, not more.
        let later = start + Duration::from_millis(100);
        assert!(rate.admit(group(1), 10, later));
        assert!(!rate.admit(group(1), 10, later));
        // Refusals do not count: the next interval brings the next connection.
        let next = later + Duration::from_millis(100);
        assert!(rate.admit(group(1), 10, next));
        // After two seconds of quiet, a whole burst again.
        let quiet = next + Duration::from_secs(2);
        assert_eq!(
            (0..30).filter(|_| rate.admit(group(1), 10, quiet)).count(),
            20
        );
    }

    #[test]
    fn a_rate_of_one_allows_two_at_once_then_one_a_second() {
        let start = Instant::now();
        let mut rate = ConnectRate::default();
        assert!(rate.admit(group(1), 1, start));
        assert!(rate.admit(group(1), 1, start));
        assert!(!rate.admit(group(1), 1, start + Duration::from_millis(999)));
        assert!(rate.admit(group(1), 1, start + Duration::from_secs(1)));
    }

    #[test]
    fn issue_13_groups_whose_bucket_is_full_again_are_forgotten() {
        let start = Instant::now();
        let mut rate = ConnectRate::default();
        for n in 0..=255 {
            assert!(rate.admit(group(n), 10, start));
        }
        // Each of those is full again 100 ms later; new groups then sweep them away.
        let later = start + Duration::from_secs(1);
        let fresh = |n: u8| AddressGroup::of(IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)));
        for n in 0..=255 {
            assert!(rate.admit(fresh(n), 10, later));
        }
        assert!(rate.len() <= 256 + FIRST_SWEEP_AT, "{} kept", rate.len());
    }
}
