//! The idle-capacity workload: K registered clients that just sit there. Measures how long
//! they take to connect and register, how long until every `JOIN` has been delivered, and
//! what they cost the server: RSS per connection, threads, descriptors.
//!
//! In scope: the [`Idle`] spec, connecting K clients with a few connector threads while the
//! readers drain every socket, the `JOIN` count check, and the server's `/proc` figures before and after.
//! Out of scope: starting the server (a child `chatd`, see `target`: K clients plus an
//! in-process server would need twice the descriptors of one process).
//!
//! Every registration is announced to the clients already registered while at most
//! `--presence-limit` L clients are (the server's default; issue 14), so K clients get
//! M(M−1)/2 `JOIN`s between them, M = min(K, L), whatever order they register in. A
//! per-client `PING` after the last `OK NICK` tells when each has all of its own; a shortfall
//! counts as lost. (A server at `--addr` with another limit shows as lost or corrupt lines.)
//!
//! On a peer, a client registers by opening its session and subscribing to the lobby's
//! channel and its own (what a chat client listens on), then `PING`s: the answer says it is
//! registered. A peer announces nobody, so no `JOIN`s are expected, and none are timed.
//!
//! Each client connects over the run's transport (`transport`): a WebSocket client's
//! upgrade, or a TLS client's handshake, is part of its connect time.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use crate::loadgen::board::{Barrier, Board, Notice};
use crate::loadgen::client::Naming;
use crate::loadgen::dialect::Dialect;
use crate::loadgen::meter::{GeneratorCpu, Window};
use crate::loadgen::outcome::{IdleFigures, RunResult};
use crate::loadgen::payload::{Codec, HEADER_LEN};
use crate::loadgen::progress::Progress;
use crate::loadgen::reader::{Adopter, Conn, Readers, Rules};
use crate::loadgen::server_stats;
use crate::loadgen::sysstat::{self, ProcSample};
use crate::loadgen::tls::Link;
use crate::loadgen::transport::{Endpoints, Transports};
use crate::loadgen::workload::context::Context;
use crate::loadgen::workload::waiter::{Expected, Waiter};

/// K registered clients that only sit there (and take the `JOIN`s of those after them).
#[derive(Debug, Clone, PartialEq)]
pub struct Idle {
    pub clients: u32,
}

impl Default for Idle {
    fn default() -> Idle {
        Idle { clients: 10_000 }
    }
}

/// The `JOIN`s `clients` registrations announce between them when the server stops
/// announcing above `limit` registered clients (0: never stops).
fn expected_joins(clients: u32, limit: usize) -> u64 {
    let announced = match u32::try_from(limit) {
        Ok(limit) if limit > 0 => clients.min(limit),
        _ => clients,
    };
    u64::from(announced) * u64::from(announced.saturating_sub(1)) / 2
}

/// Threads that connect clients; connecting is mostly waiting for the server's accept.
const CONNECTORS: u32 = 4;

pub(super) fn run(spec: &Idle, context: &Context<'_>, result: &mut RunResult) {
    if let Err(error) = measure(spec, context, result) {
        result.failures.push(error);
    }
}

type ConnectorThread = JoinHandle<Result<Vec<(u32, Arc<Link>)>, String>>;

