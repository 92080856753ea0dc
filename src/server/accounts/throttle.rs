//! Login throttling: failed password checks counted per account and per address group, which
//! first slow the answers down and then refuse attempts for a while. Pure: the caller passes
//! the time, so tests drive a clock of their own.
//!
//! The numbers (the server's docs quote them):
//! - the first [`FREE_FAILURES`] (3) failures are answered at once;
//! - each failure after them doubles the wait before its answer: 1 s, 2 s, 4 s, then 8 s
//!   ([`FIRST_DELAY`], [`LONGEST_DELAY`]);
//! - while a failure's answer waits, further attempts for that account or from that address
//!   are refused (`TOO_MANY_ATTEMPTS`, to retry when the wait ends) without checking: a client
//!   waits for an answer before it tries again, so only parallel guesses meet this, and they
//!   cannot skip the waits;
//! - [`LOCK_AFTER`] (10) failures within [`WINDOW`] (10 minutes) of the first refuse every
//!   attempt for that account, or from that address, for [`LOCK`] (10 minutes), without any
//!   hashing;
//! - a successful check clears the account's count, not the address's (an address that
//!   guessed many accounts stays slowed however many it got right).
//!
//! Both keys count: a failure's wait is the longer of the two, and either one's lock refuses.
//! Unknown nicks are counted like accounts, so being refused does not tell which nicks exist.
//!
//! Memory is bounded: an entry goes once its window and its refusal have passed (swept when
//! its map has doubled since the last sweep), and each map holds at most [`MAX_ENTRIES`]; past
//! that the tenth with the oldest latest failure goes.
//!
//! Out of scope: checking passwords (`password`), the log lines (`verifier`), and waiting the
//! delay (the server does, on a timer).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

use chatd_proto::NickKey;

use crate::server::admission::AddressGroup;

/// Failures answered without a wait.
pub const FREE_FAILURES: u32 = 3;
/// The wait before the answer to the first failure past the free ones; each next doubles it.
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait before an answer.
pub const LONGEST_DELAY: Duration = Duration::from_secs(8);
/// Failures within a window that lock the account or the address.
pub const LOCK_AFTER: u32 = 10;
/// The window failures are counted in, from its first failure.
pub const WINDOW: Duration = Duration::from_secs(10 * 60);
/// How long a lock refuses every attempt.
pub const LOCK: Duration = Duration::from_secs(10 * 60);
/// The most entries in each map: about 100 bytes each, 10 MB at most per map.
pub const MAX_ENTRIES: usize = 100_000;

/// The failures of one account or one address group in the current window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    /// The first failure of the window.
    since: Instant,
    /// The latest failure: the oldest of these go first when a map is full.
    latest: Instant,
    count: u32,
    /// Attempts are refused until then: the latest failure's answer is still waiting, or a
    /// lock.
    refused_until: Instant,
}

impl Failures {
    fn new(now: Instant) -> Failures {
        Failures {
            since: now,
            latest: now,
            count: 0,
            refused_until: now,
        }
    }

    fn refused_for(&self, now: Instant) -> Option<Duration> {
        (now < self.refused_until).then(|| self.refused_until - now)
    }

    fn expired(&self, now: Instant) -> bool {
        now >= self.since + WINDOW && now >= self.refused_until
    }

    /// Counts a failure at `now`: the wait before its answer, and whether it locked.
    fn fail(&mut self, now: Instant) -> (Duration, bool) {
        if self.expired(now) {
            *self = Failures::new(now);
        }
        self.count += 1;
        self.latest = now;
        let delay = delay_after(self.count);
        let locks = self.count == LOCK_AFTER;
        let until = if self.count >= LOCK_AFTER {
            now + LOCK
        } else {
            now + delay
        };
        self.refused_until = self.refused_until.max(until);
        (delay, locks)
    }
}

/// The wait before the answer to the `count`th failure of a window.
fn delay_after(count: u32) -> Duration {
    let Some(past_free) = count.checked_sub(FREE_FAILURES + 1) else {
        return Duration::ZERO;
    };
    // 2^4 s is past the longest wait already; the cap keeps the shift in range.
    FIRST_DELAY
        .saturating_mul(1 << past_free.min(4))
        .min(LONGEST_DELAY)
}

/// The failures of many keys, bounded.
#[derive(Debug)]
struct Counts<K> {
    entries: HashMap<K, Failures>,
    /// Sweep the expired entries when the map reaches this many.
    sweep_at: usize,
    /// The most entries kept.
    cap: usize,
}

impl<K: Hash + Eq + Clone> Counts<K> {
    fn new(cap: usize) -> Counts<K> {
        Counts {
            entries: HashMap::new(),
            sweep_at: 64,
            cap,
        }
    }

    fn refused_for(&self, key: &K, now: Instant) -> Option<Duration> {
        self.entries.get(key)?.refused_for(now)
    }

    fn fail(&mut self, key: &K, now: Instant) -> (Duration, bool) {
        if !self.entries.contains_key(key) {
            self.make_room(now);
        }
        self.entries
            .entry(key.clone())
            .or_insert_with(|| Failures::new(now))
            .fail(now)
    }

