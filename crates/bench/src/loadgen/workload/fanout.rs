//! The fan-out workload: C registered clients, S of them send M `ALL`s each as fast as the
//! server delivers them; throughput, server cost per delivery and the global order.
//!
//! In scope: turning a [`FanOut`] into an engine plan. Out of scope: running it (`engine`).

use crate::loadgen::outcome::RunResult;
use crate::loadgen::workload::engine::{self, Pattern, Plan, Sending};
use crate::loadgen::workload::verdict;
use crate::loadgen::workload::{Context, FanOut};

pub(super) fn run(spec: &FanOut, context: &Context<'_>, result: &mut RunResult) {
    let plan = Plan {
        clients: spec.clients,
        pattern: Pattern::Broadcast {
            senders: spec.senders,
        },
        sending: Sending::Closed {
            messages: spec.messages,
        },
        size: spec.size,
        stalled: 0,
        stalled_recv_buffer: 0,
        stall_rate: 0,
        // Closed-loop latency mostly measures the flow-control window: not reported.
        latency: false,
    };
    match engine::run(&plan, context) {
        Ok(measured) => verdict::judge(&plan, measured, context, result),
        Err(error) => result.failures.push(error),
    }
}
