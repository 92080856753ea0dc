//! chatd: a small chat server speaking a plain text line protocol, usable with `nc`.
//!
//! Layout, in reading order:
//! - [`protocol`]: commands, replies, error codes, nicks. Pure.
//! - [`line_buffer`]: bytes to lines under the `--max-line` limit. Pure.
//! - [`config`]: the command line and the validated [`config::Config`].
//! - [`server`]: acceptor, poller, worker pool, sessions, client table, writers.
//! - [`logging`]: log set-up for the binaries and tests.
//! - [`client`]: the terminal client `chat`: state, drawing, socket, line mode.
//! - [`loadgen`]: the load generator behind `chatd-bench` and `cargo bench --bench load`.
//! - [`soak`]: the soak and chaos test behind `chatd-soak`, built on `loadgen`'s clients.
//!
//! Logging levels: `error`, the server cannot go on as asked (bind or accept failures, a
//! thread panicked); `warn`, a client was dropped for misbehaviour (slow consumer) or refused
//! (server full); `info`, lifecycle (listening, shutting down, stopped); `debug`, one line per
//! connection event (connected, registered, renamed, quit, closed) with the peer address;
//! `trace`, wire lines. Message bodies appear only at `trace`.

#![deny(unsafe_code)]

pub mod client;
pub mod config;
pub mod line_buffer;
pub mod loadgen;
pub mod logging;
pub mod protocol;
pub mod server;
pub mod soak;
