//! The direct-message workload: pairs of clients stream `MSG`s to each other, both
//! directions at once; throughput and latency.
//!
//! In scope: the [`Direct`] spec and turning it into an engine plan. Out of scope: running it (`engine`).

use crate::loadgen::outcome::RunResult;
use crate::loadgen::workload::context::Context;
use crate::loadgen::workload::plan::{Pattern, Plan, Sending};
use crate::loadgen::workload::verdict;

/// Pairs of clients streaming `MSG`s to each other, both directions at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Direct {
    pub pairs: u32,
    /// Lines each client sends to its partner.
    pub messages: u32,
    pub size: usize,
}

impl Default for Direct {
    fn default() -> Direct {
        Direct {
            pairs: 50,
            messages: 10_000,
            size: 32,
        }
    }
}

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
    verdict::run_and_judge(&plan, context, result);
}
