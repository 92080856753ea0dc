//! How results are shown: two tables for the terminal (throughput and latency; resources),
//! the server's own `STATS` figures under them, what each row saw of one global order when
//! a peer (Redis, NATS) is among the rows, TLS rows against their plain rows (issue 18) and
//! `--nodes` rows against one process (issue 19: `compare`), warnings about the generator, a
//! CSV file and an SVG chart. Numbers are formatted by `format`.
//!
//! In scope: the layout and number formats of those outputs. Out of scope: the figures
//! themselves (`outcome`) and where files go (`setup`).
//!
//! A `-` in a table or an empty CSV cell means "not applicable or not measured" (no latency
//! for fan-out, no server CPU for an external server without `--server-pid`, ...).

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;

use crate::loadgen::outcome::{NOISY_NEIGHBOURS, RunResult};
use crate::loadgen::server_stats::ServerStats;
use crate::loadgen::setup::Setup;
use chatd_proto::StatName;
use compare::{nodes_lines, tls_lines};
use format::{count, dash, millis, percent, ratio, signed_percent, wrap};

pub use format::si;

mod compare;
mod format;

/// How a column shows a result.
type Cell = fn(&RunResult) -> String;

/// One column of a table.
struct Column {
    title: &'static str,
    /// Left-aligned (text) or right-aligned (numbers).
    left: bool,
    value: Cell,
}

const fn col(title: &'static str, value: Cell) -> Column {
    Column {
        title,
        left: false,
        value,
    }
}

fn workload(r: &RunResult) -> String {
    r.workload.clone()
}

fn workers(r: &RunResult) -> String {
    r.workers.map_or_else(dash, |w| w.to_string())
}

/// Throughput, latency and integrity.
const SPEED: &[Column] = &[
    Column {
        title: "workload",
        left: true,
        value: workload,
    },
    col("workers", workers),
    col("deliv/s", |r| r.throughput.map_or_else(dash, si)),
    col("p50 ms", |r| r.latency.map_or_else(dash, |l| millis(l.p50))),
    col("p99 ms", |r| r.latency.map_or_else(dash, |l| millis(l.p99))),
    col("p99.9 ms", |r| {
        r.latency.map_or_else(dash, |l| millis(l.p999))
    }),
    col("max ms", |r| r.latency.map_or_else(dash, |l| millis(l.max))),
    col("p99 vs paced", |r| {
        r.p99_change_pct.map_or_else(dash, signed_percent)
    }),
    col("lost", |r| r.counts.lost.to_string()),
    col("dup", |r| r.counts.duplicated.to_string()),
    col("ooo", |r| r.counts.out_of_order.to_string()),
    col("order", |r| r.counts.order_violations.to_string()),
    col("corrupt", |r| r.counts.corrupt.to_string()),
];

/// What the server and the generator used.
const RESOURCES: &[Column] = &[
    Column {
        title: "workload",
        left: true,
        value: workload,
    },
    col("workers", workers),
    col("srv us/ln", |r| {
        r.server_us_per_delivery.map_or_else(dash, ratio)
    }),
    col("writes/ln", |r| r.writes_per_line.map_or_else(dash, ratio)),
    col("allocs/ln", |r| r.allocs_per_line.map_or_else(dash, ratio)),
    col("srv CPU", |r| r.server_cpu_pct.map_or_else(dash, percent)),
    col("gen CPU", |r| {
        let mark = if r.bottleneck.is_some() { "!" } else { "" };
        format!("{}{mark}", percent(r.generator_cpu_pct))
    }),
    col("other", |r| r.other_cpu_pct.map_or_else(dash, percent)),
    col("conn s", |r| {
        r.idle.map_or_else(dash, |i| format!("{:.2}", i.connect_s))
    }),
    col("JOIN s", |r| {
        r.idle
            .and_then(|i| i.joins_s)
            .map_or_else(dash, |s| format!("{s:.2}"))
    }),
    col("KiB/conn", |r| {
        r.idle
            .and_then(|i| i.rss_kib_per_conn)
            .map_or_else(dash, |k| format!("{k:.1}"))
    }),
    col("threads", |r| {
        r.idle
            .and_then(|i| i.threads_before.zip(i.threads_after))
            .map_or_else(dash, |(b, a)| format!("{b}->{a}"))
    }),
    col("fds", |r| {
        r.idle
            .and_then(|i| i.fds)
            .map_or_else(dash, |f| f.to_string())
    }),
];

