//! The server's threads, descriptors and memory over a soak, from `/proc` (`loadgen::sysstat`):
//! the baseline (well-behaved clients connected, before any chaos), the peak (sampled every
//! 100 ms), and the figures after each half of the chaos phase once every chaos connection
//! is gone; and the rule they are judged by.
//!
//! In scope: sampling, waiting (with a deadline) for threads and descriptors to come back
//! down, and [`ResourceFigures::failures`].
//! Out of scope: when the phases start and end (`mod.rs`).
//!
//! The rule:
//! - Threads and descriptors must come back to exactly the baseline, which already counts
//!   the well-behaved clients (a writer thread and a socket each), within `--settle-timeout`
//!   of the end of each half. One thread or descriptor more is a leak.
//! - Memory cannot be held to the baseline: the allocator keeps freed memory for reuse
//!   (glibc's per-thread arenas, one per writer thread that ever ran), and what it keeps
//!   depends on the peak of the churn, not on a leak. So the chaos phase is two halves of
//!   the same length and mix, with the figures taken after each once the server is quiet
//!   again. A leak grows with the work done and shows as the second half ending higher than
//!   the first; reuse does not. The second half may end at most [`GROWTH_SLACK_KIB`] or
//!   [`GROWTH_SLACK_PERCENT`] % (whichever is more) above the first.
//! - And, as a bound on what the allocator may keep at all, the end may be at most
//!   [`RETAINED_SLACK_KIB`] or [`RETAINED_SLACK_PERCENT`] % above the baseline.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::loadgen::sysstat::{self, ProcSample};

/// RSS growth allowed from the end of the first half to the end of the second.
pub const GROWTH_SLACK_KIB: u64 = 8 * 1024;
pub const GROWTH_SLACK_PERCENT: u64 = 10;
/// RSS allowed above the baseline at the end.
pub const RETAINED_SLACK_KIB: u64 = 64 * 1024;
pub const RETAINED_SLACK_PERCENT: u64 = 100;

/// How often the peak sampler reads `/proc`.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// The readings of a run whose server process is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceFigures {
    pub baseline: ProcSample,
    /// The highest of each reading, separately.
    pub peak: ProcSample,
    /// After the first half, once threads and descriptors were back (or the wait gave up).
    pub half: ProcSample,
    /// After the second half and the final check.
    pub after: ProcSample,
    /// Whether threads and descriptors came back to the baseline after each half.
    pub half_settled: bool,
    pub after_settled: bool,
}

impl ResourceFigures {
    /// The most RSS the end of the second half may show, given the first half's.
    pub fn growth_limit_kib(&self) -> u64 {
        self.half.rss_kib + GROWTH_SLACK_KIB.max(self.half.rss_kib * GROWTH_SLACK_PERCENT / 100)
    }

    /// The most RSS the end may show, given the baseline.
    pub fn retained_limit_kib(&self) -> u64 {
        self.baseline.rss_kib
            + RETAINED_SLACK_KIB.max(self.baseline.rss_kib * RETAINED_SLACK_PERCENT / 100)
    }

    /// What breaks the rule in the module docs.
    pub fn failures(&self) -> Vec<String> {
        let mut failures = Vec::new();
        for (when, sample, settled) in [
            ("after the first half", self.half, self.half_settled),
            ("at the end", self.after, self.after_settled),
        ] {
            if !settled {
                failures.push(format!(
                    "{when} the server still had {} threads and {} descriptors (baseline {} and {})",
                    sample.threads, sample.fds, self.baseline.threads, self.baseline.fds
                ));
            }
        }
        if self.after.rss_kib > self.growth_limit_kib() {
            failures.push(format!(
                "memory kept growing: RSS {} KiB after the second half, {} KiB after the first \
                 (limit {} KiB)",
                self.after.rss_kib,
                self.half.rss_kib,
                self.growth_limit_kib()
            ));
        }
        if self.after.rss_kib > self.retained_limit_kib() {
            failures.push(format!(
                "RSS {} KiB at the end, more than {} KiB over the baseline of {} KiB",
                self.after.rss_kib,
                self.retained_limit_kib() - self.baseline.rss_kib,
                self.baseline.rss_kib
            ));
        }
        failures
    }
}

