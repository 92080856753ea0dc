//! The six workloads, what each one is sized by, and how one run of any of them goes.
//!
//! In scope: the workload specs and their defaults ([`FanOut`], [`Paced`], [`Direct`],
//! [`Rooms`], [`Idle`], [`Stalled`]), [`RunSpec`] (a workload plus its server and generator settings),
//! and [`run`], which starts the server, runs the workload and stops the server.
//! Out of scope: repeating runs and reporting them (`suite`, `report`).
//!
//! Files: `engine` runs the message workloads (clients, readers, senders, barriers),
//! `waiter` waits for the barriers, `verdict` checks what arrived; `fanout`, `paced` (also
//! the stalled run), `direct` and `rooms` (also the rooms' set-up) shape a run; `idle` has a
//! flow of its own (thousands of clients, a child server).

mod direct;
mod engine;
mod fanout;
mod idle;
mod paced;
mod rooms;
mod verdict;
mod waiter;

use std::time::Duration;

use crate::loadgen::alloc::{self, GeneratorScope};
use crate::loadgen::outcome::RunResult;
use crate::loadgen::sysstat;
use crate::loadgen::target::{ServerSettings, Target, TargetSpec};

/// C clients registered; S of them send M `ALL`s each as fast as the server delivers them.
#[derive(Debug, Clone, PartialEq)]
pub struct FanOut {
    pub clients: u32,
    pub senders: u32,
    pub messages: u32,
    /// Payload bytes of each `ALL`.
    pub size: usize,
}

impl Default for FanOut {
    fn default() -> FanOut {
        FanOut {
            clients: 50,
            senders: 5,
            messages: 20_000,
            size: 32,
        }
    }
}

/// A fixed aggregate delivery rate, open loop: `rate / (clients - 1)` `ALL` lines a second,
/// spread over the senders, each sent when it is due. Latency is measured from when a line
/// was due, after a warm-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Paced {
    pub clients: u32,
    pub senders: u32,
    /// Deliveries per second over all recipients.
    pub rate: f64,
    /// Measured part, after the warm-up.
    pub duration: Duration,
    /// Sent, delivered and checked, but left out of the latency histogram.
    pub warmup: Duration,
    pub size: usize,
}

impl Default for Paced {
    fn default() -> Paced {
        Paced {
            clients: 200,
            senders: 20,
            rate: 100_000.0,
            duration: Duration::from_secs(3),
            warmup: Duration::from_millis(500),
            size: 32,
        }
    }
}

/// Pairs of clients streaming `MSG`s to each other, both directions at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Direct {
    pub pairs: u32,
    /// Lines each client sends to its partner.
    pub messages: u32,
    pub size: usize,
}

impl Default for Direct {
    fn default() -> Direct {
        Direct {
            pairs: 50,
            messages: 10_000,
            size: 32,
        }
    }
}

/// R rooms of N members each, every client in exactly one room (R × N clients); the first S
/// members of each room send M `MSG #room` lines each as fast as the server delivers them,
/// and every other member receives them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rooms {
    pub rooms: u32,
    /// Clients in each room.
    pub members: u32,
    /// Members of each room that send.
    pub senders: u32,
    /// Lines each sender sends to its room.
    pub messages: u32,
    /// Payload bytes of each `MSG #room`.
    pub size: usize,
}

impl Default for Rooms {
    fn default() -> Rooms {
        Rooms {
            rooms: 200,
            members: 10,
            senders: 2,
            messages: 1_000,
            size: 32,
        }
    }
}

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

/// The paced workload plus a few clients that register and never read. They must be
/// dropped as slow consumers, announced to every healthy client, without hurting the
/// healthy clients' latency much. To fall behind within seconds they also send long
/// `PING`s whose answers they never read ([`Stalled::stall_rate`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Stalled {
    pub paced: Paced,
    pub stalled: u32,
    /// `SO_RCVBUF` of the stalled clients, set after connecting; 0 leaves the kernel's.
    /// Shrinking it below the window already advertised makes the kernel drop the server's
    /// segments, the acknowledgements they carry included, which stalls the client's own
    /// writes: so it is off by default.
    pub recv_buffer: usize,
    /// Bytes per second of `PING`s each stalled client sends (and never reads the `PONG`s
    /// of) from the end of the warm-up, so it falls behind within the run: on loopback the
    /// server's socket alone buffers several MiB. See `sender::run_stuffing`.
    pub stall_rate: u64,
}

