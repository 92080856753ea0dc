//! One row against another from the same run, as the report's paragraphs under its tables:
//! TLS rows against their plain rows (issue 18), and `--nodes` rows against their one
//! process (issue 19).
//!
//! In scope: pairing the rows and the ratios of their figures, with the goals and notes
//! that go with them. Pure. Out of scope: the tables (`report`) and the figures (`outcome`).

use crate::loadgen::outcome::RunResult;
use crate::loadgen::report::format::{three_digits, wrap};
use crate::loadgen::transport::Transports;

/// One figure of a row, if it has it.
type Figure = fn(&RunResult) -> Option<f64>;

/// `figure` of row `a` over row `b`'s; `None` if either lacks it or `b`'s is 0.
fn over(figure: Figure, a: &RunResult, b: &RunResult) -> Option<f64> {
    figure(a)
        .zip(figure(b))
        .and_then(|(a, b)| (b > 0.0).then(|| a / b))
}

/// The goals of issue 18: TLS fan-out at least this share of plain fan-out's deliveries/s...
const TLS_FANOUT_GOAL: f64 = 0.7;
/// ...and an idle TLS client at most this many times a plain one's memory.
const TLS_MEMORY_GOAL: f64 = 2.0;

/// When TLS rows are among the rows: `TLS/plain, <plain row>: deliveries/s 0.82x (goal >=
/// 0.7x: met), ...` for each TLS row whose plain row (the same workload and workers) is in
/// the report: deliveries/s, server CPU per delivery, memory per idle client, the idle
/// run's connect time. A figure either row lacks is left out.
pub fn tls_lines(results: &[RunResult]) -> Vec<String> {
    let mut lines = Vec::new();
    for tls in results.iter().filter(|r| r.transports == Transports::Tls) {
        let Some(plain) = tls.workload.strip_suffix(" (tls)").and_then(|name| {
            results.iter().find(|r| {
                r.transports == Transports::Tcp && r.workload == name && r.workers == tls.workers
            })
        }) else {
            continue;
        };
        let ratio = |figure: Figure| over(figure, tls, plain);
        let goal = |ratio: f64, met: bool, goal: String| {
            let verdict = if met { "met" } else { "NOT met" };
            format!("{}x ({goal}: {verdict})", three_digits(ratio))
        };
        let fanout = plain.workload.starts_with("fan-out");
        let parts: Vec<String> = [
            ratio(|r| r.throughput).map(|x| match fanout {
                true => format!(
                    "deliveries/s {}",
                    goal(
                        x,
                        x >= TLS_FANOUT_GOAL,
                        format!("goal >= {TLS_FANOUT_GOAL}x")
                    )
                ),
                false => format!("deliveries/s {}x", three_digits(x)),
            }),
            ratio(|r| r.server_us_per_delivery)
                .map(|x| format!("server CPU per delivery {}x", three_digits(x))),
            ratio(|r| r.idle.and_then(|i| i.rss_kib_per_conn)).map(|x| {
                let met = x <= TLS_MEMORY_GOAL;
                let text = goal(x, met, format!("goal <= {TLS_MEMORY_GOAL}x"));
                format!("memory per idle client {text}")
            }),
            ratio(|r| r.idle.map(|i| i.connect_s)).map(|x| {
                let clients = plain.idle.map_or(0, |i| i.clients);
                format!("time to connect {clients} clients {}x", three_digits(x))
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            lines.extend(wrap(format!("TLS/plain, {}:", plain.title()), &parts));
        }
    }
    if !lines.is_empty() {
        lines.insert(
            0,
            "TLS against plain: each TLS row's figure over its plain row's, from the same run \
             (with --runs, the two take turns)."
                .to_owned(),
        );
    }
    lines
}

/// When `--nodes` rows are among the rows: `nodes/one process, <one-process row>: ...` for
/// each nodes row whose one-process row (the same workload and total workers) is in the
/// report: deliveries/s, server CPU per delivery (every process of the cluster, its NATS
/// server included, against the one process), and the latency percentiles where both rows
/// have them (paced). A figure either row lacks is left out. Then what `--nodes` does not
/// compare.
pub fn nodes_lines(results: &[RunResult]) -> Vec<String> {
    let mut lines = Vec::new();
    for cluster in results {
        let Some(nodes) = cluster.nodes else {
            continue;
        };
        let suffix = format!(" ({nodes} nodes)");
        let Some(one) = cluster.workload.strip_suffix(&suffix).and_then(|name| {
            results.iter().find(|r| {
                r.nodes.is_none()
                    && r.transports == Transports::Tcp
                    && r.workload == name
                    && r.workers == cluster.workers
            })
        }) else {
            continue;
        };
        let named = |name: &str, figure: Figure| {
            over(figure, cluster, one).map(|x| format!("{name} {}x", three_digits(x)))
        };
        let parts: Vec<String> = [
            named("deliveries/s", |r| r.throughput),
            named("CPU per delivery", |r| r.server_us_per_delivery),
            named("p50", |r| r.latency.map(|l| l.p50)),
            named("p99", |r| r.latency.map(|l| l.p99)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !parts.is_empty() {
            let head = format!("{nodes} nodes/one process, {}:", one.title());
            lines.extend(wrap(head, &parts));
        }
    }
    if !lines.is_empty() {
        let intro = [
            "nodes against one process: each --nodes row's figure over its one-process row's (the same binary and",
            "  total workers), from the same run (with --runs, the two take turns); the nodes' CPU is that of every",
            "  process, nats-server included.",
        ];
        lines.splice(0..0, intro.map(str::to_owned));
    }
    lines
}
