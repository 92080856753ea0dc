//! The rooms workload: R rooms of N members each, every client in exactly one room; the first
//! S members of each room send M `MSG #room` lines each as fast as the server delivers them;
//! throughput, server cost per delivery, and one order per room.
//!
//! In scope: the [`Rooms`] spec and turning it into an engine plan. Out of scope: putting the
//! clients into their rooms (`room_setup`), running the plan (`engine`) and judging it
//! (`verdict`).

use crate::loadgen::outcome::RunResult;
use crate::loadgen::workload::context::Context;
use crate::loadgen::workload::plan::{Pattern, Plan, Sending};
use crate::loadgen::workload::verdict;

/// R rooms of N members each, every client in exactly one room (R × N clients); the first S
/// members of each room send M `MSG #room` lines each as fast as the server delivers them,
/// and every other member receives them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rooms {
    pub rooms: u32,
    /// Clients in each room.
    pub members: u32,
    /// Members of each room that send.
    pub senders: u32,
    /// Lines each sender sends to its room.
    pub messages: u32,
    /// Payload bytes of each `MSG #room`.
    pub size: usize,
}

impl Default for Rooms {
    fn default() -> Rooms {
        Rooms {
            rooms: 200,
            members: 10,
            senders: 2,
            messages: 1_000,
            size: 32,
        }
    }
}

pub(super) fn run(spec: &Rooms, context: &Context<'_>, result: &mut RunResult) {
    let plan = Plan {
        clients: spec.rooms * spec.members,
        pattern: Pattern::Rooms {
            members: spec.members,
            senders: spec.senders,
        },
        sending: Sending::Closed {
            messages: spec.messages,
        },
        size: spec.size,
        stalled: 0,
        stalled_recv_buffer: 0,
        stall_rate: 0,
        // As for fan-out: closed-loop latency would measure the flow-control window.
        latency: false,
    };
    verdict::run_and_judge(&plan, context, result);
}
