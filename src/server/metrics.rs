//! The server's own figures, as `STATS` and [`ServerHandle::stats`] report them: [`Metrics`],
//! the counters that events add to where they already happen; [`Load`], one reading of them;
//! [`Stats`], that reading with the writer threads' figures; and [`TurnClock`], when the turn
//! that executes a line started, which the fan-out latency is measured from.
//!
//! In scope: the counters and how they are read. Out of scope: noticing the events (the
//! turn in `connection`, flood pauses in `turns`, deliveries and slow consumers in the
//! registry's `finish`, queued and written bytes in `outbox`, batches written in `writer`),
//! the open connections (`admission`), the histogram (`latency`), the `STATS` lines
//! (`chatd_proto`).
//!
//! What it costs: a relaxed atomic per event or per batch, never per recipient. A fan-out
//! counts its deliveries and queued bytes in its `Pending` (plain integers) and adds them
//! here once; a writer's batch or a worker's flush gives its bytes back once and records one
//! latency sample. The counters that every line touches (lines in, deliveries, queued bytes)
//! are [`Sharded`]: one shared atomic, added to by both workers and every writer, cost the
//! `direct` workload a tenth of its throughput in cache-line traffic. The peak of the queued
//! bytes is therefore sampled, not tracked per add: at every look of the timeouts thread (at
//! most a second apart) and at every reading.
//!
//! The fan-out latency: a worker's turn reads the clock once when it starts (flood control
//! needs that instant anyway) and keeps it in a thread-local ([`TurnClock`]) while the turn's
//! lines run. The first delivery queued for a client whose queue holds none notes that
//! instant, under the queue's lock that the push takes anyway. Whoever writes the batch
//! holding it (the client's writer thread, or the worker's flush) records the time from then
//! until the batch is written, into a [`LatencyHistogram`]. So each sample is the oldest
//! delivery of one batch: from the start of the turn that read its line to the end of the
//! write that took it to the kernel.
//!
//! [`ServerHandle::stats`]: crate::server::ServerHandle::stats

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chatd_proto::StatName;

use crate::server::admission::Slots;
use crate::server::latency::LatencyHistogram;
use crate::server::socket_io::WriteTotals;

/// The server's counters, shared by every thread that notes an event.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    /// Where the open connections are counted (`--max-clients`).
    slots: Arc<Slots>,
    /// Write calls and lines written, counted by `socket_io` for each writer batch and flush.
    writes: WriteTotals,
    lines_in: Sharded,
    deliveries_out: Sharded,
    slow_consumers_cut: AtomicU64,
    flood_pauses: AtomicU64,
    /// Bytes queued for clients and not yet written, as `--send-queue` counts them. Signed:
    /// a fan-out adds its bytes after its pushes, so a writer may give some back first.
    queued_bytes: Sharded,
    queued_bytes_peak: AtomicU64,
    fanout_latency: LatencyHistogram,
}

impl Default for Metrics {
    /// Counters of their own, with open connections counted by a `Slots` of their own (tests).
    fn default() -> Metrics {
        Metrics::new(Arc::default())
    }
}

impl Metrics {
    /// Counters from now on, reading the open connections from `slots`.
    pub fn new(slots: Arc<Slots>) -> Metrics {
        Metrics {
            started: Instant::now(),
            slots,
            writes: WriteTotals::default(),
            lines_in: Sharded::default(),
            deliveries_out: Sharded::default(),
            slow_consumers_cut: AtomicU64::new(0),
            flood_pauses: AtomicU64::new(0),
            queued_bytes: Sharded::default(),
            queued_bytes_peak: AtomicU64::new(0),
            fanout_latency: LatencyHistogram::default(),
        }
    }

    /// Where the writes to client sockets are counted.
    pub fn writes(&self) -> &WriteTotals {
        &self.writes
    }

    /// A turn executed `lines` lines.
    pub fn lines_in(&self, lines: usize) {
        self.lines_in.add(to_i64(lines));
    }

    /// A command queued `deliveries` lines for others.
    pub fn delivered(&self, deliveries: usize) {
        self.deliveries_out.add(to_i64(deliveries));
    }

    /// A client was cut off as a slow consumer.
    pub fn slow_consumer_cut(&self) {
        add(&self.slow_consumers_cut, 1);
    }

    /// Flood control paused a connection.
    pub fn flood_pause(&self) {
        add(&self.flood_pauses, 1);
    }

    /// `bytes` were queued for clients (footprints, as `--send-queue` counts them).
    pub fn queued(&self, bytes: usize) {
        if bytes == 0 {
            return;
        }
        self.queued_bytes.add(to_i64(bytes));
    }

    /// Notes the queued bytes now towards their peak; returns them.
    pub fn sample_queued(&self) -> u64 {
        let now = u64::try_from(self.queued_bytes.sum()).unwrap_or(0);
        self.queued_bytes_peak.fetch_max(now, Ordering::Relaxed);
        now
    }