/// What the column titles mean, printed under the tables.
const LEGEND: &[&str] = &[
    "deliv/s: deliveries per second, first send to last delivery. p50..max: latency (ms). p99 vs paced: a stalled",
    "  run's p99 against the plain paced run with the same server settings (its baseline row). ooo: out of order.",
    "  order: order violations, steps back against a reference receiver's order of the ALL lines (rooms: of its room's",
    "  lines), over the lines both got.",
    "srv us/ln: server CPU per delivered line. writes/ln: writev calls per line written. allocs/ln: server allocations",
    "  per delivered line. CPU, other: % of one core (other: other processes). conn s, JOIN s, KiB/conn, threads,",
    "  fds: idle run (until all registered, until all JOINs arrived, server RSS per connection; server process).",
    "  ! after gen CPU: the generator may be the bottleneck (a thread at 90 % of a core, or cores 90 % busy and",
    "  the generator using more CPU than the server).",
    "server STATS: the server's own figures, asked with STATS after each run's window (see protocol.md); counted",
    "  since the server started, so an --addr server's include what came before.",
    "(ws) after a workload: every client over chatd's WebSocket (/ws); (mix): even clients over TCP, odd ones over",
    "  WebSocket; (tls): every client over TLS, at the server's --tls-addr; none: every client over TCP.",
    "(N nodes) after a workload: N chatd processes joined through a NATS server, clients spread over them, workers",
    "  shared out; srv CPU and srv us/ln then sum every process of them, the NATS server included; server STATS",
    "  sums the nodes' answers (latencies and peaks: the highest node's).",
];