impl Default for Stalled {
    fn default() -> Stalled {
        Stalled {
            paced: Paced::default(),
            stalled: 3,
            recv_buffer: 0,
            stall_rate: 8 * 1024 * 1024,
        }
    }
}

/// Server settings for the stalled run (and the paced run it is compared with): a small
/// queue, so the stalled clients are dropped within seconds.
pub const STALLED_SEND_QUEUE: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub enum Workload {
    FanOut(FanOut),
    Paced(Paced),
    Direct(Direct),
    Rooms(Rooms),
    Idle(Idle),
    Stalled(Stalled),
}

impl Workload {
    /// Connections the generator opens.
    pub fn connections(&self) -> u32 {
        match self {
            Workload::FanOut(w) => w.clients,
            Workload::Paced(w) => w.clients,
            Workload::Direct(w) => 2 * w.pairs,
            Workload::Rooms(w) => w.rooms.saturating_mul(w.members),
            Workload::Idle(w) => w.clients,
            Workload::Stalled(w) => w.paced.clients + w.stalled,
        }
    }

    /// The row name: `fan-out`, `paced 100k`, `direct`, `rooms`, `idle 10k`, `stalled 100k`.
    pub fn label(&self) -> String {
        let si = crate::loadgen::report::si;
        match self {
            Workload::FanOut(_) => "fan-out".to_owned(),
            Workload::Paced(w) => format!("paced {}", si(w.rate)),
            Workload::Direct(_) => "direct".to_owned(),
            Workload::Rooms(_) => "rooms".to_owned(),
            Workload::Idle(w) => format!("idle {}", si(f64::from(w.clients))),
            Workload::Stalled(w) => format!("stalled {}", si(w.paced.rate)),
        }
    }

    /// The plain paced run a stalled run is compared with.
    pub fn baseline(&self) -> Option<Workload> {
        match self {
            Workload::Stalled(w) => Some(Workload::Paced(w.paced.clone())),
            _ => None,
        }
    }

    /// Checks what the generator cannot run.
    pub fn validate(&self) -> Result<(), String> {
        let at_least = |what: &str, value: u32, min: u32| {
            if value < min {
                Err(format!("{what} must be at least {min}"))
            } else {
                Ok(())
            }
        };
        let paced = |w: &Paced| {
            at_least("clients", w.clients, 2)?;
            at_least("senders", w.senders, 1)?;
            if w.senders > w.clients {
                return Err("senders cannot outnumber clients".to_owned());
            }
            if !(w.rate.is_finite() && w.rate > 0.0) {
                return Err("the rate must be a positive number".to_owned());
            }
            if w.duration.is_zero() {
                return Err("the duration must be more than 0".to_owned());
            }
            Ok(())
        };
        let size = |size: usize| crate::loadgen::payload::Codec::new(size).map(|_| ());
        match self {
            Workload::FanOut(w) => {
                at_least("clients", w.clients, 2)?;
                at_least("senders", w.senders, 1)?;
                at_least("messages", w.messages, 1)?;
                if w.senders > w.clients {
                    return Err("senders cannot outnumber clients".to_owned());
                }
                size(w.size)
            }
            Workload::Paced(w) => paced(w).and_then(|()| size(w.size)),
            Workload::Direct(w) => {
                at_least("pairs", w.pairs, 1)?;
                at_least("messages", w.messages, 1)?;
                size(w.size)
            }
            Workload::Rooms(w) => {
                at_least("rooms", w.rooms, 1)?;
                at_least("members", w.members, 2)?;
                at_least("senders", w.senders, 1)?;
                at_least("messages", w.messages, 1)?;
                if w.senders > w.members {
                    return Err("senders cannot outnumber a room's members".to_owned());
                }
                size(w.size)
            }
            Workload::Idle(w) => at_least("idle clients", w.clients, 1),
            Workload::Stalled(w) => {
                at_least("stalled clients", w.stalled, 1)?;
                paced(&w.paced).and_then(|()| size(w.paced.size))
            }
        }?;
        if self.connections() > crate::loadgen::payload::MAX_SENDER + 1 {
            return Err(format!(
                "at most {} clients",
                crate::loadgen::payload::MAX_SENDER + 1
            ));
        }
        Ok(())
    }
}

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
}

