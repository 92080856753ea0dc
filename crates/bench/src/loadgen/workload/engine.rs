//! The engine of the message workloads (fan-out, paced, stalled, direct, rooms): register the
//! clients (and put them into their rooms), start readers and senders inside a measured
//! window, wait for the barriers, and check every line that arrived.
//!
//! In scope: the phases of a message run and their deadlines, against chatd or a peer.
//! Out of scope: the shape of each workload (its `Plan`: `plan`, built by `fanout`,
//! `paced`, `direct`, `rooms`), joining the rooms (`room_setup`), a peer's spelling
//! (`dialect`), judging what the readers saw (`verdict`), and the idle run (`idle`).
//!
//! On a peer, a client registers by opening its session and subscribing to the channels of
//! its part (the lobby, its own channel, its room's: see `dialect`), and the rooms need no
//! joining; the barriers are the peer's `PING`s, and there is no `STATS` to ask.
//!
//! Each healthy client connects over the transport the run gives it (`transport`: TCP,
//! chatd's WebSocket, or TLS), and every line it sends or reads goes that way; the stalled clients
//! are TCP ones whatever the run's transport, and the server's `STATS` is asked over TCP.
//!
//! Phases: registration and, for a rooms run, joining the rooms (outside the window) →
//! readers and senders start → every sender's `PING bench-sent` is answered (all its lines
//! are queued for their recipients) → every receiver's `PING bench-drain` is answered (all
//! its lines have arrived) → readers stop → the window closes → the server's `STATS` is
//! asked for, with the clients still connected. Every wait has a deadline; a timeout is a
//! failure of the run.
//!
//! Against a cluster (`--nodes`), client `i` connects to node `i mod N`; once all are
//! registered, the run waits until every node lists every client (`node_sync`), or a `MSG`
//! to a client of another node could be refused; and the drain barrier is followed by a
//! wait for every receiver's lines: a `PONG` vouches for what its own node has delivered,
//! not for the lines other nodes' senders stored in the stream that this node has yet to
//! read. `STATS` is asked of every node, and summed.

use std::io;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::loadgen::board::{Barrier, Board};
use crate::loadgen::check::ReceiverCheck;
use crate::loadgen::client::{self, IO_TIMEOUT, Naming};
use crate::loadgen::dialect::Dialect;
use crate::loadgen::meter::{GeneratorCpu, Usage, Window};
use crate::loadgen::payload::Codec;
use crate::loadgen::progress::Progress;
use crate::loadgen::reader::{Conn, ReaderReport, Readers, Rules};
use crate::loadgen::sender::{self, ClosedLoop, Flow, Outgoing, Schedule, SenderReport};
use crate::loadgen::server_stats::{self, ServerStats};
use crate::loadgen::tls::Link;
use crate::loadgen::workload::context::Context;
use crate::loadgen::workload::node_sync;
use crate::loadgen::workload::plan::{Pattern, Plan, Sending};
use crate::loadgen::workload::room_setup;
use crate::loadgen::workload::waiter::Waiter;

/// Once the senders are done, how long the receivers may take to get the rest.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the nodes of a cluster may take to list every client of the run.
const NODE_SYNC_TIMEOUT: Duration = Duration::from_secs(30);
/// The paced schedule starts this long after the epoch, once the sender threads run.
const SCHEDULE_DELAY: Duration = Duration::from_millis(5);
/// The segment size a stalled client announces (see `SocketOptions::max_segment`).
const STALLED_MSS: u32 = 1000;
/// How long a write to a stalled client may block.
const STALLED_WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most lines a closed-loop sender writes at once.
const MAX_BATCH: u64 = 256;
/// Lines in flight from one client to its partner in the direct run. Latency in a closed
/// loop is what is in flight divided by the throughput, so a window as large as the
/// server's queue would make the latency figures measure the window. Many pairs keep the
/// server busy with a small window each.
const PAIR_WINDOW: u64 = 256;

/// The registered clients of a run.
struct Clients {
    healthy: Vec<Arc<Link>>,
    /// Bytes each healthy client read while registering, for its reader.
    leftovers: Vec<Vec<u8>>,
    /// Kept open and never read.
    stalled: Vec<Arc<TcpStream>>,
}

