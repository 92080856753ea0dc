//! chatd: a small chat server speaking a plain text line protocol, usable with `nc`.
//!
//! Layout, in reading order:
//! - [`config`]: the command line, the `--config` file and the validated [`config::Config`].
//! - [`server`]: the server. Its public face is all a user needs: [`server::Server`] (`bind`,
//!   `local_addr`, `start`), [`server::ServerHandle`] (`local_addr`, `stats`, `apply`,
//!   `failure`, `on_failure`, `shutdown`), [`server::Stats`], [`server::ShutdownReport`],
//!   [`server::Failure`] and, for the binary, [`server::OpenFiles`] and
//!   [`server::AccountAdmin`] (`chatd account`, with the server stopped). Everything inside
//!   (acceptor, poller, worker pool, sessions, client table, writers) is private to this
//!   crate; the module list in reading order is in `server`'s own docs.
//! - [`logging`]: log set-up for the binaries and tests.
//!
//! The wire protocol and the line framer are the `chatd-proto` crate; the terminal client, the
//! load generator and the soak test are crates of their own and never reach in here. This
//! crate must never depend on them, nor on anything that draws a screen or a chart: its public
//! API is `Server`, `ServerHandle`, `Stats`, `ShutdownReport`, `AccountAdmin`, `config` and
//! `logging`.
//!
//! Logging levels: `error`, the server cannot go on as asked (bind or accept failures, a
//! thread died); `warn`, a client was dropped for misbehaviour (slow consumer, write timeout)
//! or refused (server full, too many or too often from its address), at most one line per
//! address and 10 s for what a client can cause at will; `info`, lifecycle (listening, a
//! reload, shutting down, stopped); `debug`, one line per connection event (connected,
//! registered, renamed, quit, closed) with the peer address; `trace`, wire lines. Message
//! bodies appear only at `trace`.

#![deny(unsafe_code)]

pub mod config;
pub mod logging;
pub mod server;