impl Default for GeneratorSettings {
    fn default() -> GeneratorSettings {
        GeneratorSettings {
            readers: 2,
            sender_threads: 2,
            window: None,
            timeout: None,
        }
    }
}

/// One run: a workload, the server it runs against, and the generator's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// The row's name in the report, such as `paced 100k`.
    pub label: String,
    pub workload: Workload,
    pub target: TargetSpec,
    /// Used when the run starts its server.
    pub server: ServerSettings,
    pub generator: GeneratorSettings,
}

impl RunSpec {
    /// The same run with a different workload (and label): for a stalled run's baseline.
    pub fn with_workload(&self, label: String, workload: Workload) -> RunSpec {
        RunSpec {
            label,
            workload,
            ..self.clone()
        }
    }

    /// Worker threads of the server, if the run starts it.
    pub fn workers(&self) -> Option<usize> {
        self.target.starts_server().then_some(self.server.workers)
    }

    /// `fan-out workers=2`, as the report names the row.
    pub fn title(&self) -> String {
        match self.workers() {
            Some(workers) => format!("{} workers={workers}", self.label),
            None => self.label.clone(),
        }
    }

    /// The server's outbound queue limit: chosen by the run, or the default for an external
    /// server.
    fn send_queue(&self) -> usize {
        if self.target.starts_server() {
            self.server.send_queue
        } else {
            chatd::config::DEFAULT_SEND_QUEUE
        }
    }
}

/// What every workload gets to run with.
pub(crate) struct Context<'a> {
    pub target: &'a Target,
    pub spec: &'a RunSpec,
    /// Whether the counting allocator sees the server's allocations (in-process only).
    pub allocs_counted: bool,
}

/// Runs `spec` once: starts its server, runs the workload, checks it, stops the server.
/// `baseline_p99` (ms) is the plain paced run's p99 that a stalled run is compared with.
pub fn run(spec: &RunSpec, baseline_p99: Option<f64>) -> RunResult {
    // The coordinating thread is the generator's for the whole run.
    let _generator = GeneratorScope::enter();
    let mut result = RunResult {
        workload: spec.label.clone(),
        workers: spec.workers(),
        ..RunResult::default()
    };
    if let Err(error) = spec.workload.validate() {
        result.failures.push(error);
        return result;
    }
    // Our sockets, plus the server's when it shares the process; children inherit it.
    let server_fds = if spec.target == TargetSpec::InProcess {
        2
    } else {
        1
    };
    let wanted = u64::from(spec.workload.connections()) * server_fds + 256;
    match sysstat::raise_fd_limit(wanted) {
        Ok(limit) if limit < wanted => {
            result.failures.push(format!(
                "needs about {wanted} open files but the limit is {limit}: use fewer clients"
            ));
            return result;
        }
        Ok(_) => {}
        Err(error) => log::warn!("cannot raise the open-file limit: {error}"),
    }
    let target = match Target::start(&spec.target, &spec.server) {
        Ok(target) => target,
        Err(error) => {
            result
                .failures
                .push(format!("cannot start the server: {error}"));
            return result;
        }
    };
    let context = Context {
        target: &target,
        spec,
        allocs_counted: target.is_in_process() && alloc::allocations().is_some(),
    };
    match &spec.workload {
        Workload::FanOut(w) => fanout::run(w, &context, &mut result),
        Workload::Paced(w) => paced::run(w, None, &context, &mut result),
        Workload::Direct(w) => direct::run(w, &context, &mut result),
        Workload::Rooms(w) => rooms::run(w, &context, &mut result),
        Workload::Idle(w) => idle::run(w, &context, &mut result),
        Workload::Stalled(w) => paced::run(&w.paced, Some(w), &context, &mut result),
    }
    if let (Some(baseline), Some(latency)) = (baseline_p99, result.latency) {
        if baseline > 0.0 {
            result.p99_change_pct = Some(100.0 * (latency.p99 / baseline - 1.0));
        }
    }
    if let Err(error) = target.stop() {
        result
            .failures
            .push(format!("stopping the server: {error}"));
    }
    result
}
