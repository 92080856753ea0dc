//! [`ConnId`], the name of one connection inside the server: in the client table, the rooms,
//! the connection table, the poller's keys and every log line (`conn#42`).
//!
//! Out of scope: handing ids out (the acceptor counts them up from 1) and what a connection
//! is (`connection`).

/// Identifies one connection for its whole life; never reused.
pub type ConnId = u64;