impl Clients {
    fn register(plan: &Plan, context: &Context<'_>, naming: &Naming) -> io::Result<Clients> {
        let addr = context.target.addr();
        let mut clients = Clients {
            healthy: Vec::new(),
            leftovers: Vec::new(),
            stalled: Vec::new(),
        };
        for index in 0..plan.clients {
            let transport = context.generator.transports.of(index);
            let server = context.target.endpoints_for(index);
            let registered = transport.connect(&server).and_then(|(stream, pending)| {
                let leftover = match context.target.dialect() {
                    Dialect::Chatd => transport.register(&stream, pending, &naming.nick(index))?,
                    Dialect::Peer(peer) => {
                        let channels = plan.channels(index, naming);
                        let channels: Vec<&[u8]> = channels.iter().map(|c| c.as_bytes()).collect();
                        // A peer is reached over TCP only (`RunSpec::validate`).
                        client::register_peer(stream.stream(), peer, &channels)?
                    }
                };
                Ok((stream, leftover))
            });
            let (stream, leftover) = registered.map_err(|e| {
                io::Error::new(e.kind(), format!("client {index} over {transport}: {e}"))
            })?;
            clients.leftovers.push(leftover);
            clients.healthy.push(Arc::new(stream));
        }
        for index in plan.clients..plan.clients + plan.stalled {
            // Small segments keep the server's send buffer for it small (the kernel sizes it
            // by the segment size, up to 4 MiB on loopback), so its queue fills and it is cut
            // within a quick run's second, not after megabytes of kernel buffers.
            let options = client::SocketOptions {
                max_segment: Some(STALLED_MSS),
                ..client::SocketOptions::default()
            };
            let stream = client::connect_with(addr, &options)?;
            if plan.stalled_recv_buffer > 0 {
                client::set_recv_buffer(&stream, plan.stalled_recv_buffer)?;
            }
            client::register(&stream, &naming.nick(index))?;
            // A stuffing write that blocks means the server stopped reading the client:
            // give up on it soon, the run goes on.
            stream.set_write_timeout(Some(STALLED_WRITE_TIMEOUT))?;
            clients.stalled.push(Arc::new(stream));
        }
        Ok(clients)
    }

    /// Cuts every connection, which unblocks any thread still writing to one.
    fn cut(&self) {
        for link in &self.healthy {
            let _ = link.stream().shutdown(Shutdown::Both);
        }
    }
}

/// What a message run leaves for its workload to judge.
pub(super) struct Measured {
    pub reports: Vec<ReaderReport>,
    /// Lines sent by each client, by index.
    pub sent: Vec<u32>,
    pub usage: Usage,
    /// When the senders were started.
    pub released: Instant,
    /// Timeouts and errors of the run itself.
    pub failures: Vec<String>,
    /// How the run named its clients, for messages.
    pub naming: Naming,
    /// The server's `STATS` after the window, or why there is none; `None` on a peer.
    pub server_stats: Option<Result<ServerStats, String>>,
}

