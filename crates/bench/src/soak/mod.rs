//! The soak and chaos test behind `chatd-soak`: one server, for a bounded time, under
//! hundreds of clients that connect and leave at random and misbehave in every way the
//! protocol has an answer for, while a few well-behaved clients chat and check that each of
//! their lines reached each of them, once, in order. At the end the server must be alive and
//! its threads, descriptors and memory back near where they started.
//!
//! Layout, in reading order:
//! - [`settings`]: the run's size and pace, the server flags it starts a server with, humane
//!   durations. Pure.
//! - [`sources`]: which address each kind of client connects from.
//! - [`shared`]: what the run's threads share: limits, nicks, sent counts, connection counts.
//! - [`chatter`]: well-behaved clients and their checks; the `Peer` a flood uses too.
//! - [`resumer`]: well-behaved clients that leave and come back, catching up through
//!   `HISTORY * AFTER`; [`resume`]: the check of what they heard. Pure.
//! - `login_clients`: accounts, logged in to with the right password over and over while
//!   other clients send wrong ones; [`login`]: the rules their answers are held to. Pure.
//! - [`chaos`]: the faults, their weights, the chaos slots and what they record.
//! - [`faults`]: the faults of one connection on the wire, and the answers they expect.
//! - The attacks of issue 13, each in its own file: `zero_window` (a reader that never
//!   reads, after `QUIT` or FIN), `bad_text` (control characters in every kind of text),
//!   `address_flood` (4 KiB lines from many connections of one address), `who_flood`
//!   (`WHO` and `ROOMS` as fast as they are answered); [`figures`]: what they measured.
//! - `flood`: the flood fault, a client sending as fast as the server takes its lines.
//! - `chaos_conn`: a chaos client's socket, reads with deadlines, the check of every line.
//! - [`resources`]: the server's `/proc` figures and the rule they are held to.
//! - [`outcome`]: the figures and the verdict. Pure.
//! - [`report`]: the text report. Pure.
//!
//! A run ([`run`]): start or reach the server; connect and register the well-behaved clients;
//! register the login accounts; take the baseline; then two equal halves of chaos and logins,
//! each followed by a settle (every registered chaos client announced as gone to every
//! well-behaved client, the server's threads and descriptors back to the baseline), so that
//! memory after the first half and after the second can be compared; the login accounts are
//! deleted; a fresh client checks that the server is alive; the well-behaved clients stop,
//! barrier, and quit; every count is checked.

mod address_flood;
mod bad_text;
pub mod chaos;
mod chaos_conn;
pub mod chatter;
pub mod faults;
pub mod figures;
mod flood;
pub mod login;
mod login_clients;
pub mod outcome;
pub mod report;
pub mod resources;
pub mod resume;
pub mod resumer;
pub mod settings;
pub mod shared;
pub mod sources;
mod who_flood;
mod zero_window;

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::loadgen::check;
use crate::loadgen::outcome::{Latency, latency_histogram};
use crate::loadgen::sysstat::{self, ProcSample};
use crate::loadgen::target::{ServerSettings, Target, TargetSpec};
use crate::soak::chaos::{Registered, SlotLog};
use crate::soak::chatter::{Left, Peer, PeerEnd, Role, SenderReport};
use crate::soak::faults::FaultSettings;
use crate::soak::login::{LoginCounts, LoginFigures};
use crate::soak::login_clients::Logins;
use crate::soak::outcome::{AnnounceCounts, SoakOutcome, check_announcements};
use crate::soak::resources::ResourceFigures;
use crate::soak::resumer::{Resumer, ResumerEnd};
use crate::soak::settings::{SoakSpec, SoakTarget};
use crate::soak::shared::{Names, Senders, Shared};
use crate::soak::sources::Sources;
use crate::sock_diag::SockDiag;

pub use settings::{SERVER_DEFAULTS, parse_duration};

/// Open files the soak asks for: its own sockets (one per chaos slot, two per peer), and a
/// child server's, which inherits the limit (one per client, plus its own).
const FD_LIMIT: u64 = 20_000;