    fn clear(&mut self, key: &K) {
        self.entries.remove(key);
    }

    /// Before a new key: drops what has expired once the map has doubled since the last
    /// sweep, and the tenth with the oldest latest failures when it is full even so.
    fn make_room(&mut self, now: Instant) {
        if self.entries.len() >= self.sweep_at {
            self.entries.retain(|_, failures| !failures.expired(now));
            self.sweep_at = (2 * self.entries.len()).max(64);
        }
        if self.entries.len() < self.cap {
            return;
        }
        let mut latest: Vec<Instant> = self.entries.values().map(|f| f.latest).collect();
        let cut = self.cap / 10;
        let (_, &mut oldest_kept, _) = latest.select_nth_unstable(cut);
        // Ties at the cut may keep a few more: the next new key sweeps again.
        self.entries
            .retain(|_, failures| failures.latest >= oldest_kept);
        if self.entries.len() >= self.cap {
            // Every entry failed at the same instant: any tenth will do.
            let drop: Vec<K> = self.entries.keys().take(cut.max(1)).cloned().collect();
            for key in drop {
                self.entries.remove(&key);
            }
        }
    }
}

/// Whether an attempt is checked, or refused for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Check,
    Refused { retry_after: Duration },
}

/// A failure's consequences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    /// The wait before the answer.
    pub delay: Duration,
    /// This failure locked the account.
    pub locked_account: bool,
    /// This failure locked the address group.
    pub locked_address: bool,
}

/// Failures by account and by address group.
#[derive(Debug)]
pub struct Throttle {
    accounts: Counts<NickKey>,
    addresses: Counts<AddressGroup>,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle::with_cap(MAX_ENTRIES)
    }
}

impl Throttle {
    fn with_cap(cap: usize) -> Throttle {
        Throttle {
            accounts: Counts::new(cap),
            addresses: Counts::new(cap),
        }
    }

    /// Whether an attempt on `account` from `from` at `now` may be checked.
    pub fn verdict(&self, account: &NickKey, from: AddressGroup, now: Instant) -> Verdict {
        let refused = self.accounts.refused_for(account, now);
        match refused.max(self.addresses.refused_for(&from, now)) {
            Some(retry_after) => Verdict::Refused { retry_after },
            None => Verdict::Check,
        }
    }

    /// Counts a failed check on `account` from `from` at `now`.
    pub fn failed(&mut self, account: &NickKey, from: AddressGroup, now: Instant) -> Failed {
        let (account_delay, locked_account) = self.accounts.fail(account, now);
        let (address_delay, locked_address) = self.addresses.fail(&from, now);
        Failed {
            delay: account_delay.max(address_delay),
            locked_account,
            locked_address,
        }
    }

    /// A check on `account` succeeded: its failures are forgotten; the address's are not.
    pub fn succeeded(&mut self, account: &NickKey) {
        self.accounts.clear(account);
    }

    /// Ends the wait for the answer to `account`'s latest failure at `now` (not a lock), as
    /// if its client had waited for it: for tests that count failures up.
    #[cfg(test)]
    pub fn end_wait(&mut self, account: &NickKey, now: Instant) {
        if let Some(failures) = self.accounts.entries.get_mut(account) {
            if failures.count < LOCK_AFTER {
                failures.refused_until = failures.refused_until.min(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatd_proto::Nick;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(nick: &str) -> NickKey {
        Nick::parse(nick).unwrap().key()
    }

    fn group(n: u32) -> AddressGroup {
        AddressGroup::of(IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n)))
    }

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn delays_double_after_the_free_failures_up_to_the_longest() {
        let delays: Vec<u64> = (1..=12).map(|n| delay_after(n).as_secs()).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 8, 8, 8, 8, 8]);
        assert_eq!(delay_after(u32::MAX), LONGEST_DELAY);
    }

    /// Fails `account` from `from`, each attempt made once the previous answer has come.
    fn fail_in_turn(
        throttle: &mut Throttle,
        account: &NickKey,
        from: AddressGroup,
        times: u32,
        now: &mut Instant,
    ) -> Vec<Failed> {
        (0..times)
            .map(|_| {
                assert_eq!(throttle.verdict(account, from, *now), Verdict::Check);
                let failed = throttle.failed(account, from, *now);
                *now += failed.delay;
                failed
            })
            .collect()
    }