fn measure(spec: &Idle, context: &Context<'_>, result: &mut RunResult) -> Result<(), String> {
    let target = context.target;
    let clients = spec.clients;
    let naming = Naming::fresh();
    let sample = || {
        target
            .server_pid()
            .and_then(|pid| sysstat::sample_process(pid).ok())
    };
    let before = sample();
    let dialect = target.dialect();
    let board = Arc::new(match dialect {
        Dialect::Chatd => Board::new(clients as usize, Instant::now()),
        // A NATS client's reader answers the server's PINGs while the coordinator writes.
        Dialect::Peer(_) => Board::with_write_gates(clients as usize, Instant::now()),
    });
    let meter = GeneratorCpu::new();
    let (notify, notices) = crossbeam_channel::unbounded();
    let window = Window::open(target);
    let started = Instant::now();

    let rules = Arc::new(Rules {
        dialect,
        naming: naming.clone(),
        codec: Codec::new(HEADER_LEN)?,
        latency_from_us: None,
    });
    let generator = &context.generator;
    let readers = Readers::start(generator.readers, &rules, &board, &notify, &meter)
        .map_err(|e| format!("starting the readers: {e}"))?;
    let connectors = match start_connectors(
        clients,
        Server {
            endpoints: target.endpoints(),
            dialect,
            transports: generator.transports,
        },
        &naming,
        &readers.adopter(),
        &notify,
        &meter,
    ) {
        Ok(connectors) => connectors,
        Err(error) => {
            let _ = readers.stop();
            return Err(format!("starting the connectors: {error}"));
        }
    };
    let expected_joins = match dialect {
        Dialect::Chatd => expected_joins(clients, chatd::config::DEFAULT_PRESENCE_LIMIT),
        Dialect::Peer(_) => 0,
    };
    let mut waiter = Waiter::new(
        &notices,
        &board,
        Progress::new(&context.title, Some(expected_joins)),
        &context.timeout_causes,
    );
    // The readers count an idle client's JOINs, not its lines: nothing to compare.
    let expected = Expected::default();
    let timeout = generator
        .timeout
        .unwrap_or(Duration::from_secs(30) + Duration::from_millis(u64::from(clients) * 5));
    let registered = waiter.wait_for(
        "OK NICK",
        0..clients,
        started + timeout,
        &expected,
        |notice| match notice {
            Notice::Registered(client) => Some(client),
            _ => None,
        },
    );
    let connect_time = started.elapsed();
    result.failures.extend(registered.err());
    let streams = join_connectors(connectors, result);

    for (index, stream) in &streams {
        let ping = generator
            .transports
            .of(*index)
            .ping(dialect, Barrier::Drain.token());
        // A broken connection is reported by its reader.
        let _ = board.write(*index, || stream.write_all(&ping));
    }
    let join_timeout = generator
        .timeout
        .unwrap_or(Duration::from_secs(30) + Duration::from_micros(expected_joins));
    let join_deadline = Instant::now() + join_timeout;
    let drained = waiter.wait_for_barrier(Barrier::Drain, 0..clients, join_deadline, &expected);
    result.failures.extend(drained.err());
    waiter.finish();
    let after = sample();

    let reports = readers
        .stop()
        .map_err(|e| format!("stopping the readers: {e}"))?;
    let usage = window.close(target, &meter);
    // Before the clients close: then each `QUIT` goes to all the others first. STATS is
    // chatd's own command.
    result.server_stats = (dialect == Dialect::Chatd)
        .then(|| server_stats::ask(target.addr()).map_err(|e| e.to_string()));
    drop(streams);

    let mut joins = 0;
    let mut last_join = None;
    for report in &reports {
        last_join = last_join.max(report.last_join);
        for conn in &report.conns {
            joins += conn.tally.joins;
            if conn.tally.unexpected > 0 {
                result.failures.push(format!(
                    "{} got {} unexpected lines, the first: {:?}",
                    naming.nick(conn.index),
                    conn.tally.unexpected,
                    conn.tally.first_unexpected.as_deref().unwrap_or("")
                ));
            }
        }
    }
    result.counts.received = joins;
    result.counts.lost = expected_joins.saturating_sub(joins);
    result.counts.corrupt = joins.saturating_sub(expected_joins);
    result.deliveries = joins;
    let joins_time = match dialect {
        Dialect::Chatd => {
            Some(last_join.map_or(Duration::ZERO, |t| t.saturating_duration_since(started)))
        }
        Dialect::Peer(_) => None,
    };
    result.idle = Some(figures(clients, connect_time, joins_time, before, after));
    result.wall_s = usage.wall.as_secs_f64();
    result.set_usage(&usage, sysstat::cores(), false);
    Ok(())
}

fn figures(
    clients: u32,
    connect_time: Duration,
    joins_time: Option<Duration>,
    before: Option<ProcSample>,
    after: Option<ProcSample>,
) -> IdleFigures {
    IdleFigures {
        clients: u64::from(clients),
        connect_s: connect_time.as_secs_f64(),
        joins_s: joins_time.map(|t| t.as_secs_f64()),
        rss_kib_per_conn: before
            .zip(after)
            .map(|(b, a)| (a.rss_kib as f64 - b.rss_kib as f64) / f64::from(clients)),
        threads_before: before.map(|s| s.threads),
        threads_after: after.map(|s| s.threads),
        fds: after.map(|s| s.fds),
    }
}