/// Runs a soak. `say` gets a line at each step (for a progress display). An error means the
/// run could not be made (bad settings, no server); a run that finds problems returns an
/// outcome whose [`SoakOutcome::failures`] lists them.
pub fn run(
    spec: &SoakSpec,
    command: String,
    say: &mut dyn FnMut(&str),
) -> Result<SoakOutcome, String> {
    let started = Instant::now();
    let config = spec.validate()?;
    sysstat::raise_fd_limit(FD_LIMIT).map_err(|e| format!("raising the open-file limit: {e}"))?;
    let args = spec.effective_server_args();
    let (target, server) = match &spec.target {
        SoakTarget::Spawn(binary) => (
            Target::spawn(binary, &args).map_err(|e| e.to_string())?,
            format!("{} {}", binary.display(), args.join(" ")),
        ),
        SoakTarget::InProcess => (
            Target::in_process(config.clone()).map_err(|e| format!("starting the server: {e}"))?,
            format!("in this process: {}", args.join(" ")),
        ),
        SoakTarget::External { addr, pid } => {
            let spec = TargetSpec::External {
                addr: *addr,
                pid: *pid,
                web: None,
                tls: None,
            };
            let target =
                Target::start(&spec, &ServerSettings::default()).map_err(|e| e.to_string())?;
            (target, format!("{addr}, started with: {}", args.join(" ")))
        }
    };
    let pid = target.server_pid();
    let server = match pid {
        Some(pid) if !matches!(spec.target, SoakTarget::External { .. }) => {
            format!("{server} (pid {pid})")
        }
        _ => server,
    };
    say(&format!("server {} at {}", server, target.addr()));
    let sources = Sources::for_server(target.addr());
    let shared = Arc::new(Shared::new(
        target.addr(),
        config,
        Names::from_seed(spec.seed),
        sources,
        sees_server_sockets(target.addr()),
        Senders {
            well_behaved: spec.well_behaved,
            resumers: spec.resumers,
            logins: spec.logins,
            flood_slots: spec.flood_slots(),
        },
        spec.max_flooders,
    ));
    let mut outcome = SoakOutcome {
        command,
        server,
        seed: spec.seed,
        duration: spec.duration,
        churn_clients: spec.churn_clients,
        well_behaved: spec.well_behaved,
        resumers: spec.resumers,
        resume_away: spec.resume_away,
        sources: sources.describe().to_owned(),
        write_timeout: shared.config.write_timeout,
        ..SoakOutcome::default()
    };
    let result = soak(spec, &shared, pid, &mut outcome, say);
    let stopped = target.stop();
    result?;
    if let Err(e) = stopped {
        outcome
            .settle_failures
            .push(format!("stopping the server: {e}"));
    }
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// The run against a reachable server.
fn soak(
    spec: &SoakSpec,
    shared: &Arc<Shared>,
    pid: Option<u32>,
    outcome: &mut SoakOutcome,
    say: &mut dyn FnMut(&str),
) -> Result<(), String> {
    // Bounds every reader's life: the run plus every settle at its longest.
    let readers_deadline =
        Instant::now() + spec.duration * 2 + spec.settle_timeout * 4 + Duration::from_secs(60);
    let peers = (0..spec.well_behaved)
        .map(|i| {
            let nick = shared.names.chat.nick(i as u32);
            let source = shared.sources.well_behaved();
            Peer::connect(shared, &nick, Role::WellBehaved, source, readers_deadline)
                .map_err(|e| format!("well-behaved client {nick}: {e}"))
        })
        .collect::<Result<Vec<Peer>, String>>()?;
    let resumers = (0..spec.resumers)
        .map(|i| Resumer::connect(shared, i).map_err(|e| format!("resuming client {i}: {e}")))
        .collect::<Result<Vec<Resumer>, String>>()?;
    let logins = match spec.logins {
        0 => None,
        _ => Some(Logins::register(shared, spec.seed)?),
    };
    let baseline = match pid {
        Some(pid) => Some(resources::sample(pid).map_err(|e| format!("/proc of {pid}: {e}"))?),
        None => None,
    };
    if let Some(b) = baseline {
        say(&format!(
            "{} well-behaved clients and {} accounts registered; baseline RSS {} KiB, {} \
             threads, {} fds",
            spec.well_behaved, spec.logins, b.rss_kib, b.threads, b.fds
        ));
    }
    let half = spec.duration / 2;
    let faults = chaos::runnable(&spec.faults, shared, half);
    outcome.skipped = spec
        .faults
        .iter()
        .copied()
        .filter(|f| !faults.contains(f))
        .collect();
    let fault_settings = FaultSettings {
        linger: spec.linger,
        flood_lines: spec.flood_lines,
        address_flooders: spec.address_flooders,
    };
    let mut chaos_log = SlotLog::default();
    let mut login_counts = LoginCounts::default();
    let mut settled: Vec<Option<(ProcSample, bool)>> = Vec::new();
    let (stop_senders, senders_stop) = crossbeam_channel::bounded::<()>(0);
    let (stop_sampler, sampler_stop) = crossbeam_channel::bounded::<()>(0);
    let (stop_resumers, resumers_stop) = crossbeam_channel::bounded::<()>(0);
    let (sender_reports, peak, resumer_ends) = thread::scope(|scope| {
        let senders: Vec<_> = peers
            .iter()
            .enumerate()
            .map(|(i, peer)| {
                let stop = senders_stop.clone();
                thread::Builder::new()
                    .name(format!("soak-send-{i}"))
                    .spawn_scoped(scope, move || {
                        chatter::run_sender(
                            shared,
                            peer,
                            i,
                            spec.chat_interval,
                            spec.barrier_every,
                            &stop,
                        )
                    })
                    .expect("a sender thread starts")
            })
            .collect();
        let resumers: Vec<_> = resumers
            .into_iter()
            .enumerate()
            .map(|(i, resumer)| {
                let stop = resumers_stop.clone();
                thread::Builder::new()
                    .name(format!("soak-resume-{i}"))
                    .spawn_scoped(scope, move || {
                        resumer.run(spec.resume_every, spec.resume_away, &stop)
                    })
                    .expect("a resuming client's thread starts")
            })
            .collect();
        let sampler = pid.zip(baseline).map(|(pid, baseline)| {
            let stop = sampler_stop.clone();
            thread::Builder::new()
                .name("soak-sampler".to_owned())
                .spawn_scoped(scope, move || resources::sample_peak(pid, baseline, &stop))
                .expect("the sampler thread starts")
        });
        for number in 1..=2 {
            let end = Instant::now() + half;
            let (log, logged_in) = run_half(
                spec,
                shared,
                (&faults, &fault_settings),
                logins.as_ref(),
                number,
                end,
            );
            let (runs, registered) = (log.runs.iter().sum::<u64>(), log.registered.len());
            chaos_log.merge(log);
            login_counts += logged_in;
            say(&format!(
                "half {number}/2 done at {:.1} s: {runs} chaos connections, {registered} \
                 registered; settling",
                shared.epoch.elapsed().as_secs_f64()
            ));
            let settle = settle(spec, &peers, &chaos_log.registered, pid, baseline, outcome);
            say(&format!(
                "settled at {:.1} s",
                shared.epoch.elapsed().as_secs_f64()
            ));
            settled.push(settle);
        }
        // Deleted before the last settle, which then checks what the deleting cost too.
        outcome.login = match logins {
            Some(logins) => logins.finish(login_counts),
            None => LoginFigures::default(),
        };
        // The server must still take a new client, and answer it.
        let index = shared.next_chaos_index();
        let alive = alive_check(shared, index, readers_deadline);
        if alive.is_ok() {
            chaos_log.registered.push(Registered {
                index,
                fault: chaos::Fault::Quit,
                may_leave: vec![Left::Quit(None)],
            });
        }
        outcome.alive = Some(alive);
        let end = settle(spec, &peers, &chaos_log.registered, pid, baseline, outcome);
        settled.push(end);
        drop(stop_senders);
        drop(stop_sampler);
        let reports: Vec<SenderReport> = senders
            .into_iter()
            .map(|h| h.join().expect("a sender thread does not panic"))
            .collect();
        // Every chat line is queued for everyone now: the resuming clients' last barrier
        // reads them all.
        drop(stop_resumers);
        let resumer_ends: Vec<ResumerEnd> = resumers
            .into_iter()
            .map(|h| h.join().expect("a resuming client does not panic"))
            .collect();
        let peak = sampler.map(|h| h.join().expect("the sampler does not panic"));
        (reports, peak, resumer_ends)
    });
    // Every sender's lines are queued for everyone; one more barrier each makes sure every
    // receiver has read all of them.
    for peer in &peers {
        if let Err(e) = peer.barrier(shared.reply_timeout()) {
            outcome.settle_failures.push(format!("final barrier: {e}"));
        }
    }
    let ends: Vec<PeerEnd> = peers.into_iter().map(|peer| peer.quit(None)).collect();
    let (connections, peak_open) = shared.connection_counts();
    outcome.connections = connections;
    outcome.peak_open = peak_open;
    if let (Some(baseline), Some(peak)) = (baseline, peak) {
        let pick = |at: usize| settled.get(at).copied().flatten();
        let (half, half_settled) = pick(0).unwrap_or((baseline, false));
        let (after, after_settled) = pick(2).unwrap_or((baseline, false));
        outcome.resources = Some(ResourceFigures {
            baseline,
            peak: resources::highest(peak, highest_of(&settled, baseline)),
            half,
            after,
            half_settled,
            after_settled,
        });
    }
    tally(spec, shared, sender_reports, ends, chaos_log, outcome);
    for end in resumer_ends {
        outcome.resume += end.counts;
        if let Some(failure) = end.failure {
            outcome
                .well_behaved_failures
                .push(format!("resuming client {failure}"));
        }
    }
    Ok(())
}

/// One half of the chaos phase: every slot's connections, and the login clients' (if the
/// run has accounts), until `end`.
fn run_half(
    spec: &SoakSpec,
    shared: &Arc<Shared>,
    (faults, settings): (&[chaos::Fault], &FaultSettings),
    logins: Option<&Logins<'_>>,
    number: u64,
    end: Instant,
) -> (SlotLog, LoginCounts) {
    thread::scope(|scope| {
        let logging_in = logins.map(|logins| {
            thread::Builder::new()
                .name("soak-logins".to_owned())
                .spawn_scoped(scope, move || logins.run_until(end))
                .expect("the login clients' thread starts")
        });
        let slots: Vec<_> = (0..spec.churn_clients)
            .map(|slot| {
                // Every slot of every half has its own stream of choices, all from the seed.
                let seed =
                    spec.seed ^ (number << 32 | slot as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                thread::Builder::new()
                    .name(format!("soak-chaos-{slot}"))
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, move || {
                        let mut rng = fastrand::Rng::with_seed(seed);
                        chaos::run_slot(shared, faults, settings, (slot, &mut rng), end)
                    })
                    .expect("a chaos thread starts")
            })
            .collect();
        let mut log = SlotLog::default();
        for slot in slots {
            log.merge(slot.join().expect("a chaos slot does not panic"));
        }
        let logged_in = logging_in
            .map(|h| h.join().expect("the login clients do not panic"))
            .unwrap_or_default();
        (log, logged_in)
    })
}

/// After a half: waits until every well-behaved receiver has seen every registered chaos
/// client leave, then until the server's threads and descriptors are back to the baseline.
/// Returns the server's figures then, and whether they came back.
fn settle(
    spec: &SoakSpec,
    peers: &[Peer],
    registered: &[Registered],
    pid: Option<u32>,
    baseline: Option<ProcSample>,
    outcome: &mut SoakOutcome,
) -> Option<(ProcSample, bool)> {
    let deadline = Instant::now() + spec.settle_timeout;
    let gone = registered.len() as u64;
    for peer in peers {
        if let Err(e) = peer.wait_chaos_gone(gone, deadline) {
            outcome
                .settle_failures
                .push(format!("{e} ({} seen)", peer.chaos_gone()));
        }
    }
    let (pid, baseline) = pid.zip(baseline)?;
    match resources::wait_back(pid, baseline, deadline) {
        Ok(reading) => Some(reading),
        Err(e) => {
            outcome.settle_failures.push(format!("/proc of {pid}: {e}"));
            None
        }
    }
}

fn highest_of(settled: &[Option<(ProcSample, bool)>], baseline: ProcSample) -> ProcSample {
    settled
        .iter()
        .flatten()
        .fold(baseline, |peak, (sample, _)| {
            resources::highest(peak, *sample)
        })
}

/// A fresh client registers, gets its `PONG`, and quits cleanly.
fn alive_check(shared: &Arc<Shared>, index: u32, deadline: Instant) -> Result<Duration, String> {
    let start = Instant::now();
    let nick = shared.names.chaos.nick(index);
    let source = shared.sources.well_behaved();
    let peer = Peer::connect(shared, &nick, Role::Flooder, source, deadline)
        .map_err(|e| format!("connect and register: {e}"))?;
    let barrier = peer.barrier(shared.reply_timeout());
    let took = start.elapsed();
    let end = peer.quit(None);
    barrier?;
    match end.lost {
        None => Ok(took),
        Some(lost) => Err(format!("QUIT: {lost}")),
    }
}

/// Sums up what the senders, receivers and chaos slots saw into `outcome`.
fn tally(
    spec: &SoakSpec,
    shared: &Shared,
    senders: Vec<SenderReport>,
    ends: Vec<PeerEnd>,
    chaos_log: SlotLog,
    outcome: &mut SoakOutcome,
) {
    let well_behaved = spec.well_behaved;
    for (i, report) in senders.iter().enumerate() {
        outcome.chat_sent += u64::from(report.sent);
        outcome.barriers += report.barriers;
        outcome.slowest_barrier = outcome.slowest_barrier.max(report.slowest_barrier);
        if let Some(failure) = &report.failure {
            outcome
                .well_behaved_failures
                .push(format!("well-behaved sender {i}: {failure}"));
        }
    }
    outcome.flood_sent = shared
        .flood_senders()
        .map(|s| u64::from(shared.sent(s)))
        .sum();
    // Every well-behaved client gets every flood's and every login's line; a chatting one
    // all but its own.
    outcome.expected_deliveries = outcome.chat_sent * (well_behaved as u64 - 1)
        + (outcome.flood_sent + outcome.login.lines) * well_behaved as u64;
    let mut latency = latency_histogram();
    let mut logs = Vec::new();
    let mut announcements = AnnounceCounts::default();
    for (i, end) in ends.into_iter().enumerate() {
        if let Some(lost) = &end.lost {
            outcome.well_behaved_lost += 1;
            outcome
                .well_behaved_failures
                .push(format!("well-behaved client {i} was disconnected: {lost}"));
        }
        let Some(tally) = end.tally else { continue };
        let (counts, log, rest) = tally.finish(i, |slot| shared.sent(slot));
        outcome.counts += counts;
        logs.push(log);
        let _ = latency.add(&rest.latency_us);
        announcements += check_announcements(&chaos_log.registered, &rest.announced);
        outcome.chaos_lines += rest.chaos_lines;
        outcome.partial_executed += rest.partial_executed;
        outcome.refused_characters += rest.refused_characters;
        outcome.refused_delivered += rest.refused_delivered;
        if outcome.first_refused.is_none() {
            outcome.first_refused = rest.first_refused;
        }
        outcome.server_pings += rest.server_pings;
        outcome.foreign += rest.foreign;
        outcome.unexpected_lines += rest.unexpected;
        if outcome.first_unexpected.is_none() {
            outcome.first_unexpected = rest.first_unexpected;
        }
    }
    outcome.counts.order_violations +=
        check::order_violations(&logs, &check::pick_references(&logs, |_| true));
    outcome.latency = Latency::from_histogram(&latency);
    outcome.announcements = announcements;
    outcome.chaos = chaos_log;
}

/// Whether the kernel shows the server's side of this process's connections to `addr`
/// (`sock_diag`): a server on this machine, in this network namespace. Asked of a connection
/// of its own, closed again at once.
fn sees_server_sockets(addr: std::net::SocketAddr) -> bool {
    let std::net::SocketAddr::V4(server) = addr else {
        return false;
    };
    let Ok(stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return false;
    };
    let Ok(std::net::SocketAddr::V4(me)) = stream.local_addr() else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    let Ok(diag) = SockDiag::open() else {
        return false;
    };
    // The server's side exists as soon as the handshake is done; the accept may come later.
    while Instant::now() < deadline {
        match diag.lookup(server, me) {
            Ok(Some(_)) => return true,
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(_) => return false,
        }
    }
    false
}
