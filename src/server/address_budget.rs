//! Address budgets: flood control shared by all the connections of one address group
//! (`--ip-rate`, `--ip-byte-rate`), so that many connections from one place cannot drown
//! everyone, each within its own rate (issue 13).
//!
//! In scope: one budget per [`AddressGroup`] that has a connection open (a bucket of lines and
//! one of bytes, each with a burst of twice its rate), the [`GroupShare`] each of those
//! connections holds, whose drop forgets the group with its last connection, and the
//! lock-free look a turn starts with. Out of scope: which addresses have a budget
//! (`Config::address_budget_applies`), what a turn costs and when it is charged (`flood`), and
//! what waiting means (`connection`, `throttle`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::server::admission::AddressGroup;
use crate::server::token_bucket::TokenBucket;

/// A group may spend this many seconds' worth at once.
const BURST_SECONDS: u64 = 2;

/// Every address group with a connection open, and its budget.
pub struct AddressBudgets {
    /// Lines per second of each group; 0: lines are not limited per group.
    lines_per_second: u64,
    /// Bytes per second of each group; 0: bytes are not limited per group.
    bytes_per_second: u64,
    /// What the budgets' `empty_until` counts from.
    epoch: Instant,
    /// A mutex: taken when a connection of a limited address opens or closes, never on a
    /// turn. A leaf: nothing is locked under it.
    groups: Mutex<HashMap<AddressGroup, Entry>>,
}

struct Entry {
    budget: Arc<GroupBudget>,
    /// Its open connections: the entry goes with the last one, so the table holds only
    /// groups that have a connection and never grows with addresses that came and went.
    connections: usize,
}

/// One group's budget.
struct GroupBudget {
    /// A mutex, taken once per turn of one of the group's connections, to charge what the
    /// turn cost. A leaf: nothing is locked under it.
    buckets: Mutex<Buckets>,
    /// Nanoseconds after the epoch until which the budget is used up; 0 while it is not.
    /// Written under `buckets` at each charge; read without any lock when a turn starts, so
    /// that a connection of a group that is out of budget is not read at all.
    empty_until_ns: AtomicU64,
}

struct Buckets {
    lines: Option<TokenBucket>,
    bytes: Option<TokenBucket>,
}

/// One connection's share of its group's budget; dropping it forgets the group if it was
/// the group's last connection.
pub struct GroupShare {
    budgets: Arc<AddressBudgets>,
    group: AddressGroup,
    budget: Arc<GroupBudget>,
}

impl AddressBudgets {
    pub fn new(lines_per_second: u32, bytes_per_second: usize) -> AddressBudgets {
        AddressBudgets {
            lines_per_second: u64::from(lines_per_second),
            bytes_per_second: bytes_per_second as u64,
            epoch: Instant::now(),
            groups: Mutex::default(),
        }
    }

    /// A share of `group`'s budget for a new connection; a group new to the table starts
    /// with full buckets.
    pub fn join(self: &Arc<Self>, group: AddressGroup, now: Instant) -> GroupShare {
        let mut groups = self.groups.lock();
        let entry = groups.entry(group).or_insert_with(|| {
            let bucket = |per_second: u64| {
                (per_second > 0)
                    .then(|| TokenBucket::new(per_second, per_second * BURST_SECONDS, now))
            };
            Entry {
                budget: Arc::new(GroupBudget {
                    buckets: Mutex::new(Buckets {
                        lines: bucket(self.lines_per_second),
                        bytes: bucket(self.bytes_per_second),
                    }),
                    empty_until_ns: AtomicU64::new(0),
                }),
                connections: 0,
            }
        });
        entry.connections += 1;
        GroupShare {
            budgets: Arc::clone(self),
            group,
            budget: Arc::clone(&entry.budget),
        }
    }

    /// Groups with a connection open.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.groups.lock().len()
    }
}

