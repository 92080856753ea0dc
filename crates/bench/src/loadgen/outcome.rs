//! The result of one run, as a row of figures, and the judgements made on it: which counts
//! fail a run, when the generator rather than the server was the bottleneck, and how
//! repeated runs combine into one row.
//!
//! In scope: [`RunResult`], [`Latency`], [`IdleFigures`], the failure summary (a step back
//! in one order fails a run only where the server promises one: [`OrderStance`]), the
//! bottleneck rule ([`bottleneck`]), and the median of repeats. Pure.
//! Out of scope: producing the figures (`workload`) and laying them out (`report`).

use std::time::Duration;

use hdrhistogram::Histogram;

use crate::loadgen::check::Counts;
use crate::loadgen::dialect::OrderStance;
use crate::loadgen::meter::Usage;
use crate::loadgen::server_stats::ServerStats;
use crate::loadgen::transport::Transports;

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// Latencies above an hour are recorded as an hour: a run never lasts that long.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// An empty histogram of latencies in microseconds, 3 significant digits, up to an hour.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid bounds and precision")
}

impl Latency {
    /// The percentiles of a histogram of microseconds; `None` if it is empty.
    pub fn from_histogram(histogram: &Histogram<u64>) -> Option<Latency> {
        if histogram.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(Latency {
            p50: ms(histogram.value_at_quantile(0.50)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
        })
    }
}

/// What the idle-capacity run measures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct IdleFigures {
    pub clients: u64,
    /// Until every client had its `OK NICK`.
    pub connect_s: f64,
    /// Until the last `JOIN` arrived; `None` for a peer, which announces nobody.
    pub joins_s: Option<f64>,
    /// (server RSS after − before) / clients.
    pub rss_kib_per_conn: Option<f64>,
    pub threads_before: Option<u64>,
    pub threads_after: Option<u64>,
    pub fds: Option<u64>,
}

/// One row of the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunResult {
    /// The row's name, such as `fan-out` or `paced 100k`.
    pub workload: String,
    /// Worker threads of a server the run started; `None` for an external server. Over all
    /// the nodes of a cluster.
    pub workers: Option<usize>,
    /// The chatd processes of a cluster (`--nodes`), joined through a NATS server; `None`
    /// for one server.
    pub nodes: Option<usize>,
    /// How the generator's clients reached the server.
    pub transports: Transports,
    /// Lines delivered and checked (`JOIN`s for the idle run).
    pub deliveries: u64,
    /// Deliveries per second, from the first send to the last delivery.
    pub throughput: Option<f64>,
    pub latency: Option<Latency>,
    pub counts: Counts,
    /// Stalled run: the healthy clients' p99 relative to the plain paced run, in percent.
    pub p99_change_pct: Option<f64>,
    pub server_us_per_delivery: Option<f64>,
    pub writes_per_line: Option<f64>,
    pub allocs_per_line: Option<f64>,
    /// Percent of one core.
    pub generator_cpu_pct: f64,
    pub server_cpu_pct: Option<f64>,
    /// Percent of all cores' time the machine was busy.
    pub machine_busy_pct: Option<f64>,
    /// Percent of one core used by neither the server nor the generator (other processes):
    /// a busy neighbour makes the figures noisy.
    pub other_cpu_pct: Option<f64>,
    /// Why the generator looks like the bottleneck, if it does.
    pub bottleneck: Option<String>,
    pub idle: Option<IdleFigures>,
    /// The server's `STATS` at the end of the run, or why it could not be had; `None` when
    /// the run did not get that far, or ran against a peer (`STATS` is chatd's own).
    pub server_stats: Option<Result<ServerStats, String>>,
    /// The server when it is not chatd: `Redis`, `NATS`.
    pub peer: Option<String>,
    /// For a run that checks one order (fan-out, paced, stalled, rooms), what its server
    /// says about it: whether `counts.order_violations` fails the run.
    pub order: Option<OrderStance>,
    /// Everything that failed the run, besides the error counts.
    pub failures: Vec<String>,
    pub wall_s: f64,
}

