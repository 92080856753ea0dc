//! The paced workload (a fixed aggregate delivery rate, open loop, latency percentiles) and
//! its stalled variant (the same plus clients that never read, which must be dropped as
//! slow consumers).
//!
//! In scope: turning a [`Paced`] (and [`Stalled`]) into an engine plan. Out of scope:
//! running it (`engine`) and the comparison with the plain run (`workload::run`).

use crate::loadgen::outcome::RunResult;
use crate::loadgen::workload::engine::{self, Pattern, Plan, Sending};
use crate::loadgen::workload::verdict;
use crate::loadgen::workload::{Context, Paced, Stalled};

pub(super) fn run(
    spec: &Paced,
    stalled: Option<&Stalled>,
    context: &Context<'_>,
    result: &mut RunResult,
) {
    let plan = Plan {
        clients: spec.clients,
        pattern: Pattern::Broadcast {
            senders: spec.senders,
        },
        sending: Sending::Paced {
            // Each ALL reaches every other healthy client.
            lines_per_second: spec.rate / f64::from(spec.clients - 1),
            warmup: spec.warmup,
            duration: spec.duration,
        },
        size: spec.size,
        stalled: stalled.map_or(0, |s| s.stalled),
        stalled_recv_buffer: stalled.map_or(0, |s| s.recv_buffer),
        stall_rate: stalled.map_or(0, |s| s.stall_rate),
        latency: true,
    };
    match engine::run(&plan, context) {
        Ok(measured) => verdict::judge(&plan, measured, context, result),
        Err(error) => result.failures.push(error),
    }
}
