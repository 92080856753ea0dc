//! Flood control's arithmetic: a token bucket, for a connection's lines (`--rate`, `--burst`)
//! and bytes (`--byte-rate`, `--byte-burst`) and for an address group's (`--ip-rate`,
//! `--ip-byte-rate`).
//!
//! In scope: how much a client may have executed now, and when it may go on. A cost known
//! only once paid (the bytes of a command's answer) is charged after the fact and may leave
//! the bucket in debt, so the next turn waits that much longer. Out of scope: what waiting
//! means (the connection stops reading and the `throttle` thread brings it back), and what
//! costs what (`flood`). Pure: the caller passes the time in, so the tests need no clock.

use std::time::{Duration, Instant};

/// A throttled connection sleeps at least this long (unless a whole burst refills sooner):
/// resuming a flooder for every single token would cost a wake-up per line.
const MIN_PAUSE: Duration = Duration::from_millis(20);

#[derive(Debug, Clone)]
pub struct TokenBucket {
    per_second: f64,
    burst: f64,
    /// Lines (or bytes) the client may still cost at once; fractional while refilling, and
    /// below zero after a charge beyond what was left.
    tokens: f64,
    /// When `tokens` was last brought up to date.
    refilled: Instant,
}

impl TokenBucket {
    /// A full bucket: a new client may cost `burst` at once. Both must be at least 1.
    pub fn new(per_second: u64, burst: u64, now: Instant) -> TokenBucket {
        assert!(
            per_second >= 1 && burst >= 1,
            "a bucket needs a rate and room for one line"
        );
        // Exact: rates and bursts are far below 2^53.
        TokenBucket {
            per_second: per_second as f64,
            burst: burst as f64,
            tokens: burst as f64,
            refilled: now,
        }
    }

    /// Adds the tokens earned since the last refill, up to the burst.
    pub fn refill(&mut self, now: Instant) {
        let earned = now.saturating_duration_since(self.refilled).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + earned).min(self.burst);
        self.refilled = now;
    }

    /// Whether one more line (or byte) may go now.
    pub fn has_token(&self) -> bool {
        self.tokens >= 1.0
    }

    /// Takes `cost` whatever is left: a cost known only once it is paid, such as the bytes
    /// read from a socket or of an answer. The bucket may go into debt; the refill pays it
    /// back before it holds tokens again.
    pub fn charge(&mut self, cost: u64) {
        self.tokens -= cost as f64;
    }

    /// Takes one line's token if there is one.
    pub fn try_take(&mut self) -> bool {
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// When an empty bucket is worth coming back to: once it holds a few lines' tokens (at
    /// least one, at most a burst), so a flooder is resumed a bounded number of times per
    /// second, whatever its rate; later by as much as it is in debt.
    pub fn resume_at(&self) -> Instant {
        let batch = (self.per_second * MIN_PAUSE.as_secs_f64()).clamp(1.0, self.burst);
        let missing = (batch - self.tokens).max(0.0);
        // Rounded up: coming back a nanosecond early would find the batch a hair short.
        let wait_ns = (missing / self.per_second * 1e9).ceil();
        self.refilled + Duration::from_nanos(wait_ns as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Within a microsecond after `expected`: the wait is rounded up to whole nanoseconds.
    fn assert_soon_after(actual: Instant, expected: Instant) {
        assert!(
            actual >= expected && actual - expected < Duration::from_micros(1),
            "{:?} after",
            actual.saturating_duration_since(expected)
        );
    }

    fn take_all(bucket: &mut TokenBucket) -> usize {
        let mut taken = 0;
        while bucket.try_take() {
            taken += 1;
        }
        taken
    }

    #[test]
    fn a_new_bucket_allows_one_burst_then_nothing() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 5, start);
        assert_eq!(take_all(&mut bucket), 5);
        bucket.refill(start);
        assert!(!bucket.try_take());
    }

    #[test]
    fn tokens_come_back_at_the_rate_and_never_beyond_the_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10, 5, start);
        take_all(&mut bucket);
        bucket.refill(start + ms(250)); // 2.5 tokens
        assert_eq!(take_all(&mut bucket), 2);
        bucket.refill(start + ms(300)); // the half left plus half a token
        assert_eq!(take_all(&mut bucket), 1);
        bucket.refill(start + Duration::from_secs(3600));
        assert_eq!(take_all(&mut bucket), 5);
    }

    #[test]
    fn over_a_long_run_the_rate_holds() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100, 20, start);
        let mut taken = take_all(&mut bucket);
        let mut now = start;
        for _ in 0..1000 {
            now += ms(7);
            bucket.refill(now);
            taken += take_all(&mut bucket);
        }
        // 7 s at 100 lines/s, plus the first burst.
        assert!((719..=720).contains(&taken), "{taken}");
    }

    #[test]
    fn a_slow_rate_resumes_when_one_token_is_back() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(4, 3, start);
        take_all(&mut bucket);
        assert_soon_after(bucket.resume_at(), start + ms(250));
        bucket.refill(bucket.resume_at());
        assert!(bucket.try_take());
    }

    #[test]
    fn a_fast_rate_pauses_for_a_batch_not_a_single_token() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(1000, 100, start);
        take_all(&mut bucket);
        assert_soon_after(bucket.resume_at(), start + ms(20));
        bucket.refill(bucket.resume_at());
        assert_eq!(take_all(&mut bucket), 20);
    }

    #[test]
    fn issue_13_a_charge_after_the_fact_is_paid_back_before_anything_else() {
        let start = Instant::now();
        let mut bytes = TokenBucket::new(1000, 500, start);
        // An answer of 1,500 bytes, produced with 500 in the bucket: 1,000 in debt.
        bytes.charge(1500);
        assert!(!bytes.has_token());
        // The debt plus a batch (20 ms at 1,000/s) takes 1.02 s to come back.
        assert_soon_after(bytes.resume_at(), start + ms(1020));
        bytes.refill(start + ms(999));
        assert!(!bytes.has_token(), "still in debt");
        bytes.refill(start + ms(1002));
        assert!(bytes.has_token());
        // It refills to the burst, never beyond, however long it waited.
        bytes.refill(start + Duration::from_secs(3600));
        bytes.charge(500);
        assert!(!bytes.has_token());
    }

    #[test]
    fn a_batch_never_waits_for_more_than_a_burst() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10_000, 10, start);
        take_all(&mut bucket);
        assert_soon_after(bucket.resume_at(), start + ms(1));
    }
}