impl RunResult {
    /// Fills the CPU, syscall and allocation figures from the run's window.
    pub fn set_usage(&mut self, usage: &Usage, cores: usize, allocs_counted: bool) {
        let wall = usage.wall.as_secs_f64().max(1e-9);
        let per_delivery =
            |value: f64| (self.deliveries > 0).then(|| value / self.deliveries as f64);
        self.generator_cpu_pct = 100.0 * usage.generator_cpu.as_secs_f64() / wall;
        self.server_cpu_pct = usage.server_cpu.map(|cpu| 100.0 * cpu.as_secs_f64() / wall);
        self.machine_busy_pct = usage.machine_busy.map(|busy| 100.0 * busy);
        self.server_us_per_delivery = usage
            .server_cpu
            .and_then(|cpu| per_delivery(cpu.as_secs_f64() * 1e6));
        self.writes_per_line = usage
            .write_calls
            .zip(usage.lines_written)
            .and_then(|(calls, lines)| (lines > 0).then(|| calls as f64 / lines as f64));
        if allocs_counted {
            self.allocs_per_line = usage
                .server_allocations
                .and_then(|n| per_delivery(n as f64));
        }
        let shares = CpuShares::of(usage, cores);
        self.other_cpu_pct = shares.others().map(|others| 100.0 * others);
        self.bottleneck = bottleneck(&shares).map(str::to_owned);
    }

    pub fn failed(&self) -> bool {
        !self.failing_counts().is_clean() || !self.failures.is_empty()
    }

    /// The counts that fail the run: all of them, but steps back in an order that the
    /// server does not promise.
    fn failing_counts(&self) -> Counts {
        let mut counts = self.counts;
        if self
            .order
            .is_some_and(|order| order != OrderStance::Promised)
        {
            counts.order_violations = 0;
        }
        counts
    }

    /// `lost 12, order violations 1, <other failures>`, or `None` if the run passed.
    pub fn failure_summary(&self) -> Option<String> {
        let c = &self.failing_counts();
        let mut parts: Vec<String> = [
            ("lost", c.lost),
            ("duplicated", c.duplicated),
            ("out of order", c.out_of_order),
            ("corrupt", c.corrupt),
            ("order violations", c.order_violations),
        ]
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{what} {n}"))
        .collect();
        // The same failure from several threads or repeats is said once.
        for failure in &self.failures {
            if !parts.contains(failure) {
                parts.push(failure.clone());
            }
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// `fan-out workers=2`
    pub fn title(&self) -> String {
        match self.workers {
            Some(workers) => format!("{} workers={workers}", self.workload),
            None => self.workload.clone(),
        }
    }
}

/// CPU use over a run, in cores (1.0 = one core busy for the whole window).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuShares {
    pub generator: f64,
    /// `None` when unknown (an external server without `--server-pid`).
    pub server: Option<f64>,
    /// Fraction of all cores' time the machine was busy.
    pub machine_busy: Option<f64>,
    pub cores: usize,
    /// Share of one core used by the busiest generator thread.
    pub busiest_thread: f64,
}

impl CpuShares {
    pub fn of(usage: &Usage, cores: usize) -> CpuShares {
        let wall = usage.wall.as_secs_f64().max(1e-9);
        CpuShares {
            generator: usage.generator_cpu.as_secs_f64() / wall,
            server: usage.server_cpu.map(|cpu| cpu.as_secs_f64() / wall),
            machine_busy: usage.machine_busy,
            cores,
            busiest_thread: usage.busiest_generator_thread,
        }
    }
}

impl CpuShares {
    /// Cores busy with neither the server nor the generator, when the server's share is
    /// known.
    pub fn others(&self) -> Option<f64> {
        let busy_cores = self.machine_busy? * self.cores as f64;
        Some((busy_cores - self.generator - self.server?).max(0.0))
    }
}

/// Other processes using this much of a core make a run's figures unreliable.
pub const NOISY_NEIGHBOURS: f64 = 0.25;

/// A generator thread this busy could not have gone faster.
pub const SATURATED_THREAD: f64 = 0.9;
/// A machine this busy has no spare core for whoever wants more.
pub const SATURATED_MACHINE: f64 = 0.9;

/// Whether the generator rather than the server looks like the bottleneck, and why.
///
/// The rule: (a) one generator thread used at least 90 % of a core over its life, so the
/// generator could not have sent or read faster; or (b) the machine's cores were at least
/// 90 % busy and the generator used more CPU than the server, so the server was short of
/// CPU because of the generator. When the server's CPU is unknown, the machine's busy time
/// not spent by the generator stands in for it.
pub fn bottleneck(shares: &CpuShares) -> Option<&'static str> {
    if shares.busiest_thread >= SATURATED_THREAD {
        return Some("a generator thread used 90 % or more of a core");
    }
    let busy = shares.machine_busy?;
    let busy_cores = busy * shares.cores as f64;
    let server = shares
        .server
        .unwrap_or((busy_cores - shares.generator).max(0.0));
    (busy >= SATURATED_MACHINE && shares.generator > server).then_some(
        "the cores were 90 % busy or more and the generator used more CPU than the server",
    )
}

