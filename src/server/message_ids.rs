//! The server's source of message ids: [`MessageIds`], one per server, held by the registry.
//!
//! In scope: handing out ids that grow and are never reused, without a lock. Out of scope:
//! where an id is taken (the registry, inside the critical section that fixes the line's
//! order), its wire form (`chatd_proto::MessageId`), and persisting a high-water mark (the
//! store, a later step, which starts its server's source above it: [`MessageIds::starting_above`]).
//!
//! A source starts at the microseconds since the Unix epoch (or above a floor, if that is
//! higher) and counts up by one. So ids grow strictly within a server, and a restarted server
//! starts above every id the previous one handed out, as long as the clock has not stepped
//! back and the previous one did not hand out more ids than microseconds passed since it
//! started (more than a million a second on average over its life: its ids ran ahead of the
//! clock then). The store's high-water mark closes both gaps.
//!
//! Why the clock is read only at the start: reading it for every id (taking the larger of it
//! and the last id plus one) cost a compare-and-swap loop with a clock read inside, about
//! 36 ns alone and 114 ns with two workers at once, which made direct messages 10 % slower. A
//! single atomic add is what the ordering needs.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chatd_proto::MessageId;

/// Hands out message ids, from any thread at once, without a lock.
pub struct MessageIds {
    /// The last id handed out, or the floor the first must be above.
    last: AtomicU64,
}

impl MessageIds {
    /// A source whose first id is just above the clock's microseconds.
    #[cfg(test)]
    pub fn new() -> MessageIds {
        MessageIds::starting_above(0)
    }

    /// A source whose every id is above `floor` (the highest id a previous run stored) and
    /// above the clock's microseconds now.
    pub fn starting_above(floor: u64) -> MessageIds {
        MessageIds {
            last: AtomicU64::new(floor.max(micros_since_epoch())),
        }
    }

    /// The next id: above every id handed out before.
    ///
    /// Ids are taken in the order the atomic add happens, so a caller that takes one inside
    /// the critical section that orders its line gets ids in that line order.
    pub fn next(&self) -> MessageId {
        let id = self.last.fetch_add(1, Ordering::Relaxed) + 1;
        MessageId::new(id).expect(
            "ids stay below 2^53: they start at the clock's microseconds, which reach it in \
             the year 2255, and counting up from today at a million a second takes two \
             centuries to get there",
        )
    }
}

impl MessageIds {
    /// The last id handed out (or the floor, before the first): what the store keeps its
    /// high-water mark ahead of.
    pub fn last(&self) -> u64 {
        self.last.load(Ordering::Relaxed)
    }
}

/// The microseconds since the Unix epoch, or 0 for a clock set before it.
fn micros_since_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_micros()).expect("microseconds fit u64 until 586,000 AD")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn ids_grow_from_the_clock() {
        let before = micros_since_epoch();
        let ids = MessageIds::new();
        let first = ids.next().get();
        assert!(first >= before, "{first} < {before}");
        let mut last = first;
        for _ in 0..10_000 {
            let id = ids.next().get();
            assert!(id > last, "{id} after {last}");
            last = id;
        }
        // One more than the last, from where the clock was when the source started.
        assert_eq!(last, first + 10_000);
        assert!(last <= micros_since_epoch() + 10_001);
    }

    #[test]
    fn a_source_started_above_a_floor_stays_above_it() {
        let ahead = micros_since_epoch() + 60_000_000;
        let ids = MessageIds::starting_above(ahead);
        assert_eq!(ids.next().get(), ahead + 1);
        assert_eq!(ids.next().get(), ahead + 2);
        // A floor in the past changes nothing: the clock is above it.
        let ids = MessageIds::starting_above(5);
        assert!(ids.next().get() > 1_600_000_000_000_000);
    }

    #[test]
    fn threads_at_once_never_get_the_same_id() {
        let ids = Arc::new(MessageIds::new());
        let taken: Vec<Vec<u64>> = thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    let ids = Arc::clone(&ids);
                    scope.spawn(move || (0..5_000).map(|_| ids.next().get()).collect())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for own in &taken {
            assert!(own.windows(2).all(|pair| pair[0] < pair[1]));
        }
        let all: HashSet<u64> = taken.iter().flatten().copied().collect();
        assert_eq!(all.len(), 4 * 5_000);
    }
}
