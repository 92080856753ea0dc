//! The chatd wire protocol, shared by the server, the `chat` client and the benchmark.
//!
//! In scope: framing bytes into lines ([`line_buffer`]), parsing a line into a [`Command`] or
//! a [`Reply`] and formatting them back ([`protocol`]), the error codes, and the [`Nick`] and
//! [`Room`] types. This crate is the only place that knows how the protocol is spelled.
//!
//! Must never depend on anything: no crates, no I/O, no logging, no locks, no threads. It has
//! no `[dependencies]`, so the build itself keeps it pure, and the fuzz targets and property
//! tests can drive it alone.

pub mod line_buffer;
pub mod protocol;

pub use line_buffer::{Frame, LineBuffer};
pub use protocol::*;