impl GroupShare {
    /// Until when the group's budget is used up, as of its last charge; `None` when it is not.
    /// No lock: a look at the start of every turn.
    pub fn empty_until(&self, now: Instant) -> Option<Instant> {
        match self.budget.empty_until_ns.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(self.budgets.epoch + Duration::from_nanos(ns)).filter(|&at| at > now),
        }
    }

    /// Charges the group what one turn of one of its connections cost. Returns until when
    /// that leaves the budget used up, if it does.
    pub fn charge(&self, lines: u64, bytes: u64, now: Instant) -> Option<Instant> {
        let mut buckets = self.budget.buckets.lock();
        let Buckets {
            lines: line_bucket,
            bytes: byte_bucket,
        } = &mut *buckets;
        let mut empty_until = None;
        for (bucket, cost) in [(line_bucket, lines), (byte_bucket, bytes)] {
            if let Some(bucket) = bucket {
                bucket.refill(now);
                bucket.charge(cost);
                if !bucket.has_token() {
                    empty_until = empty_until.max(Some(bucket.resume_at()));
                }
            }
        }
        let ns = empty_until.map_or(0, |at| {
            // At least 1: 0 says "not used up". u64 nanoseconds last 584 years.
            let ns = at.saturating_duration_since(self.budgets.epoch).as_nanos();
            u64::try_from(ns).unwrap_or(u64::MAX).max(1)
        });
        self.budget.empty_until_ns.store(ns, Ordering::Relaxed);
        empty_until
    }
}

impl Drop for GroupShare {
    fn drop(&mut self) {
        let mut groups = self.budgets.groups.lock();
        if let Some(entry) = groups.get_mut(&self.group) {
            entry.connections -= 1;
            if entry.connections == 0 {
                groups.remove(&self.group);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn group(ip: &str) -> AddressGroup {
        AddressGroup::of(ip.parse::<IpAddr>().unwrap())
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn issue_13_connections_of_one_group_share_one_budget_and_others_have_their_own() {
        let budgets = Arc::new(AddressBudgets::new(100, 0));
        let now = Instant::now();
        let first = budgets.join(group("192.0.2.1"), now);
        // A second connection from the same address shares the budget; another address not.
        let second = budgets.join(group("192.0.2.1"), now);
        let other = budgets.join(group("192.0.2.2"), now);
        assert_eq!(budgets.len(), 2);

        // A burst of two seconds' worth: 200 lines, spent by the two connections together.
        assert_eq!(
            first.charge(150, 1_000_000, now),
            None,
            "bytes are not limited"
        );
        assert_eq!(first.empty_until(now), None);
        let until = second
            .charge(60, 0, now)
            .expect("210 of 200 lines: used up");
        // 10 lines in debt, plus a batch (20 ms at 100/s = 2 lines): 120 ms.
        assert!(until >= now + ms(120) && until < now + ms(121), "{until:?}");
        assert_eq!(
            first.empty_until(now),
            Some(until),
            "seen by every connection"
        );
        assert_eq!(second.empty_until(until), None, "and over when it says");
        assert_eq!(
            other.charge(199, 0, now),
            None,
            "another group is not touched"
        );
        assert_eq!(other.empty_until(now), None);
    }

    #[test]
    fn issue_13_bytes_are_a_budget_of_their_own() {
        let budgets = Arc::new(AddressBudgets::new(0, 1000));
        let now = Instant::now();
        let share = budgets.join(group("2001:db8::1"), now);
        assert_eq!(share.charge(1_000_000, 1500, now), None);
        let until = share.charge(0, 600, now).expect("2,100 of 2,000 bytes");
        assert!(until > now);
        // Refilled by the time it said: a charge then finds the budget open again.
        assert_eq!(share.charge(0, 1, until), None);
        assert_eq!(share.empty_until(until), None);
    }

    #[test]
    fn issue_13_a_group_is_forgotten_with_its_last_connection() {
        let budgets = Arc::new(AddressBudgets::new(10, 10));
        let now = Instant::now();
        let first = budgets.join(group("2001:db8:0:1::1"), now);
        let second = budgets.join(group("2001:db8:0:1::2"), now);
        assert!(first.charge(100, 0, now).is_some());
        drop(first);
        assert_eq!(budgets.len(), 1, "one connection left");
        assert!(
            second.empty_until(now).is_some(),
            "the debt stays with the group"
        );
        drop(second);
        assert_eq!(budgets.len(), 0);
        // Coming back later starts a new budget: the table holds no addresses that left.
        let again = budgets.join(group("2001:db8:0:1::3"), now);
        assert_eq!(again.empty_until(now), None);
    }
}
