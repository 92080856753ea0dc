//! The fan-out workload: C registered clients, S of them send M `ALL`s each as fast as the
//! server delivers them; throughput, server cost per delivery and the global order.
//!
//! In scope: the [`FanOut`] spec and turning it into an engine plan. Out of scope: running it (`engine`).

use crate::loadgen::outcome::RunResult;
use crate::loadgen::workload::context::Context;
use crate::loadgen::workload::plan::{Pattern, Plan, Sending};
use crate::loadgen::workload::verdict;

/// C clients registered; S of them send M `ALL`s each as fast as the server delivers them.
#[derive(Debug, Clone, PartialEq)]
pub struct FanOut {
    pub clients: u32,
    pub senders: u32,
    pub messages: u32,
    /// Payload bytes of each `ALL`.
    pub size: usize,
}

impl Default for FanOut {
    fn default() -> FanOut {
        FanOut {
            clients: 50,
            senders: 5,
            messages: 20_000,
            size: 32,
        }
    }
}

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
    verdict::run_and_judge(&plan, context, result);
}
