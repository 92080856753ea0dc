//! [`LatencyHistogram`]: durations counted into log-spaced buckets of atomics, for the fan-out
//! latency of `STATS`; percentiles read from it.
//!
//! In scope: the buckets, recording without a lock, and reading a percentile. Out of scope:
//! what is measured and when (`metrics`, `writer`, `outbox`).
//!
//! The buckets: a microsecond each below 8 µs, then eight per power of two, so a bucket is at
//! most an eighth of its lower edge wide, and a percentile, reported as the highest value of
//! its bucket, is at most 12.5 % above the true one. Durations from 2^32 µs (71 minutes) on
//! share the last bucket. 240 counters: recording is one relaxed `fetch_add` and no
//! allocation, reading walks them all.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Buckets per power of two, as a power of two: eight.
const SUB_BITS: u32 = 3;
const SUB_BUCKETS: usize = 1 << SUB_BITS;
/// Durations of 2^`TOP_BIT` µs and more share the last bucket.
const TOP_BIT: u32 = 32;
/// The exact buckets below `SUB_BUCKETS` µs, then `SUB_BUCKETS` per power of two up to
/// 2^`TOP_BIT`.
const BUCKETS: usize = SUB_BUCKETS + (TOP_BIT - SUB_BITS) as usize * SUB_BUCKETS;

/// A histogram of durations in microseconds that any thread records into without a lock.
#[derive(Debug)]
pub struct LatencyHistogram {
    counts: [AtomicU64; BUCKETS],
}

impl Default for LatencyHistogram {
    fn default() -> LatencyHistogram {
        LatencyHistogram {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl LatencyHistogram {
    /// Counts one duration.
    pub fn record(&self, duration: Duration) {
        let micros = u64::try_from(duration.as_micros()).unwrap_or(u64::MAX);
        self.counts[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
    }

    /// The duration, in whole microseconds, that `per_mille` thousandths of the recorded
    /// ones do not exceed (500: the median), as the highest value of its bucket; `None` when
    /// nothing is recorded. Counts recorded meanwhile may or may not be seen.
    pub fn percentile_us(&self, per_mille: u64) -> Option<u64> {
        let counts: Vec<u64> = self
            .counts
            .iter()
            .map(|count| count.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return None;
        }
        // The rank of the wanted duration, counted from 1: at least the first, at most the last.
        let rank = (total.saturating_mul(per_mille.min(1000)))
            .div_ceil(1000)
            .max(1);
        let mut seen = 0;
        for (bucket, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Some(highest_in(bucket));
            }
        }
        Some(highest_in(BUCKETS - 1))
    }
}

/// The bucket that counts `micros`.
fn bucket_of(micros: u64) -> usize {
    if micros < SUB_BUCKETS as u64 {
        return micros as usize;
    }
    if micros >> TOP_BIT > 0 {
        return BUCKETS - 1;
    }
    // The highest bit set: the power of two below `micros`.
    let top = u64::BITS - 1 - micros.leading_zeros();
    // The bits after the highest one pick the bucket within its power of two.
    let sub = (micros >> (top - SUB_BITS)) as usize & (SUB_BUCKETS - 1);
    SUB_BUCKETS + (top - SUB_BITS) as usize * SUB_BUCKETS + sub
}

/// The highest duration, in microseconds, that `bucket` counts.
fn highest_in(bucket: usize) -> u64 {
    if bucket < SUB_BUCKETS {
        return bucket as u64;
    }
    let octave = (bucket - SUB_BUCKETS) / SUB_BUCKETS;
    let sub = ((bucket - SUB_BUCKETS) % SUB_BUCKETS) as u64;
    let width = 1u64 << octave;
    let lowest = (SUB_BUCKETS as u64 + sub) << octave;
    lowest + width - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(micros: u64) -> Duration {
        Duration::from_micros(micros)
    }

    #[test]
    fn every_value_falls_in_a_bucket_that_reaches_it_and_is_at_most_an_eighth_wide() {
        let mut previous = 0;
        for micros in (0..100_000).chain([(1 << 32) - 1]) {
            let bucket = bucket_of(micros);
            assert!(bucket >= previous, "{micros}: buckets go down");
            previous = bucket;
            let highest = highest_in(bucket);
            assert!(
                highest >= micros,
                "{micros} above its bucket's top {highest}"
            );
            assert!(
                highest - micros <= micros / 8,
                "{micros}: its bucket reaches {highest}"
            );
            if bucket > 0 {
                assert!(highest_in(bucket - 1) < micros, "{micros}: two buckets");
            }
        }
        assert_eq!(bucket_of(1 << 32), BUCKETS - 1);
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_of((1 << 32) - 1), BUCKETS - 1);
    }

    #[test]
    fn percentiles_are_the_top_of_their_bucket() {
        let histogram = LatencyHistogram::default();
        assert_eq!(histogram.percentile_us(500), None);
        for micros in 1..=100 {
            histogram.record(us(micros));
        }
        // The 50th of 1..=100 is 50, in the bucket 48..=51; the 99th is 99, in 96..=103.
        assert_eq!(histogram.percentile_us(500), Some(51));
        assert_eq!(histogram.percentile_us(990), Some(103));
        assert_eq!(histogram.percentile_us(0), Some(1));
        assert_eq!(histogram.percentile_us(1000), Some(103));
        histogram.record(Duration::from_secs(100_000));
        assert_eq!(histogram.percentile_us(1000), Some(highest_in(BUCKETS - 1)));
    }

    #[test]
    fn one_slow_delivery_in_a_hundred_is_below_the_99th_percentile_two_are_not() {
        let histogram = LatencyHistogram::default();
        for _ in 0..99 {
            histogram.record(us(40));
        }
        histogram.record(us(30_000));
        // 40 is in the bucket 40..=43.
        assert_eq!(histogram.percentile_us(500), Some(43));
        assert_eq!(histogram.percentile_us(990), Some(43));
        histogram.record(us(30_000));
        assert!(histogram.percentile_us(990).unwrap() >= 30_000);
    }
}
