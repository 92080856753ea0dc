//! The six workloads, and how one run of any of them goes.
//!
//! In scope: [`Workload`] (one of the six specs, each defined with its run in its own file:
//! [`FanOut`], [`Paced`] and [`Stalled`], [`Direct`], [`Rooms`], [`Idle`]), [`RunSpec`] (a
//! workload plus its server and generator settings), and [`run`], which starts the server,
//! runs the workload and stops the server. Every workload but stalled also runs against a
//! peer (Redis, NATS): stalled tests chatd's own slow-consumer rule and its `QUIT`
//! announcement, which the peers do not have in that form. Against chatd, every workload
//! also runs with its clients over WebSocket, or half of them, or over TLS
//! (`GeneratorSettings::transports`).
//! Out of scope: repeating runs and reporting them (`suite`, `report`).
//!
//! Files, each used only by the ones above it: `fanout`, `paced` (also the stalled run),
//! `direct` and `rooms` shape a message run; `idle` has a flow of its own (thousands of
//! clients, a child server); `verdict` checks what arrived; `engine` runs the message
//! workloads (clients, readers, senders, barriers); `plan` is a message run's shape;
//! `room_setup` puts a rooms run's clients into their rooms; `node_sync` waits until every
//! node of a cluster knows every client; `waiter` waits for the barriers; `context` is what
//! every workload runs with. A child never uses this file: what
//! they share lives in `context`.

mod context;
mod direct;
mod engine;
mod fanout;
mod idle;
mod node_sync;
mod paced;
mod plan;
mod room_setup;
mod rooms;
mod verdict;
mod waiter;

use crate::loadgen::alloc::{self, GeneratorScope};
use crate::loadgen::outcome::RunResult;
use crate::loadgen::probe::{self, Demand, FloodControl};
use crate::loadgen::sender::STUFFING_LINE;
use crate::loadgen::sysstat;
use crate::loadgen::target::{ServerSettings, Target, TargetSpec};
use crate::loadgen::transport::Transports;
use crate::loadgen::workload::context::Context;

pub use context::GeneratorSettings;
pub use direct::Direct;
pub use fanout::FanOut;
pub use idle::Idle;
pub use paced::{Paced, STALLED_SEND_QUEUE, Stalled};
pub use rooms::Rooms;

