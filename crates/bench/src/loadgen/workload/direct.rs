//! The direct-message workload: pairs of clients stream `MSG`s to each other, both
//! directions at once; throughput and latency.
//!
//! In scope: turning a [`Direct`] into an engine plan. Out of scope: running it (`engine`).

use crate::loadgen::outcome::RunResult;
use crate::loadgen::workload::engine::{self, Pattern, Plan, Sending};
use crate::loadgen::workload::verdict;
use crate::loadgen::workload::{Context, Direct};

pub(super) fn run(spec: &Direct, context: &Context<'_>, result: &mut RunResult) {
    let plan = Plan {
        clients: 2 * spec.pairs,
        pattern: Pattern::Pairs,
        sending: Sending::Closed {
            messages: spec.messages,
        },
        size: spec.size,
        stalled: 0,
        stalled_recv_buffer: 0,
        stall_rate: 0,
        // From when a batch was formatted to when its line arrived: queueing in the window
        // included, which is what a streaming client sees.
        latency: true,
    };
    match engine::run(&plan, context) {
        Ok(measured) => verdict::judge(&plan, measured, context, result),
        Err(error) => result.failures.push(error),
    }
}
