//! The verdict on a message run: every receiver's counts, the global `ALL` order (or each
//! room's order), the failures seen on the connections, throughput, latency, the CPU figures
//! and the server's own.
//!
//! In scope: turning the readers' reports into a [`RunResult`]. Out of scope: the checks
//! themselves (`check`) and running the workload (`engine`).

use crate::loadgen::check::{self, Counts, OrderLog, ReceiverCheck};
use crate::loadgen::client::Naming;
use crate::loadgen::outcome::{Latency, RunResult, latency_histogram, rate};
use crate::loadgen::reader::{Route, Tally};
use crate::loadgen::sysstat;
use crate::loadgen::workload::context::Context;
use crate::loadgen::workload::engine::{self, Measured};
use crate::loadgen::workload::plan::{Pattern, Plan};

/// Runs `plan` and puts its figures, or why it could not run, into `result`: what every
/// message workload does with its plan.
pub(super) fn run_and_judge(plan: &Plan, context: &Context<'_>, result: &mut RunResult) {
    match engine::run(plan, context) {
        Ok(measured) => judge(plan, measured, context, result),
        Err(error) => result.failures.push(error),
    }
}

/// Turns a message run's reports into the figures and failures of `result`.
fn judge(plan: &Plan, measured: Measured, context: &Context<'_>, result: &mut RunResult) {
    result.failures.extend(measured.failures.iter().cloned());
    let mut counts = Counts::default();
    let mut logs = Vec::new();
    let mut latency = latency_histogram();
    let mut last_delivery = None;
    let mut trouble = Trouble::new((plan.clients..plan.clients + plan.stalled).collect());
    for report in measured.reports {
        if let Err(error) = latency.add(&report.latency) {
            result
                .failures
                .push(format!("merging latency histograms: {error}"));
        }
        last_delivery = last_delivery.max(report.last_delivery);
        for conn in report.conns {
            trouble.note(&conn.tally);
            let Some((route, check)) = conn.check else {
                continue;
            };
            let (conn_counts, order) = finish_check(check, route, conn.index, &measured.sent);
            counts += conn_counts;
            if let Some(ids) = order {
                logs.push(OrderLog {
                    receiver: conn.index,
                    ids,
                });
            }
        }
    }
    result.failures.extend(trouble.failures(&measured.naming));
    counts.order_violations =
        check::grouped_order_violations(logs, |r| plan.order_group(r), |r| plan.is_sender(r));
    let dialect = context.target.dialect();
    // Whether a step back fails the run depends on what the server promises.
    if !matches!(plan.pattern, Pattern::Pairs) {
        result.order = Some(dialect.order_stance());
    }
    result.counts = counts;
    result.deliveries = counts.received;
    result.throughput = last_delivery.and_then(|last| {
        rate(
            counts.received,
            last.saturating_duration_since(measured.released),
        )
    });
    if plan.latency {
        result.latency = Latency::from_histogram(&latency);
    }
    result.wall_s = measured.usage.wall.as_secs_f64();
    result.set_usage(&measured.usage, sysstat::cores(), context.allocs_counted);
    result.server_stats = measured.server_stats;
}

/// A receiver's final counts: it should have every line its senders sent, but its own.
fn finish_check(
    check: ReceiverCheck,
    route: Route,
    index: u32,
    sent: &[u32],
) -> (Counts, Option<Vec<check::MessageId>>) {
    check.finish(|slot| match route {
        Route::Broadcast { .. } if slot == index as usize => 0,
        Route::Broadcast { .. } => sent[slot],
        Route::Partner(partner) => sent[partner as usize],
        Route::Room { first, .. } if first as usize + slot == index as usize => 0,
        Route::Room { first, .. } => sent[first as usize + slot],
    })
}

/// What went wrong on the healthy clients' connections besides their deliveries, summed so
/// that a fault shared by hundreds of clients makes one line, not hundreds.
struct Trouble {
    /// The stalled clients: every healthy client must see `QUIT <nick> slow consumer...`
    /// for each of them.
    stalled: Vec<u32>,
    unexpected_clients: u32,
    unexpected_lines: u64,
    first_unexpected: Option<String>,
    disconnected: u32,
    first_disconnect: Option<String>,
    /// Clients announced as slow consumers that were not stalled ones.
    wrongly_dropped: Vec<u32>,
    /// Healthy clients that missed the announcement of at least one stalled client.
    missed_announcements: u32,
}

impl Trouble {
    fn new(stalled: Vec<u32>) -> Trouble {
        Trouble {
            stalled,
            unexpected_clients: 0,
            unexpected_lines: 0,
            first_unexpected: None,
            disconnected: 0,
            first_disconnect: None,
            wrongly_dropped: Vec::new(),
            missed_announcements: 0,
        }
    }

    fn note(&mut self, tally: &Tally) {
        if tally.unexpected > 0 {
            self.unexpected_clients += 1;
            self.unexpected_lines += tally.unexpected;
            if self.first_unexpected.is_none() {
                self.first_unexpected.clone_from(&tally.first_unexpected);
            }
        }
        if let Some(why) = &tally.closed {
            self.disconnected += 1;
            self.first_disconnect.get_or_insert_with(|| why.clone());
        }
        for dropped in &tally.slow_quits {
            if !self.stalled.contains(dropped) && !self.wrongly_dropped.contains(dropped) {
                self.wrongly_dropped.push(*dropped);
            }
        }
        if self.stalled.iter().any(|s| !tally.slow_quits.contains(s)) {
            self.missed_announcements += 1;
        }
    }

    fn failures(&self, naming: &Naming) -> Vec<String> {
        let mut failures = Vec::new();
        if self.unexpected_lines > 0 {
            failures.push(format!(
                "{} unexpected lines at {} clients, the first: {:?}",
                self.unexpected_lines,
                self.unexpected_clients,
                self.first_unexpected.as_deref().unwrap_or("")
            ));
        }
        if let Some(why) = &self.first_disconnect {
            failures.push(format!(
                "{} clients lost their connection ({why})",
                self.disconnected
            ));
        }
        if !self.wrongly_dropped.is_empty() {
            let some: Vec<String> = self
                .wrongly_dropped
                .iter()
                .take(3)
                .map(|&i| naming.nick(i))
                .collect();
            failures.push(format!(
                "{} healthy clients dropped as slow consumers ({}{})",
                self.wrongly_dropped.len(),
                some.join(", "),
                if self.wrongly_dropped.len() > 3 {
                    ", ..."
                } else {
                    ""
                }
            ));
        }
        if self.missed_announcements > 0 {
            failures.push(format!(
                "{} healthy clients did not see QUIT <nick> slow consumer for every one of the {} \
                 stalled clients",
                self.missed_announcements,
                self.stalled.len()
            ));
        }
        failures
    }
}