/// The server the connectors connect to, and how.
#[derive(Debug, Clone)]
struct Server {
    endpoints: Endpoints,
    dialect: Dialect,
    transports: Transports,
}

/// Connector `c` connects clients `c`, `c + CONNECTORS`, ...: each sends `NICK` (on a peer,
/// its handshake and a `PING`) and goes to a reader at once, without waiting for the answer
/// (the reader reports `OK NICK`, or the `PONG`).
fn start_connectors(
    clients: u32,
    server: Server,
    naming: &Naming,
    adopter: &Adopter,
    notify: &Sender<Notice>,
    meter: &Arc<GeneratorCpu>,
) -> io::Result<Vec<ConnectorThread>> {
    let mut started = Vec::new();
    for first in 0..CONNECTORS.min(clients) {
        let (naming, adopter, notify) = (naming.clone(), adopter.clone(), notify.clone());
        let server = server.clone();
        let spawned = meter.spawn(&format!("connector-{first}"), move || {
            let indices = (first..clients).step_by(CONNECTORS as usize);
            connect_all(indices, &server, &naming, &adopter, &notify)
        });
        match spawned {
            Ok(thread) => started.push(thread),
            Err(error) => {
                // Each connector ends by itself once its clients are connected.
                for thread in started {
                    let _ = thread.join();
                }
                return Err(error);
            }
        }
    }
    Ok(started)
}

fn connect_all(
    mut indices: impl Iterator<Item = u32>,
    server: &Server,
    naming: &Naming,
    adopter: &Adopter,
    notify: &Sender<Notice>,
) -> Result<Vec<(u32, Arc<Link>)>, String> {
    let mut streams = Vec::new();
    while let Some(index) = indices.next() {
        let nick = naming.nick(index);
        let transport = server.transports.of(index);
        let connected = transport
            .connect(&server.endpoints)
            .and_then(|(stream, leftover)| {
                match server.dialect {
                    Dialect::Chatd => transport.send_nick(&stream, &nick)?,
                    Dialect::Peer(peer) => {
                        let channels = [naming.lobby_channel().as_bytes(), nick.as_bytes()];
                        let mut hello = Vec::new();
                        peer.handshake(&channels, &mut hello);
                        peer.ping(Barrier::Registered.token(), &mut hello);
                        stream.write_all(&hello)?;
                    }
                }
                Ok((Arc::new(stream), leftover))
            });
        let handed = connected.and_then(|(stream, leftover)| {
            adopter.adopt(Conn {
                index,
                stream: Arc::clone(&stream),
                transport,
                leftover,
                check: None,
                pongs: &[Barrier::Registered, Barrier::Drain],
            })?;
            Ok(stream)
        });
        match handed {
            Ok(stream) => streams.push((index, stream)),
            Err(error) => {
                // Neither this client nor the rest of this connector's will answer.
                for gone in std::iter::once(index).chain(indices) {
                    let _ = notify.send(Notice::Closed(gone));
                }
                return Err(format!("connecting client {index}: {error}"));
            }
        }
    }
    Ok(streams)
}

fn join_connectors(
    connectors: Vec<ConnectorThread>,
    result: &mut RunResult,
) -> Vec<(u32, Arc<Link>)> {
    let mut streams = Vec::new();
    for connector in connectors {
        match connector.join() {
            Ok(Ok(mine)) => streams.extend(mine),
            Ok(Err(error)) => result.failures.push(error),
            Err(_) => result
                .failures
                .push("a connector thread panicked".to_owned()),
        }
    }
    streams
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_14_joins_are_expected_up_to_the_presence_limit() {
        assert_eq!(expected_joins(4, 0), 6);
        assert_eq!(expected_joins(4, 10), 6);
        assert_eq!(expected_joins(10_000, 1000), 1000 * 999 / 2);
        assert_eq!(expected_joins(1, 1000), 0);
    }
}