/// One of the workloads, with its size.
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

    /// What the run asks of its busiest connections, for the pre-flight probe's warning.
    pub fn demand(&self) -> Demand {
        let paced = |w: &Paced| {
            let per_second = w.rate / f64::from(w.clients.max(2) - 1) / f64::from(w.senders.max(1));
            Demand {
                connections: w.senders,
                lines: (per_second * (w.warmup + w.duration).as_secs_f64()).ceil() as u64,
                per_second: Some(per_second),
            }
        };
        let closed = |connections: u32, messages: u32| Demand {
            connections,
            lines: u64::from(messages),
            per_second: None,
        };
        match self {
            Workload::FanOut(w) => closed(w.senders, w.messages),
            Workload::Paced(w) => paced(w),
            Workload::Direct(w) => closed(2 * w.pairs, w.messages),
            Workload::Rooms(w) => closed(w.rooms.saturating_mul(w.senders), w.messages),
            // `NICK`, then the final `PING`.
            Workload::Idle(w) => closed(w.clients, 2),
            Workload::Stalled(w) => {
                // The stalled clients' PINGs, which must fill the server's queue for them.
                let stuffing = w.stall_rate as f64 / STUFFING_LINE as f64;
                let healthy = paced(&w.paced);
                if stuffing > healthy.per_second.unwrap_or(0.0) {
                    Demand {
                        connections: w.stalled,
                        lines: (stuffing * w.paced.duration.as_secs_f64()).ceil() as u64,
                        per_second: Some(stuffing),
                    }
                } else {
                    healthy
                }
            }
        }
    }

    /// Whether the workload means anything on a peer (Redis, NATS): all but stalled, which
    /// checks chatd's slow-consumer rule and its `QUIT <nick> slow consumer` lines.
    pub fn runs_on_peers(&self) -> bool {
        !matches!(self, Workload::Stalled(_))
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
    /// The flood control the pre-flight probe measured on an external server (`suite`
    /// fills it in): the run's timeouts name it as their likely cause.
    pub flood_control: Option<FloodControl>,
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

    /// The row's name: the label, then the transport unless it is TCP (`fan-out (ws)`), or
    /// the peer's name for a run against one (`fan-out (Redis)`), or the nodes of a cluster
    /// (`fan-out (2 nodes)`).
    pub fn row_name(&self) -> String {
        match (
            self.target.dialect().peer(),
            self.target.nodes(),
            self.generator.transports,
        ) {
            (Some(peer), _, _) => format!("{} ({peer})", self.label),
            (None, Some(nodes), _) => format!("{} ({nodes} nodes)", self.label),
            (None, None, Transports::Tcp) => self.label.clone(),
            (None, None, transports) => format!("{} ({transports})", self.label),
        }
    }

    /// `fan-out workers=2`, as the report names the row.
    pub fn title(&self) -> String {
        match self.workers() {
            Some(workers) => format!("{} workers={workers}", self.row_name()),
            None => self.row_name(),
        }
    }

    /// Checks what cannot run against this spec's server.
    pub fn validate(&self) -> Result<(), String> {
        self.workload.validate()?;
        let transports = self.generator.transports;
        match &self.target {
            TargetSpec::Peer { peer, .. } if !self.workload.runs_on_peers() => Err(format!(
                "{} runs against chatd only: it checks chatd's slow-consumer rule, which {peer} \
                 does not have in that form",
                self.workload.label()
            )),
            TargetSpec::Peer { peer, .. } if transports.uses_websocket() => Err(format!(
                "--transport {transports} runs against chatd only: its clients speak chatd's \
                 protocol over chatd's WebSocket (/ws), which {peer} does not have; {peer} is \
                 measured over TCP"
            )),
            TargetSpec::External { web: None, .. } if transports.uses_websocket() => Err(format!(
                "--transport {transports} against a running chatd needs its web listener's \
                 address: give --web HOST:PORT (where its --http listens)"
            )),
            TargetSpec::Peer { peer, .. } if transports.uses_tls() => Err(format!(
                "--transport {transports} runs against chatd only: {peer} is measured over TCP"
            )),
            TargetSpec::External { tls: None, .. } if transports.uses_tls() => Err(format!(
                "--transport {transports} against a running chatd needs its TLS listener's \
                 address: give --tls-addr HOST:PORT (where its --tls-addr listens) and --ca FILE \
                 (what signed its certificate; without it, the system's roots)"
            )),
            TargetSpec::Nodes(_) => nodes_refuse(&self.workload, transports),
            _ => Ok(()),
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

/// What `--nodes` does not run: rooms, which the nodes do not share yet, the idle and
/// stalled runs, which measure one process (its memory per client, its slow-consumer cut),
/// and clients over anything but TCP (the nodes have no web or TLS listener).
fn nodes_refuse(workload: &Workload, transports: Transports) -> Result<(), String> {
    if matches!(workload, Workload::Idle(_) | Workload::Stalled(_)) {
        return Err(format!(
            "--nodes runs fanout, paced, rooms and direct: {} measures one process",
            workload.label()
        ));
    }
    if transports != Transports::Tcp {
        return Err(format!(
            "--nodes runs its clients over TCP: its nodes have no web or TLS listener, not \
             --transport {transports}"
        ));
    }
    Ok(())
}

/// Runs `spec` once: starts its server, runs the workload, checks it, stops the server.
/// `baseline_p99` (ms) is the plain paced run's p99 that a stalled run is compared with.
pub fn run(spec: &RunSpec, baseline_p99: Option<f64>) -> RunResult {
    // The coordinating thread is the generator's for the whole run.
    let _generator = GeneratorScope::enter();
    let mut result = RunResult {
        workload: spec.row_name(),
        workers: spec.workers(),
        nodes: spec.target.nodes(),
        transports: spec.generator.transports,
        peer: spec.target.dialect().peer().map(|peer| peer.to_string()),
        ..RunResult::default()
    };
    if let Err(error) = spec.validate() {
        result.failures.push(error);
        return result;
    }
    // Our sockets, plus the server's when it shares the process; children inherit it.
    let fds_per_client = if spec.target == TargetSpec::InProcess {
        1 + spec.generator.transports.server_fds_per_client()
    } else {
        1
    };
    let wanted = u64::from(spec.workload.connections()) * fds_per_client + 256;
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
        generator: &spec.generator,
        title: spec.title(),
        send_queue: spec.send_queue(),
        timeout_causes: match spec.target.dialect().peer() {
            Some(peer) => format!(
                "likely causes: a slow or stuck {peer} server, or one that cut the clients off \
                 (its log says why)"
            ),
            None => probe::likely_causes(spec.target.starts_server(), spec.flood_control.as_ref()),
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalled_is_refused_against_a_peer_and_rows_name_the_peer() {
        let peer = |workload: Workload| RunSpec {
            label: workload.label(),
            workload,
            target: TargetSpec::Peer {
                peer: crate::loadgen::dialect::Peer::Nats,
                addr: "127.0.0.1:4222".parse().unwrap(),
                pid: None,
            },
            server: ServerSettings::default(),
            generator: GeneratorSettings::default(),
            flood_control: None,
        };
        let stalled = peer(Workload::Stalled(Stalled::default())).validate();
        assert!(
            stalled
                .unwrap_err()
                .starts_with("stalled 100k runs against chatd only")
        );
        let fanout = peer(Workload::FanOut(FanOut::default()));
        assert_eq!(fanout.validate(), Ok(()));
        assert_eq!(fanout.title(), "fan-out (NATS)");
        let run = run(&peer(Workload::Stalled(Stalled::default())), None);
        assert!(run.failed());
        assert_eq!(run.workload, "stalled 100k (NATS)");
    }

    #[test]
    fn the_demand_is_that_of_the_busiest_connections() {
        let fanout = Workload::FanOut(FanOut::default()).demand();
        assert_eq!(
            fanout,
            Demand {
                connections: 5,
                lines: 20_000,
                per_second: None
            }
        );
        // 100k deliveries/s over 199 recipients, spread over 20 senders, for 3.5 s.
        let paced = Workload::Paced(Paced::default()).demand();
        let per_second = paced.per_second.unwrap();
        assert!((per_second - 100_000.0 / 199.0 / 20.0).abs() < 1e-9);
        assert_eq!((paced.connections, paced.lines), (20, 88));
        // The stalled clients' PINGs outpace the paced senders by far.
        let stalled = Workload::Stalled(Stalled::default()).demand();
        assert_eq!(stalled.connections, 3);
        assert!(stalled.per_second.unwrap() > 8_000.0, "{stalled:?}");
        assert_eq!(Workload::Idle(Idle::default()).demand().lines, 2);
    }
}