    /// `bytes` left the queues: written, or dropped with a writer that stopped.
    pub fn unqueued(&self, bytes: usize) {
        if bytes > 0 {
            self.queued_bytes.add(-to_i64(bytes));
        }
    }

    /// A batch whose oldest delivery was read `since` has been written.
    pub fn written_since(&self, since: Instant, now: Instant) {
        self.fanout_latency
            .record(now.saturating_duration_since(since));
    }

    /// The figures now, with the registry's counts.
    pub fn load(&self, registered: usize, rooms: usize) -> Load {
        let (write_calls, lines_written) = self.writes.get();
        let percentile = |per_mille| self.fanout_latency.percentile_us(per_mille).unwrap_or(0);
        let queued_bytes = self.sample_queued();
        let count = |counter: &Sharded| u64::try_from(counter.sum()).unwrap_or(0);
        Load {
            connections: self.slots.open(),
            registered,
            rooms,
            lines_in: count(&self.lines_in),
            deliveries_out: count(&self.deliveries_out),
            slow_consumers_cut: self.slow_consumers_cut.load(Ordering::Relaxed),
            flood_pauses: self.flood_pauses.load(Ordering::Relaxed),
            queued_bytes,
            queued_bytes_peak: self.queued_bytes_peak.load(Ordering::Relaxed),
            fanout_latency_p50_us: percentile(500),
            fanout_latency_p99_us: percentile(990),
            write_calls,
            lines_written,
            uptime: self.started.elapsed(),
            history_stored: 0,
            history_unstored: 0,
            history_backlog: 0,
            logins_failed: 0,
        }
    }
}

fn add(counter: &AtomicU64, n: usize) {
    if n > 0 {
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
}

/// A counter split over [`SHARDS`] cache lines: each thread adds to its own slot (chosen
/// once per thread, in turn), and a reading sums them. Signed, so that the bytes a writer gives
/// back may come before the fan-out adds them.
#[derive(Debug, Default)]
struct Sharded {
    slots: [Slot; SHARDS],
}

/// One slot, alone on its cache line.
#[derive(Debug, Default)]
#[repr(align(64))]
struct Slot(AtomicI64);

const SHARDS: usize = 16;

thread_local! {
    static SHARD: usize = {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS
    };
}

impl Sharded {
    fn add(&self, n: i64) {
        if n != 0 {
            let shard = SHARD.with(|shard| *shard);
            self.slots[shard].0.fetch_add(n, Ordering::Relaxed);
        }
    }

    fn sum(&self) -> i64 {
        self.slots
            .iter()
            .map(|slot| slot.0.load(Ordering::Relaxed))
            .sum()
    }
}

fn to_i64(bytes: usize) -> i64 {
    i64::try_from(bytes).unwrap_or(i64::MAX)
}

/// One reading of the figures `STATS` answers with; protocol.md says what each means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Connections holding a place in `--max-clients`: open ones, registered or not, and
    /// ended ones whose socket is not closed yet (their writer has not ended).
    pub connections: usize,
    /// Clients with a nick.
    pub registered: usize,
    /// Rooms that exist, private ones included.
    pub rooms: usize,
    /// Lines read from clients and executed since the start.
    pub lines_in: u64,
    /// Lines a client's command queued for others since the start, one per recipient.
    pub deliveries_out: u64,
    pub slow_consumers_cut: u64,
    /// Times flood control paused a connection since the start.
    pub flood_pauses: u64,
    /// Bytes in all outbound queues now, counted as `--send-queue` counts them.
    pub queued_bytes: u64,
    /// The most `queued_bytes` has been since the start, as sampled (each second, and at
    /// each reading).
    pub queued_bytes_peak: u64,
    /// Fan-out latency percentiles in microseconds, over the writes that carried deliveries,
    /// each counted with its oldest one; each the top of its histogram bucket (at most 12.5 %
    /// above the true value); 0 until a delivery has been written.
    pub fanout_latency_p50_us: u64,
    pub fanout_latency_p99_us: u64,
    /// Write system calls to client sockets since the start: the writers' `writev`s and the
    /// workers' non-blocking flush `send`s.
    pub write_calls: u64,
    /// Lines written to client sockets since the start.
    pub lines_written: u64,
    pub uptime: Duration,
    /// Lines of history written to the store, and lines it could not keep.
    pub history_stored: u64,
    pub history_unstored: u64,
    /// Lines handed to the store and not yet written: its lag, in lines (`/metrics` only).
    pub history_backlog: u64,
    /// Password checks that failed (`accounts`).
    pub logins_failed: u64,
}