/// The median of `values`, `None` if empty (the mean of the middle two for an even count).
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// One row for repeats of the same run: performance figures are the median of each figure
/// over the repeats; error counts and failures are summed, so a failure in any repeat shows.
pub fn combine(repeats: &[RunResult]) -> RunResult {
    let Some(first) = repeats.first() else {
        return RunResult::default();
    };
    if repeats.len() == 1 {
        return first.clone();
    }
    let med = |figure: &dyn Fn(&RunResult) -> Option<f64>| {
        let mut values: Vec<f64> = repeats.iter().filter_map(figure).collect();
        median(&mut values)
    };
    let latency = |pick: fn(&Latency) -> f64| med(&|r: &RunResult| r.latency.as_ref().map(pick));
    let idle = first.idle.map(|idle| IdleFigures {
        connect_s: med(&|r: &RunResult| r.idle.map(|i| i.connect_s)).unwrap_or(idle.connect_s),
        joins_s: med(&|r: &RunResult| r.idle.and_then(|i| i.joins_s)),
        rss_kib_per_conn: med(&|r: &RunResult| r.idle.and_then(|i| i.rss_kib_per_conn)),
        ..idle
    });
    let mut counts = Counts::default();
    for repeat in repeats {
        counts += repeat.counts;
    }
    RunResult {
        workload: first.workload.clone(),
        workers: first.workers,
        nodes: first.nodes,
        transports: first.transports,
        deliveries: med(&|r: &RunResult| Some(r.deliveries as f64)).unwrap_or(0.0) as u64,
        throughput: med(&|r: &RunResult| r.throughput),
        latency: latency(|l| l.p50).map(|p50| Latency {
            p50,
            p99: latency(|l| l.p99).unwrap_or(f64::NAN),
            p999: latency(|l| l.p999).unwrap_or(f64::NAN),
            max: latency(|l| l.max).unwrap_or(f64::NAN),
        }),
        counts,
        p99_change_pct: med(&|r: &RunResult| r.p99_change_pct),
        server_us_per_delivery: med(&|r: &RunResult| r.server_us_per_delivery),
        writes_per_line: med(&|r: &RunResult| r.writes_per_line),
        allocs_per_line: med(&|r: &RunResult| r.allocs_per_line),
        generator_cpu_pct: med(&|r: &RunResult| Some(r.generator_cpu_pct)).unwrap_or(0.0),
        server_cpu_pct: med(&|r: &RunResult| r.server_cpu_pct),
        machine_busy_pct: med(&|r: &RunResult| r.machine_busy_pct),
        other_cpu_pct: med(&|r: &RunResult| r.other_cpu_pct),
        bottleneck: repeats.iter().find_map(|r| r.bottleneck.clone()),
        idle,
        // Counted since each server started: the last repeat's are those of a whole run.
        server_stats: repeats.iter().rev().find_map(|r| r.server_stats.clone()),
        peer: first.peer.clone(),
        order: first.order,
        failures: repeats.iter().flat_map(|r| r.failures.clone()).collect(),
        wall_s: repeats.iter().map(|r| r.wall_s).sum(),
    }
}