/// Runs `plan` and returns what the readers saw, or why the run could not start.
pub(super) fn run(plan: &Plan, context: &Context<'_>) -> Result<Measured, String> {
    let naming = Naming::fresh();
    let codec = Codec::new(plan.size)?;
    let mut clients = Clients::register(plan, context, &naming)
        .map_err(|e| format!("registering the clients: {e}"))?;
    let dialect = context.target.dialect();
    if let (Pattern::Rooms { members, .. }, Dialect::Chatd) = (plan.pattern, dialect) {
        let transports = context.generator.transports;
        room_setup::join(
            &clients.healthy,
            &mut clients.leftovers,
            members,
            &naming,
            transports,
        )
        .map_err(|e| format!("joining the rooms: {e}"))?;
    }
    if context.target.is_cluster() {
        let nicks: Vec<String> = (0..plan.clients).map(|i| naming.nick(i)).collect();
        let timeout = context.generator.timeout.unwrap_or(NODE_SYNC_TIMEOUT);
        let deadline = Instant::now() + timeout;
        node_sync::wait_until_every_node_knows(&context.target.node_addrs(), &nicks, deadline)
            .map_err(|e| format!("waiting for every node to know every client: {e}"))?;
    }
    let connections = (plan.clients + plan.stalled) as usize;
    let board = Arc::new(match dialect {
        Dialect::Chatd => Board::new(connections, Instant::now()),
        // A NATS client's reader answers the server's PINGs while its sender writes.
        Dialect::Peer(_) => Board::with_write_gates(connections, Instant::now()),
    });
    let run = Run {
        plan,
        context,
        schedule_start: board.epoch.elapsed() + SCHEDULE_DELAY,
        naming,
        codec,
        clients,
        board,
        meter: GeneratorCpu::new(),
    };
    let (notify, notices) = crossbeam_channel::unbounded();
    let window = Window::open(context.target);
    let readers = Readers::start(
        context.generator.readers,
        &Arc::new(run.rules()),
        &run.board,
        &notify,
        &run.meter,
    )
    .map_err(|e| format!("starting the readers: {e}"))?;
    let mut failures = run.hand_over(&readers);
    let released = Instant::now();
    let progress = Progress::new(&context.title, Some(plan.expected_deliveries()));
    let mut waiter = Waiter::new(&notices, &run.board, progress, &context.timeout_causes);
    let sent = run.send(&mut waiter, released, &mut failures);
    run.drain(&mut waiter, &sent, &mut failures);
    waiter.finish();
    let reports = readers
        .stop()
        .map_err(|e| format!("stopping the readers: {e}"))?;
    let usage = window.close(context.target, &run.meter);
    // STATS is chatd's own command.
    let server_stats = (dialect == Dialect::Chatd)
        .then(|| server_stats::ask_all(&context.target.node_addrs()).map_err(|e| e.to_string()));
    Ok(Measured {
        reports,
        sent,
        usage,
        released,
        failures,
        naming: run.naming,
        server_stats,
    })
}

type SenderThread = JoinHandle<SenderReport>;

/// One message run in progress: what its phases share.
struct Run<'a> {
    plan: &'a Plan,
    context: &'a Context<'a>,
    /// When the paced schedule starts, from the epoch.
    schedule_start: Duration,
    naming: Naming,
    codec: Codec,
    clients: Clients,
    board: Arc<Board>,
    meter: Arc<GeneratorCpu>,
}