/// The header and both tables, then one line per generator warning, as printed on stdout.
pub fn render(setup: &Setup, results: &[RunResult]) -> String {
    let mut out = String::from("chatd load benchmark\n");
    for line in setup.lines() {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    out.push_str(&table(SPEED, results));
    out.push('\n');
    out.push_str(&table(RESOURCES, results));
    out.push('\n');
    for line in LEGEND {
        let _ = writeln!(out, "{line}");
    }
    for block in [
        server_stats_lines(results),
        order_lines(results),
        tls_lines(results),
        nodes_lines(results),
    ] {
        if !block.is_empty() {
            out.push('\n');
            for line in block {
                let _ = writeln!(out, "{line}");
            }
        }
    }
    let warnings: Vec<String> = results.iter().flat_map(warnings).collect();
    if !warnings.is_empty() {
        out.push('\n');
        for warning in warnings {
            let _ = writeln!(out, "{warning}");
        }
    }
    out
}

/// One `server STATS, <row>: ...` paragraph per result that has the figures, wrapped at
/// [`format::WIDTH`].
fn server_stats_lines(results: &[RunResult]) -> Vec<String> {
    let mut lines = Vec::new();
    for result in results {
        if let Some(Ok(stats)) = &result.server_stats {
            let head = format!("server STATS, {}:", result.title());
            lines.extend(wrap(head, &stats_summary(stats)));
        } else if let Some(peer) = &result.peer {
            lines.push(format!(
                "server STATS, {}: none, STATS is chatd's own ({peer} is measured from /proc \
                 with --server-pid)",
                result.title()
            ));
        }
    }
    lines
}

/// When a peer is among the rows: `one global order, <row>: yes`, `no (3 steps back)` or
/// `not promised (...)` for each row that checks one (fan-out, paced, rooms: each room's),
/// under a head line saying what each server promises.
fn order_lines(results: &[RunResult]) -> Vec<String> {
    if results.iter().all(|r| r.peer.is_none()) {
        return Vec::new();
    }
    let mut lines = vec![
        "one global order (fan-out, paced: of all lines; rooms: of each room's): chatd promises it and a step back fails".to_owned(),
        "  the run; Redis gives it by design (one thread runs every PUBLISH) without promising it; NATS does not promise".to_owned(),
        "  one (only each publisher's order). A peer's run is never failed for it.".to_owned(),
    ];
    for result in results {
        if let Some(order) = result.order {
            lines.push(format!(
                "  {}: {}",
                result.title(),
                order.verdict(result.counts.order_violations)
            ));
        }
    }
    lines
}

/// The figures the report shows, by their `STATS` names: `deliveries_out 400k, fanout
/// p50/p99 0.412/3.10 ms, ...`; a figure the server did not send is left out.
fn stats_summary(stats: &ServerStats) -> Vec<String> {
    let figure = |name: &StatName| Some(format!("{name} {}", count(stats.get(name)?)));
    let millis_of = |name: &StatName| stats.get(name).map(|us| us as f64 / 1000.0);
    let latency = millis_of(&StatName::FanoutLatencyP50Us)
        .zip(millis_of(&StatName::FanoutLatencyP99Us))
        .map(|(p50, p99)| {
            if p99 > 0.0 {
                format!("fanout p50/p99 {}/{} ms", millis(p50), millis(p99))
            } else {
                // The server says 0 until it has written a delivery (an idle run has none).
                "fanout p50/p99 -".to_owned()
            }
        });
    [
        figure(&StatName::DeliveriesOut),
        latency,
        figure(&StatName::LinesIn),
        figure(&StatName::WriteCalls),
        figure(&StatName::QueuedBytesPeak),
        figure(&StatName::SlowConsumersCut),
        figure(&StatName::FloodPauses),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// `!` lines about a result: the generator as the bottleneck, busy neighbours, a server that
/// did not answer `STATS`.
fn warnings(result: &RunResult) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(Err(why)) = &result.server_stats {
        warnings.push(format!(
            "! {}: no server STATS after the run: {why}",
            result.title()
        ));
    }
    if let Some(why) = &result.bottleneck {
        warnings.push(format!(
            "! {}: the generator may be the bottleneck ({why}); the server's figures are a \
             lower bound",
            result.title()
        ));
    }
    if let Some(other) = result
        .other_cpu_pct
        .filter(|&o| o >= 100.0 * NOISY_NEIGHBOURS)
    {
        warnings.push(format!(
            "! {}: other processes used {other:.0}% of a core during the run; its figures are \
             noisy",
            result.title()
        ));
    }
    warnings
}

fn table(columns: &[Column], results: &[RunResult]) -> String {
    let cells: Vec<Vec<String>> = results
        .iter()
        .map(|r| columns.iter().map(|c| (c.value)(r)).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([c.title.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let titles: Vec<String> = columns.iter().map(|c| c.title.to_owned()).collect();
    for row in std::iter::once(&titles).chain(&cells) {
        let line: Vec<String> = row
            .iter()
            .zip(columns)
            .zip(&widths)
            .map(|((cell, column), &width)| {
                if column.left {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

/// The CSV columns, in order, with how to fill each.
const CSV: &[(&str, Cell)] = &[
    ("workload", |r| r.workload.clone()),
    ("workers", |r| opt(r.workers)),
    ("deliveries", |r| r.deliveries.to_string()),
    ("deliveries_per_s", |r| {
        opt(r.throughput.map(|t| format!("{t:.0}")))
    }),
    ("p50_ms", |r| opt(r.latency.map(|l| l.p50))),
    ("p99_ms", |r| opt(r.latency.map(|l| l.p99))),
    ("p999_ms", |r| opt(r.latency.map(|l| l.p999))),
    ("max_ms", |r| opt(r.latency.map(|l| l.max))),
    ("p99_change_pct", |r| {
        opt(r.p99_change_pct.map(|p| format!("{p:.1}")))
    }),
    ("lost", |r| r.counts.lost.to_string()),
    ("duplicated", |r| r.counts.duplicated.to_string()),
    ("out_of_order", |r| r.counts.out_of_order.to_string()),
    ("corrupt", |r| r.counts.corrupt.to_string()),
    ("order_violations", |r| {
        r.counts.order_violations.to_string()
    }),
    ("one_global_order", |r| {
        opt(r.order.map(|o| o.verdict(r.counts.order_violations)))
    }),
    ("server_us_per_delivery", |r| {
        opt(r.server_us_per_delivery.map(|v| format!("{v:.4}")))
    }),
    ("writes_per_line", |r| {
        opt(r.writes_per_line.map(|v| format!("{v:.5}")))
    }),
    ("allocs_per_line", |r| {
        opt(r.allocs_per_line.map(|v| format!("{v:.5}")))
    }),
    ("server_cpu_pct", |r| {
        opt(r.server_cpu_pct.map(|v| format!("{v:.1}")))
    }),
    ("generator_cpu_pct", |r| {
        format!("{:.1}", r.generator_cpu_pct)
    }),
    ("other_cpu_pct", |r| {
        opt(r.other_cpu_pct.map(|v| format!("{v:.1}")))
    }),
    ("machine_busy_pct", |r| {
        opt(r.machine_busy_pct.map(|v| format!("{v:.1}")))
    }),
    ("generator_bottleneck", |r| {
        (r.bottleneck.is_some() as u8).to_string()
    }),
    ("idle_clients", |r| opt(r.idle.map(|i| i.clients))),
    ("connect_s", |r| {
        opt(r.idle.map(|i| format!("{:.3}", i.connect_s)))
    }),
    ("joins_s", |r| {
        opt(r.idle.and_then(|i| i.joins_s).map(|s| format!("{s:.3}")))
    }),
    ("rss_kib_per_conn", |r| {
        opt(r
            .idle
            .and_then(|i| i.rss_kib_per_conn)
            .map(|v| format!("{v:.2}")))
    }),
    ("threads_before", |r| {
        opt(r.idle.and_then(|i| i.threads_before))
    }),
    ("threads_after", |r| {
        opt(r.idle.and_then(|i| i.threads_after))
    }),
    ("fds", |r| opt(r.idle.and_then(|i| i.fds))),
    ("server_deliveries_out", |r| {
        server_stat(r, &StatName::DeliveriesOut)
    }),
    ("server_fanout_p50_us", |r| {
        server_stat(r, &StatName::FanoutLatencyP50Us)
    }),
    ("server_fanout_p99_us", |r| {
        server_stat(r, &StatName::FanoutLatencyP99Us)
    }),
    ("server_queued_bytes_peak", |r| {
        server_stat(r, &StatName::QueuedBytesPeak)
    }),
    ("transport", |r| r.transports.name().to_owned()),
    ("nodes", |r| opt(r.nodes)),
    ("wall_s", |r| format!("{:.3}", r.wall_s)),
    ("failures", |r| r.failure_summary().unwrap_or_default()),
];

fn opt(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// A figure of the server's `STATS` after the run, or an empty cell.
fn server_stat(result: &RunResult, name: &StatName) -> String {
    let stats = result.server_stats.as_ref().and_then(|s| s.as_ref().ok());
    opt(stats.and_then(|stats| stats.get(name)))
}

/// The results as CSV, after `#` comment lines naming the machine, commit and command.
pub fn csv(setup: &Setup, results: &[RunResult]) -> String {
    let mut out = String::new();
    for line in setup.lines() {
        let _ = writeln!(out, "# {line}");
    }
    let header: Vec<&str> = CSV.iter().map(|(name, _)| *name).collect();
    let _ = writeln!(out, "{}", header.join(","));
    for result in results {
        let fields: Vec<String> = CSV
            .iter()
            .map(|(_, value)| csv_field(&value(result)))
            .collect();
        let _ = writeln!(out, "{}", fields.join(","));
    }
    out
}

/// Quotes a field that holds a comma, a quote or a line break (RFC 4180).
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Two charts side by side: deliveries/s and p99 latency against `--workers`, one line per
/// workload, on logarithmic scales (fan-out and paced rates, or milliseconds and seconds,
/// share a chart). Rows without a worker count (external server) are left out.
pub fn write_svg(path: &Path, results: &[RunResult]) -> Result<(), String> {
    let root = SVGBackend::new(path, (1200, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (left, right) = root.split_horizontally(600);
    let throughput = series(results, |r| r.throughput);
    chart(&left, "deliveries/s", &throughput, si)?;
    let p99 = series(results, |r| r.latency.map(|l| l.p99));
    chart(&right, "p99 latency (ms)", &p99, millis)?;
    root.present().map_err(|e| e.to_string())
}

type Series = Vec<(String, Vec<(u32, f64)>)>;

/// (workers, value) points per workload, in the order workloads first appear.
fn series(results: &[RunResult], value: fn(&RunResult) -> Option<f64>) -> Series {
    let mut series: Series = Vec::new();
    for result in results {
        let (Some(workers), Some(value)) = (result.workers, value(result)) else {
            continue;
        };
        if value <= 0.0 {
            continue; // Not on a logarithmic scale.
        }
        let point = (u32::try_from(workers).unwrap_or(u32::MAX), value);
        match series.iter_mut().find(|(name, _)| *name == result.workload) {
            Some((_, points)) => points.push(point),
            None => series.push((result.workload.clone(), vec![point])),
        }
    }
    series
}

fn chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    series: &Series,
    label: fn(f64) -> String,
) -> Result<(), String> {
    let points = series.iter().flat_map(|(_, p)| p);
    let x_max = points.clone().map(|p| p.0).max().unwrap_or(1) + 1;
    let lowest = points.clone().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let highest = points.map(|p| p.1).fold(0.0, f64::max);
    let (y_min, y_max) = if highest > 0.0 {
        (lowest / 2.0, highest * 2.0)
    } else {
        (1.0, 10.0)
    };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0..x_max, (y_min..y_max).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("--workers")
        .x_labels(x_max as usize + 1)
        .y_label_formatter(&|y| label(*y))
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, (name, points)) in series.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(|e| e.to_string())?
            .label(name.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))
            .map_err(|e| e.to_string())?;
    }
    if !series.is_empty() {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