/// Deliveries per second over `elapsed`, if it is measurable.
pub fn rate(lines: u64, elapsed: Duration) -> Option<f64> {
    let seconds = elapsed.as_secs_f64();
    (lines > 0 && seconds > 0.0).then(|| lines as f64 / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0]), Some(3.0));
        assert_eq!(median(&mut [5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn percentiles_come_from_the_histogram_in_milliseconds() {
        let mut histogram = Histogram::<u64>::new(3).unwrap();
        for us in 1..=1000 {
            histogram.record(us).unwrap();
        }
        histogram.record(50_000).unwrap();
        let latency = Latency::from_histogram(&histogram).unwrap();
        assert!((latency.p50 - 0.5).abs() < 0.01, "{latency:?}");
        assert!((latency.p99 - 0.99).abs() < 0.01, "{latency:?}");
        assert!((latency.p999 - 1.0).abs() < 0.01, "{latency:?}");
        assert!((latency.max - 50.0).abs() < 0.1, "{latency:?}");
        assert_eq!(Latency::from_histogram(&Histogram::new(3).unwrap()), None);
    }

    fn shares(generator: f64, server: Option<f64>, busy: f64, busiest: f64) -> CpuShares {
        CpuShares {
            generator,
            server,
            machine_busy: Some(busy),
            cores: 2,
            busiest_thread: busiest,
        }
    }

    #[test]
    fn the_bottleneck_rule() {
        // Server-bound: busy machine, server uses more.
        assert_eq!(bottleneck(&shares(0.4, Some(1.5), 0.97, 0.3)), None);
        // Busy machine and the generator uses more than the server.
        assert!(bottleneck(&shares(1.1, Some(0.8), 0.96, 0.6)).is_some());
        // The generator uses more, but there was spare CPU.
        assert_eq!(bottleneck(&shares(0.6, Some(0.4), 0.5, 0.4)), None);
        // One saturated generator thread is enough.
        assert!(bottleneck(&shares(0.95, Some(0.2), 0.6, 0.95)).is_some());
        // Unknown server CPU: the rest of the machine's busy time stands in (2 cores: 1.9
        // busy, 1.2 of it the generator's, so 0.7 for the server).
        assert!(bottleneck(&shares(1.2, None, 0.95, 0.6)).is_some());
        assert_eq!(bottleneck(&shares(0.5, None, 0.95, 0.3)), None);
    }

    #[test]
    fn other_processes_get_what_the_server_and_generator_did_not_use() {
        let others = shares(0.5, Some(1.0), 0.9, 0.3).others().unwrap();
        assert!((others - 0.3).abs() < 1e-9, "{others}");
        assert_eq!(shares(0.5, None, 0.9, 0.3).others(), None);
        assert_eq!(shares(1.0, Some(1.0), 0.9, 0.3).others(), Some(0.0));
    }

    fn row(throughput: f64, p99: f64, lost: u64) -> RunResult {
        RunResult {
            workload: "paced 100k".to_owned(),
            workers: Some(2),
            throughput: Some(throughput),
            latency: Some(Latency {
                p50: 1.0,
                p99,
                p999: 3.0,
                max: 4.0,
            }),
            counts: Counts {
                lost,
                ..Counts::default()
            },
            ..RunResult::default()
        }
    }

    #[test]
    fn repeats_combine_into_medians_and_summed_errors() {
        let combined = combine(&[row(100.0, 5.0, 0), row(300.0, 1.0, 2), row(200.0, 3.0, 0)]);
        assert_eq!(combined.throughput, Some(200.0));
        assert_eq!(combined.latency.unwrap().p99, 3.0);
        assert_eq!(combined.counts.lost, 2);
        assert_eq!(combined.failure_summary().as_deref(), Some("lost 2"));
        assert_eq!(combined.title(), "paced 100k workers=2");
    }

    #[test]
    fn the_failure_summary_names_each_count_and_failure() {
        let mut result = row(1.0, 1.0, 12);
        result.counts.order_violations = 1;
        result.failures.push("timed out".to_owned());
        result.failures.push("timed out".to_owned());
        assert_eq!(
            result.failure_summary().as_deref(),
            Some("lost 12, order violations 1, timed out")
        );
        assert!(result.failed());
        assert_eq!(row(1.0, 1.0, 0).failure_summary(), None);
    }

    #[test]
    fn steps_back_fail_a_run_only_where_one_order_is_promised() {
        let mut result = row(1.0, 1.0, 0);
        result.counts.order_violations = 3;
        result.order = Some(OrderStance::Promised);
        assert!(result.failed());
        for stance in [OrderStance::ByDesign, OrderStance::NotPromised] {
            result.order = Some(stance);
            assert!(!result.failed(), "{stance:?}");
            assert_eq!(result.failure_summary(), None);
        }
        // Lost lines fail every run.
        result.counts.lost = 1;
        assert_eq!(result.failure_summary().as_deref(), Some("lost 1"));
    }
}
