//! The server's source of message ids: [`MessageIds`], one per server, held by the registry.
//!
//! In scope: handing out ids that grow and are never reused, without a lock. Out of scope:
//! where an id is taken (the registry, inside the critical section that fixes the line's
//! order), its wire form (`chatd_proto::MessageId`), and persisting a high-water mark (the
//! store, a later step, which starts its server's source above it: [`MessageIds::starting_above`]).
//!
//! An id is the larger of the last one plus one and the microseconds since the Unix epoch.
//! So ids grow strictly within a server, and a restarted server starts above every id the
//! previous one handed out, as long as the clock has not stepped back and the previous one
//! did not hand out ids faster than one per microsecond for longer than the restart took
//! (its ids run ahead of the clock then). The store's high-water mark closes both gaps.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chatd_proto::MessageId;

/// Hands out message ids, from any thread at once, without a lock.
pub struct MessageIds {
    /// The last id handed out, or the floor the first must be above.
    last: AtomicU64,
}

impl MessageIds {
    /// A source whose first id is the clock's microseconds (or 1, before 1970).
    pub fn new() -> MessageIds {
        MessageIds::starting_above(0)
    }

    /// A source whose every id is above `floor`: the highest id a previous run stored.
    pub fn starting_above(floor: u64) -> MessageIds {
        MessageIds {
            last: AtomicU64::new(floor),
        }
    }

    /// The next id: above every id handed out before, and at least the clock's microseconds.
    ///
    /// Ids are taken in the order the atomic update happens, so a caller that takes one
    /// inside the critical section that orders its line gets ids in that line order.
    pub fn next(&self) -> MessageId {
        let now = micros_since_epoch();
        let previous = self
            .last
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
                Some(now.max(last + 1))
            })
            .expect("the update always gives a value");
        MessageId::new(now.max(previous + 1)).expect(
            "ids stay below 2^53: the clock reaches that in the year 2255, and a server \
             would need to hand out a billion ids a second for a century to get there sooner",
        )
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
        // Faster than the clock, ids run ahead of it by one each; never further than needed.
        assert!(last <= micros_since_epoch() + 10_000);
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
