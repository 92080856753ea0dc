//! The reasons the server gives in `QUIT <nick> <reason>` and `BYE <reason>` when it, not the
//! client, ends a connection. Clients may match on them.
//!
//! Out of scope: deciding to end a connection (the server).

/// The client closed its side without `QUIT`.
pub const CONNECTION_CLOSED: &str = "connection closed";
/// The client's connection was reset.
pub const CONNECTION_RESET: &str = "connection reset";
/// The client's outbound queue overflowed; contains "slow", as the contract asks.
pub const SLOW_CONSUMER: &str = "slow consumer: outbound queue full";
/// The server is stopping (`BYE server shutting down`).
pub const SHUTTING_DOWN: &str = "server shutting down";
/// The server could not take a new connection in after greeting it (`BYE server error`).
pub const SERVER_ERROR: &str = "server error";
/// The client did not choose a nick within `--register-timeout`.
pub const REGISTER_TIMEOUT: &str = "register timeout";
/// The client sent nothing for `--idle-timeout`, then nothing after the server's `PING`.
pub const PING_TIMEOUT: &str = "ping timeout";
/// Nothing could be written to the client for `--write-timeout`: it stopped reading.
pub const WRITE_TIMEOUT: &str = "write timeout";
/// The account this connection was logged in to logged in on another connection, which
/// took its nick (one connection per account).
pub const LOGGED_IN_ELSEWHERE: &str = "logged in elsewhere";
/// The connection's node of a cluster was found lost by the others (it renewed no lease for
/// longer than the lease: frozen, or cut off from NATS), who took its clients as gone: it
/// ends their connections, to reconnect and catch up.
pub const LOST_BY_THE_CLUSTER: &str = "node lost by the cluster";
/// The connection's node of a cluster fell further behind the cluster's stream than the
/// stream keeps, so the connection may have missed lines: it ends it, to reconnect and catch
/// up from the history.
pub const FELL_BEHIND: &str = "node fell behind the cluster";