    #[test]
    fn ten_failures_lock_the_account_for_ten_minutes_and_then_it_starts_afresh() {
        let mut throttle = Throttle::default();
        let mut now = Instant::now();
        let alice = key("alice");
        let failed = fail_in_turn(&mut throttle, &alice, group(1), LOCK_AFTER, &mut now);
        let delays: Vec<u64> = failed.iter().map(|f| f.delay.as_secs()).collect();
        assert_eq!(delays, [0, 0, 0, 1, 2, 4, 8, 8, 8, 8]);
        assert!(failed[..9].iter().all(|f| !f.locked_account));
        assert!(failed[9].locked_account && failed[9].locked_address);
        // The lock began at the tenth failure, whose answer waited 8 s.
        let locked_at = now - LONGEST_DELAY;
        for (account, from) in [(&alice, group(2)), (&key("bob"), group(1))] {
            assert_eq!(
                throttle.verdict(account, from, now),
                Verdict::Refused {
                    retry_after: LOCK - LONGEST_DELAY
                },
                "the account is locked from anywhere, and the address for any account"
            );
        }
        assert_eq!(
            throttle.verdict(&key("bob"), group(2), now),
            Verdict::Check,
            "others are not slowed"
        );
        let end = locked_at + LOCK;
        assert_eq!(
            throttle.verdict(&alice, group(1), end - SECOND),
            Verdict::Refused {
                retry_after: SECOND
            }
        );
        assert_eq!(throttle.verdict(&alice, group(1), end), Verdict::Check);
        let afresh = throttle.failed(&alice, group(1), end);
        assert_eq!(afresh.delay, Duration::ZERO, "a new window");
    }

    #[test]
    fn an_attempt_while_an_answer_waits_is_refused_until_it_has_come() {
        let mut throttle = Throttle::default();
        let mut now = Instant::now();
        let alice = key("alice");
        fail_in_turn(&mut throttle, &alice, group(1), FREE_FAILURES, &mut now);
        let failed = throttle.failed(&alice, group(1), now);
        assert_eq!(failed.delay, FIRST_DELAY);
        let parallel = now + Duration::from_millis(300);
        assert_eq!(
            throttle.verdict(&alice, group(9), parallel),
            Verdict::Refused {
                retry_after: Duration::from_millis(700)
            }
        );
        assert_eq!(
            throttle.verdict(&alice, group(1), now + FIRST_DELAY),
            Verdict::Check
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_add_up() {
        let mut throttle = Throttle::default();
        let mut now = Instant::now();
        let alice = key("alice");
        for _ in 0..3 {
            fail_in_turn(&mut throttle, &alice, group(1), LOCK_AFTER - 1, &mut now);
            now += WINDOW;
        }
        assert_eq!(throttle.verdict(&alice, group(1), now), Verdict::Check);
        let failed = throttle.failed(&alice, group(1), now);
        assert_eq!(failed.delay, Duration::ZERO);
        assert!(!failed.locked_account);
    }

    #[test]
    fn a_success_clears_the_account_but_not_the_address() {
        let mut throttle = Throttle::default();
        let mut now = Instant::now();
        let alice = key("alice");
        fail_in_turn(&mut throttle, &alice, group(1), LOCK_AFTER - 1, &mut now);
        throttle.succeeded(&alice);
        // From another address the account starts afresh.
        let failed = throttle.failed(&alice, group(2), now);
        assert_eq!(failed.delay, Duration::ZERO);
        // From the same address, the address's count goes on: its tenth failure locks it.
        let failed = throttle.failed(&key("carol"), group(1), now);
        assert!(failed.locked_address && !failed.locked_account);
        assert_eq!(failed.delay, LONGEST_DELAY);
        assert!(matches!(
            throttle.verdict(&alice, group(1), now + LONGEST_DELAY),
            Verdict::Refused { .. }
        ));
    }

    #[test]
    fn the_address_counts_every_account_it_tries() {
        let mut throttle = Throttle::default();
        let now = Instant::now();
        let mut last = None;
        for n in 0..LOCK_AFTER {
            // The answer to the previous failure has come.
            if let Some(failures) = throttle.addresses.entries.get_mut(&group(1)) {
                failures.refused_until = now;
            }
            let account = key(&format!("user{n}"));
            assert_eq!(throttle.verdict(&account, group(1), now), Verdict::Check);
            last = Some(throttle.failed(&account, group(1), now));
        }
        assert!(last.unwrap().locked_address);
        assert!(matches!(
            throttle.verdict(&key("fresh"), group(1), now),
            Verdict::Refused { .. }
        ));
    }

    #[test]
    fn expired_entries_go_and_a_full_map_drops_its_oldest() {
        let mut throttle = Throttle::with_cap(1_000);
        let start = Instant::now();
        for n in 0..200 {
            throttle.failed(&key(&format!("old{n}")), group(n), start);
        }
        // After the window, the next sweep drops them all.
        let later = start + WINDOW;
        for n in 0..200 {
            throttle.failed(&key(&format!("new{n}")), group(1_000 + n), later);
        }
        assert!(throttle.accounts.entries.len() <= 200);
        assert!(!throttle.accounts.entries.contains_key(&key("old0")));
        // Fill up, each key a millisecond after the last: the oldest tenth goes.
        let mut at = later;
        for n in 0..5_000 {
            at += Duration::from_millis(1);
            throttle.failed(&key(&format!("many{n}")), group(10_000 + n), at);
            assert!(throttle.accounts.entries.len() <= 1_000);
            assert!(throttle.addresses.entries.len() <= 1_000);
        }
        assert!(throttle.accounts.entries.contains_key(&key("many4999")));
        assert!(!throttle.accounts.entries.contains_key(&key("many0")));
        // All at one instant: still bounded.
        for n in 0..3_000 {
            throttle.failed(&key(&format!("same{n}")), group(20_000 + n), at);
        }
        assert!(throttle.accounts.entries.len() <= 1_000);
    }
}
