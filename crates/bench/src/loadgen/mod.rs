//! The load generator behind `chatd-bench` and `cargo bench --bench load`: workloads that
//! drive a chatd server over TCP, WebSocket, TLS or a mix (or, for comparison, a Redis or NATS
//! server over TCP), check every line they get, and report what the server did and what it
//! cost.
//!
//! Layout, in reading order:
//! - [`payload`]: what each message carries (sender, sequence number, send time). Pure.
//! - [`check`]: lost, duplicated, out-of-order lines; one global `ALL` order, one order per
//!   room. Pure.
//! - [`outcome`]: one run's figures, the failure and bottleneck rules, medians. Pure.
//! - [`workload`]: the six workloads and one run of any of them.
//! - [`client`], [`reader`], [`sender`], [`board`]: the generator's sockets and threads.
//! - [`dialect`]: the protocol a run speaks, chatd's or a peer's (Redis pub/sub, NATS).
//! - [`transport`], [`websocket`], [`tls`], [`pki`]: how each client reaches chatd, over TCP,
//!   its `/ws` or TLS, and the certificates of a TLS run.
//! - [`target`]: the server a run talks to (in-process, child process, a cluster's nodes,
//!   external, a peer); [`child`], [`nodes`]: the processes a run starts (one `chatd`; N
//!   of them joined through a `nats-server` of the run's own, `--nodes`).
//! - [`probe`]: the pre-flight probe of an external server's flood control.
//! - [`server_stats`]: the server's own figures (`STATS`) at the end of a run.
//! - [`meter`], [`sysstat`], [`alloc`]: CPU accounting, `/proc` readings, allocation counts.
//! - [`suite`], [`report`], [`setup`], [`progress`]: many runs, tables, CSV, SVG, headers.
//!
//! The generator is built to cost much less than the server per line, or the results would
//! measure the generator: a few reader threads own many sockets each (epoll, one large read
//! buffer per thread, byte scanning), a few sender threads write large batches, and every
//! generator thread accounts for its own CPU time, so a run can tell when it, rather than
//! the server, was the bottleneck.

pub mod alloc;
pub mod board;
pub mod check;
pub mod child;
pub mod client;
pub mod dialect;
pub mod meter;
pub mod nodes;
pub mod outcome;
pub mod payload;
pub mod pki;
pub mod probe;
pub mod progress;
pub mod reader;
pub mod report;
pub mod sender;
pub mod server_stats;
pub mod setup;
pub mod suite;
pub mod sysstat;
pub mod target;
pub mod tls;
pub mod transport;
pub mod websocket;
pub mod workload;

pub use alloc::CountingAlloc;
pub use workload::{
    Direct, FanOut, GeneratorSettings, Idle, Paced, Rooms, RunSpec, STALLED_SEND_QUEUE, Stalled,
    Workload,
};
