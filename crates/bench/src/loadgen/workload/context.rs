//! What every workload runs with: the server it talks to, the generator's settings, and the
//! figures of the run they need from its spec.
//!
//! In scope: [`GeneratorSettings`] and [`Context`]. Out of scope: the workloads themselves
//! and the [`RunSpec`](super::RunSpec) a context is made from (`workload`): a context holds
//! only what the workloads read, so that none of them needs the module that lists them all.

use std::time::Duration;

use crate::loadgen::target::Target;
use crate::loadgen::transport::Transports;

/// How the generator itself is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct GeneratorSettings {
    /// Reader threads, each watching its share of the sockets.
    pub readers: usize,
    /// Sender threads, each writing for its share of the sending clients.
    pub sender_threads: usize,
    /// Closed-loop senders: lines in flight towards one receiver. `None`: derived from the
    /// server's `--send-queue`, well below it.
    pub window: Option<u64>,
    /// The longest any one phase of a run may take. `None`: derived from the run's size.
    pub timeout: Option<Duration>,
    /// How the clients reach the server: TCP, WebSocket, or half each. (The stalled run's
    /// clients that never read are over TCP whatever this says: their socket options make
    /// the server cut them within seconds.)
    pub transports: Transports,
}

impl Default for GeneratorSettings {
    fn default() -> GeneratorSettings {
        GeneratorSettings {
            readers: 2,
            sender_threads: 2,
            window: None,
            timeout: None,
            transports: Transports::Tcp,
        }
    }
}

/// What every workload gets to run with.
pub(crate) struct Context<'a> {
    pub target: &'a Target,
    pub generator: &'a GeneratorSettings,
    /// The run's row name, for the progress display.
    pub title: String,
    /// The server's `--send-queue` in bytes, which sizes the senders' window.
    pub send_queue: usize,
    /// Whether the counting allocator sees the server's allocations (in-process only).
    pub allocs_counted: bool,
    /// What a timed-out wait names as its likely causes (see `probe::likely_causes`).
    pub timeout_causes: String,
}
