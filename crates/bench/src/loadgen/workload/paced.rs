//! The paced workload (a fixed aggregate delivery rate, open loop, latency percentiles) and
//! its stalled variant (the same plus clients that never read, which must be dropped as
//! slow consumers).
//!
//! In scope: the [`Paced`] and [`Stalled`] specs (and the stalled run's server queue), and
//! turning them into an engine plan. Out of scope: running it (`engine`) and the comparison
//! with the plain run (`workload::run`).

use std::time::Duration;

use crate::loadgen::outcome::RunResult;
use crate::loadgen::workload::context::Context;
use crate::loadgen::workload::plan::{Pattern, Plan, Sending};
use crate::loadgen::workload::verdict;

/// A fixed aggregate delivery rate, open loop: `rate / (clients - 1)` `ALL` lines a second,
/// spread over the senders, each sent when it is due. Latency is measured from when a line
/// was due, after a warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Paced {
    pub clients: u32,
    pub senders: u32,
    /// Deliveries per second over all recipients.
    pub rate: f64,
    /// Measured part, after the warm-up.
    pub duration: Duration,
    /// Sent, delivered and checked, but left out of the latency histogram.
    pub warmup: Duration,
    pub size: usize,
}

impl Default for Paced {
    fn default() -> Paced {
        Paced {
            clients: 200,
            senders: 20,
            rate: 100_000.0,
            duration: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            size: 32,
        }
    }
}

/// The paced workload plus a few clients that register and never read. They must be
/// dropped as slow consumers, announced to every healthy client, without hurting the
/// healthy clients' latency much. To fall behind within seconds they also send long
/// `PING`s whose answers they never read ([`Stalled::stall_rate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Stalled {
    pub paced: Paced,
    pub stalled: u32,
    /// `SO_RCVBUF` of the stalled clients, set after connecting; 0 leaves the kernel's.
    /// Shrinking it below the window already advertised makes the kernel drop the server's
    /// segments, the acknowledgements they carry included, which stalls the client's own
    /// writes: so it is off by default.
    pub recv_buffer: usize,
    /// Bytes per second of `PING`s each stalled client sends (and never reads the `PONG`s
    /// of) from the end of the warm-up, so it falls behind within the run: on loopback the
    /// server's socket alone buffers several MiB. See `sender::run_stuffing`.
    pub stall_rate: u64,
}

impl Default for Stalled {
    fn default() -> Stalled {
        Stalled {
            paced: Paced::default(),
            stalled: 3,
            recv_buffer: 0,
            stall_rate: 8 * 1024 * 1024,
        }
    }
}

/// Server settings for the stalled run (and the paced run it is compared with): a small
/// queue, so the stalled clients are dropped within seconds.
pub const STALLED_SEND_QUEUE: usize = 64 * 1024;

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
    verdict::run_and_judge(&plan, context, result);
}