impl Run<'_> {
    /// What the readers check lines against.
    fn rules(&self) -> Rules {
        let latency_from_us = match self.plan.sending {
            _ if !self.plan.latency => None,
            // Lines due before the end of the warm-up are checked but not timed.
            Sending::Paced { warmup, .. } => {
                let from = self.board.epoch + self.schedule_start + warmup;
                Some(self.board.now_us(from))
            }
            Sending::Closed { .. } => Some(0),
        };
        Rules {
            dialect: self.context.target.dialect(),
            naming: self.naming.clone(),
            codec: self.codec,
            latency_from_us,
        }
    }

    /// Gives every healthy client to a reader, with its checks.
    fn hand_over(&self, readers: &Readers) -> Vec<String> {
        let mut failures = Vec::new();
        let adopter = readers.adopter();
        let record_order = !matches!(self.plan.pattern, Pattern::Pairs);
        let healthy = self.clients.healthy.iter().zip(&self.clients.leftovers);
        for (index, (stream, leftover)) in (0u32..).zip(healthy) {
            let route = self.plan.route(index);
            let conn = Conn {
                index,
                stream: Arc::clone(stream),
                transport: self.context.generator.transports.of(index),
                leftover: leftover.clone(),
                check: Some((route, ReceiverCheck::new(route.slots(), record_order))),
                pongs: if self.plan.is_sender(index) {
                    &[Barrier::Sent, Barrier::Drain]
                } else {
                    &[Barrier::Drain]
                },
            };
            if let Err(error) = adopter.adopt(conn) {
                failures.push(format!("handing client {index} to a reader: {error}"));
            }
        }
        failures
    }

    /// Starts the senders (and the stalled clients' stuffing), waits until every sender's
    /// lines are queued, and returns the lines each client sent.
    fn send(
        &self,
        waiter: &mut Waiter<'_>,
        released: Instant,
        failures: &mut Vec<String>,
    ) -> Vec<u32> {
        let started = self.start_senders();
        let stuffing = self.start_stuffing().unwrap_or_else(|error| {
            failures.push(format!("starting the stalled clients' stuffing: {error}"));
            None
        });
        let sent = match started {
            Ok(senders) => {
                let deadline = released + self.timeout(self.plan.send_timeout());
                let per_sender = self.plan.lines_per_sender().round() as u64;
                let expected = self.plan.expected(|_| per_sender);
                let sending = self.plan.senders();
                let waited = waiter.wait_for_barrier(Barrier::Sent, sending, deadline, &expected);
                failures.extend(waited.err());
                join_senders(senders, &self.clients, failures)
            }
            Err(error) => {
                failures.push(format!("starting the senders: {error}"));
                Vec::new()
            }
        };
        // It stops at the end of the schedule at the latest, or once every stalled client
        // has been cut.
        if stuffing.is_some_and(|thread| thread.join().is_err()) {
            failures.push("the stuffing thread panicked".to_owned());
        }
        let mut by_client = vec![0u32; self.board.clients()];
        for (index, lines) in sent {
            by_client[index as usize] = lines;
        }
        by_client
    }

    /// Every healthy client's final barrier: when it is answered, everything queued for the
    /// client has arrived, which is every line of its senders (`sent`, by index).
    fn drain(&self, waiter: &mut Waiter<'_>, sent: &[u32], failures: &mut Vec<String>) {
        // After a failure, waiting long would only delay the report.
        let timeout = if failures.is_empty() {
            self.timeout(DRAIN_TIMEOUT)
        } else {
            Duration::from_secs(2)
        };
        let dialect = self.context.target.dialect();
        let transports = self.context.generator.transports;
        for (index, stream) in (0u32..).zip(&self.clients.healthy) {
            let ping = transports.of(index).ping(dialect, Barrier::Drain.token());
            // A client whose connection broke fails here, and its reader reports it.
            let _ = self.board.write(index, || stream.write_all(&ping));
        }
        let deadline = Instant::now() + timeout;
        let expected = self.plan.expected(|index| u64::from(sent[index as usize]));
        let clients = 0..self.plan.clients;
        let drained = waiter.wait_for_barrier(Barrier::Drain, clients.clone(), deadline, &expected);
        failures.extend(drained.err());
        if self.context.target.is_cluster() && failures.is_empty() {
            let arrived = waiter.wait_for_lines(clients, deadline, &expected);
            failures.extend(arrived.err());
        }
    }

    /// `--timeout` if given, else `default`.
    fn timeout(&self, default: Duration) -> Duration {
        self.context.generator.timeout.unwrap_or(default)
    }

    /// Sender threads, each with its share of the sending clients.
    fn start_senders(&self) -> io::Result<Vec<SenderThread>> {
        let threads = self.context.generator.sender_threads.max(1);
        let mut groups: Vec<Vec<(u32, Outgoing)>> = (0..threads).map(|_| Vec::new()).collect();
        let dialect = self.context.target.dialect();
        for (position, index) in (0u32..).zip(self.plan.senders()) {
            let to = self.plan.destination(index, &self.naming, dialect)?;
            let stream = Arc::clone(&self.clients.healthy[index as usize]);
            let transport = self.context.generator.transports.of(index);
            let out = Outgoing::new(index, stream, transport, to);
            groups[position as usize % threads].push((position, out));
        }
        let mut handles = Vec::new();
        for (id, group) in (0..).zip(groups).filter(|(_, g)| !g.is_empty()) {
            let spawned = self.start_sender(&format!("sender-{id}"), group);
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(error) => {
                    // The started ones end by themselves once they have sent everything.
                    let _ = join_senders(handles, &self.clients, &mut Vec::new());
                    return Err(error);
                }
            }
        }
        Ok(handles)
    }

    fn start_sender(&self, name: &str, group: Vec<(u32, Outgoing)>) -> io::Result<SenderThread> {
        let (board, codec) = (Arc::clone(&self.board), self.codec);
        let dialect = self.context.target.dialect();
        match self.plan.sending {
            Sending::Closed { messages } => {
                let settings =
                    closed_loop(self.plan, self.context, &self.naming, messages, dialect);
                let flow = flow(self.plan);
                let outs = group.into_iter().map(|(_, out)| out).collect();
                self.meter.spawn(name, move || {
                    sender::run_closed(outs, &board, &flow, codec, settings)
                })
            }
            Sending::Paced {
                lines_per_second,
                warmup,
                duration,
            } => {
                let senders = u32::try_from(self.plan.senders().count()).expect("fits in u32");
                let length = warmup + duration;
                let schedule =
                    Schedule::new(self.schedule_start, length, lines_per_second, senders);
                let paced = group
                    .into_iter()
                    .map(|(position, out)| sender::Paced { out, position })
                    .collect();
                self.meter.spawn(name, move || {
                    sender::run_paced(paced, &board, schedule, codec, dialect)
                })
            }
        }
    }

    /// The thread that makes the stalled clients fall behind, from the end of the warm-up
    /// to the end of the schedule (paced runs with stalled clients only).
    fn start_stuffing(&self) -> io::Result<Option<JoinHandle<usize>>> {
        let Sending::Paced {
            warmup, duration, ..
        } = self.plan.sending
        else {
            return Ok(None);
        };
        if self.clients.stalled.is_empty() {
            return Ok(None);
        }
        let start = self.board.epoch + self.schedule_start + warmup;
        let (start_us, stop_us) = (
            self.board.now_us(start),
            self.board.now_us(start + duration),
        );
        let streams = self.clients.stalled.clone();
        let (board, rate) = (Arc::clone(&self.board), self.plan.stall_rate);
        let thread = self.meter.spawn("stuffing", move || {
            sender::run_stuffing(&streams, &board, start_us, stop_us, rate)
        })?;
        Ok(Some(thread))
    }
}