/// Reads the server's figures.
pub fn sample(pid: u32) -> io::Result<ProcSample> {
    sysstat::sample_process(pid)
}

/// The highest of each reading of `a` and `b`.
pub fn highest(a: ProcSample, b: ProcSample) -> ProcSample {
    ProcSample {
        cpu: a.cpu.max(b.cpu),
        rss_kib: a.rss_kib.max(b.rss_kib),
        threads: a.threads.max(b.threads),
        fds: a.fds.max(b.fds),
    }
}

/// Samples `pid` every [`SAMPLE_EVERY`] until `stop` is dropped; returns the peak. The
/// sampler looks on a timer because the figures change without any event it could wait for.
pub fn sample_peak(pid: u32, first: ProcSample, stop: &Receiver<()>) -> ProcSample {
    let mut peak = first;
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(SAMPLE_EVERY) {
        if let Ok(now) = sample(pid) {
            peak = highest(peak, now);
        }
    }
    peak
}

/// Polls `pid` until its threads and descriptors are at most the baseline's, or `deadline`.
/// Returns the last reading and whether they came back. Polling, because a connection's
/// teardown happens on server threads the protocol cannot observe.
pub fn wait_back(
    pid: u32,
    baseline: ProcSample,
    deadline: Instant,
) -> io::Result<(ProcSample, bool)> {
    loop {
        let now = sample(pid)?;
        if now.threads <= baseline.threads && now.fds <= baseline.fds {
            return Ok((now, true));
        }
        if Instant::now() >= deadline {
            return Ok((now, false));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(rss_kib: u64, threads: u64, fds: u64) -> ProcSample {
        ProcSample {
            cpu: Duration::ZERO,
            rss_kib,
            threads,
            fds,
        }
    }

    fn figures(baseline: u64, half: u64, after: u64) -> ResourceFigures {
        ResourceFigures {
            baseline: reading(baseline, 13, 20),
            peak: reading(after.max(half) * 2, 300, 320),
            half: reading(half, 13, 20),
            after: reading(after, 13, 20),
            half_settled: true,
            after_settled: true,
        }
    }

    #[test]
    fn memory_that_stopped_growing_passes() {
        assert!(figures(6_000, 30_000, 31_000).failures().is_empty());
        // Small servers get the fixed slack: 8 MiB over the first half, 64 MiB over the base.
        assert!(figures(6_000, 20_000, 28_000).failures().is_empty());
        assert!(
            figures(6_000, 20_000, 20_000 + 8 * 1024)
                .failures()
                .is_empty()
        );
    }

    #[test]
    fn memory_that_keeps_growing_fails() {
        let failures = figures(6_000, 20_000, 20_000 + 8 * 1024 + 1).failures();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("kept growing"), "{failures:?}");
        // Large servers get the percentage: 10 % of 200 MiB is 20 MiB.
        assert!(figures(150_000, 200_000, 220_000).failures().is_empty());
        assert!(!figures(150_000, 200_000, 230_000).failures().is_empty());
    }

    #[test]
    fn memory_far_above_the_baseline_fails() {
        let failures = figures(6_000, 6_000 + 70 * 1024, 6_000 + 70 * 1024).failures();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(failures[0].contains("over the baseline"), "{failures:?}");
    }

    #[test]
    fn threads_or_descriptors_left_over_fail() {
        let mut leaky = figures(6_000, 6_000, 6_000);
        leaky.after = reading(6_000, 14, 21);
        leaky.after_settled = false;
        let failures = leaky.failures();
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0].contains("14 threads and 21 descriptors"),
            "{failures:?}"
        );
    }

    #[test]
    fn the_peak_is_the_highest_of_each_reading() {
        assert_eq!(
            highest(reading(5, 100, 1), reading(9, 10, 2)),
            reading(9, 100, 2)
        );
    }
}
