//! The benchmark and chaos tooling of chatd: [`loadgen`] (behind `chatd-bench` and
//! `cargo bench --bench load`), [`memory`] (behind `chatd-bench memory`), [`soak`] (behind
//! `chatd-soak`), and what the soak uses to see the server's sockets from the kernel's side
//! ([`sock_diag`]).
//!
//! Both drive a server over the wire only. The one thing they take from the server crate is
//! its public API (`Server`, `ServerHandle`, `Stats`, `Config`), to start an in-process
//! server; they never reach into its internals. The server must never depend on this crate
//! (only the root package's `benches/load.rs` does, as a dev-dependency).

pub mod loadgen;
pub mod memory;
pub mod soak;
pub mod sock_diag;