impl Load {
    /// The `STATS` figures, in the order of [`StatName::KNOWN`].
    pub fn figures(&self) -> [(StatName, u64); 17] {
        let count = |n: usize| n as u64;
        [
            (StatName::Connections, count(self.connections)),
            (StatName::Registered, count(self.registered)),
            (StatName::Rooms, count(self.rooms)),
            (StatName::LinesIn, self.lines_in),
            (StatName::DeliveriesOut, self.deliveries_out),
            (StatName::SlowConsumersCut, self.slow_consumers_cut),
            (StatName::FloodPauses, self.flood_pauses),
            (StatName::QueuedBytes, self.queued_bytes),
            (StatName::QueuedBytesPeak, self.queued_bytes_peak),
            (StatName::FanoutLatencyP50Us, self.fanout_latency_p50_us),
            (StatName::FanoutLatencyP99Us, self.fanout_latency_p99_us),
            (StatName::WriteCalls, self.write_calls),
            (StatName::LinesWritten, self.lines_written),
            (StatName::UptimeS, self.uptime.as_secs()),
            (StatName::HistoryStored, self.history_stored),
            (StatName::HistoryUnstored, self.history_unstored),
            (StatName::LoginsFailed, self.logins_failed),
        ]
    }

    /// With the writer threads' figures, which only the server's handle reaches.
    pub fn with_writers(self, writer_threads: usize, max_queued_bytes: usize) -> Stats {
        Stats {
            load: self,
            writer_threads,
            max_queued_bytes,
        }
    }
}

/// A snapshot of the server's load: what `STATS` answers, and what only the server's handle
/// sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub load: Load,
    /// Writer threads not yet joined.
    pub writer_threads: usize,
    /// Bytes in the fullest outbound queue; never above `--send-queue`.
    pub max_queued_bytes: usize,
}

thread_local! {
    /// When the turn this worker is running started; `None` outside a turn.
    static TURN_STARTED: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// Marks the running thread as executing a turn that started at an instant, until dropped:
/// the deliveries its lines queue are measured from then (see the module's doc).
#[must_use = "the turn's start is forgotten when this is dropped"]
pub struct TurnClock {
    /// Dropped on the thread that started it, which owns the thread-local.
    _this_thread: PhantomData<*const ()>,
}

impl TurnClock {
    pub fn start(at: Instant) -> TurnClock {
        TURN_STARTED.set(Some(at));
        TurnClock {
            _this_thread: PhantomData,
        }
    }

    /// When the turn running on this thread started, if one is.
    pub fn turn_started() -> Option<Instant> {
        TURN_STARTED.get()
    }
}

impl Drop for TurnClock {
    fn drop(&mut self) {
        TURN_STARTED.set(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_are_the_documented_names_in_order() {
        let load = Metrics::default().load(2, 1);
        let names: Vec<StatName> = load.figures().into_iter().map(|(name, _)| name).collect();
        assert_eq!(names, StatName::KNOWN);
        let figures = load.figures();
        assert_eq!(figures[1], (StatName::Registered, 2));
        assert_eq!(figures[2], (StatName::Rooms, 1));
    }

    #[test]
    fn queued_bytes_count_what_is_queued_and_keep_their_peak() {
        let metrics = Metrics::default();
        // A writer may give back bytes before the fan-out that queued them adds them.
        metrics.unqueued(100);
        assert_eq!(metrics.load(0, 0).queued_bytes, 0);
        metrics.queued(100);
        metrics.queued(300);
        // The peak is what a reading saw (the timeouts thread's, or a `STATS`).
        assert_eq!(metrics.sample_queued(), 300);
        metrics.unqueued(250);
        let load = metrics.load(0, 0);
        assert_eq!((load.queued_bytes, load.queued_bytes_peak), (50, 300));
        metrics.queued(0);
        metrics.unqueued(50);
        assert_eq!(metrics.load(0, 0).queued_bytes, 0);
    }

    #[test]
    fn a_turn_clock_holds_while_it_lives_on_its_thread_only() {
        assert_eq!(TurnClock::turn_started(), None);
        let at = Instant::now();
        let clock = TurnClock::start(at);
        assert_eq!(TurnClock::turn_started(), Some(at));
        let elsewhere = std::thread::spawn(TurnClock::turn_started).join().unwrap();
        assert_eq!(elsewhere, None);
        drop(clock);
        assert_eq!(TurnClock::turn_started(), None);
    }

    #[test]
    fn latency_percentiles_come_from_the_written_batches() {
        let metrics = Metrics::default();
        assert_eq!(metrics.load(0, 0).fanout_latency_p99_us, 0);
        let read = Instant::now();
        for micros in [10, 20, 5_000] {
            metrics.written_since(read, read + Duration::from_micros(micros));
        }
        let load = metrics.load(0, 0);
        // 20 is in the bucket 20..=21.
        assert_eq!(load.fanout_latency_p50_us, 21);
        assert!(load.fanout_latency_p99_us >= 5_000, "{load:?}");
    }
}