/// The flow-control window, unless set: a quarter of the server's queue in delivered lines
/// (the rest covers the overshoot of concurrent batches), and for pairs at most
/// [`PAIR_WINDOW`].
fn closed_loop(
    plan: &Plan,
    context: &Context<'_>,
    naming: &Naming,
    messages: u32,
    dialect: Dialect,
) -> ClosedLoop {
    // `ALL <nick> <payload>\n`; `MSG` is as long, `MSG #room` longer by the room.
    let room = match plan.pattern {
        Pattern::Rooms { .. } => naming.room(plan.clients).len() + 1,
        Pattern::Broadcast { .. } | Pattern::Pairs => 0,
    };
    let line = 4 + room + naming.nick(plan.clients).len() + 1 + plan.size + 1;
    let by_queue = (context.send_queue / 4 / line) as u64;
    let default = match plan.pattern {
        Pattern::Broadcast { .. } | Pattern::Rooms { .. } => by_queue,
        Pattern::Pairs => by_queue.min(PAIR_WINDOW),
    };
    let window = context.generator.window.unwrap_or(default).max(1);
    // Every sender towards a receiver may add a batch at once: keep the overshoot within
    // the window.
    let senders_per_receiver = match plan.pattern {
        Pattern::Broadcast { senders } | Pattern::Rooms { senders, .. } => u64::from(senders),
        Pattern::Pairs => 1,
    };
    let batch = (window / (2 * senders_per_receiver)).clamp(1, MAX_BATCH);
    let timeout = context.generator.timeout.unwrap_or(plan.send_timeout());
    ClosedLoop {
        dialect,
        messages,
        window,
        batch: u32::try_from(batch).expect("at most MAX_BATCH"),
        deadline: Instant::now() + timeout,
    }
}

fn flow(plan: &Plan) -> Flow {
    match plan.pattern {
        Pattern::Broadcast { senders } => Flow::Broadcast {
            senders: (0..senders).collect(),
            receivers: (0..plan.clients).collect(),
        },
        Pattern::Pairs => Flow::Partners((0..plan.clients).map(|i| i ^ 1).collect()),
        Pattern::Rooms { members, senders } => Flow::Rooms { members, senders },
    }
}

/// Joins the sender threads; they end by themselves within the write timeout, and if one
/// does not, cutting the connections makes its write fail.
fn join_senders(
    senders: Vec<SenderThread>,
    clients: &Clients,
    failures: &mut Vec<String>,
) -> Vec<(u32, u32)> {
    let deadline = Instant::now() + IO_TIMEOUT + Duration::from_secs(1);
    while senders.iter().any(|s| !s.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    if senders.iter().any(|s| !s.is_finished()) {
        failures.push("a sender thread was stuck in a write; connections cut".to_owned());
        clients.cut();
    }
    let mut sent = Vec::new();
    for thread in senders {
        match thread.join() {
            Ok(report) => {
                failures.extend(report.error.map(|e| format!("sender: {e}")));
                sent.extend(report.sent);
            }
            Err(_) => failures.push("a sender thread panicked".to_owned()),
        }
    }
    sent
}
