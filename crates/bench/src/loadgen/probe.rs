//! The pre-flight probe of a server the bench did not start (`--addr`): does it throttle one
//! connection's lines (flood control), and by how much? Against such a server a workload
//! would measure flood control, not the server, and its barriers would time out without
//! saying why (issue 11).
//!
//! In scope: [`probe`] (one connection, thousands of pipelined `PING`s, the `PONG`s timed),
//! reading a throttle out of the timings ([`Probe::flood_control`]), what a workload asks of
//! one connection ([`Demand`]), and the texts that say what a throttle means for it: the
//! warning before the runs ([`FloodControl::warning`]) and the likely causes a timeout names
//! ([`likely_causes`]). Out of scope: what each workload sends (`workload` gives the
//! [`Demand`]) and when the probe runs (`suite`).
//!
//! Flood control is a token bucket per connection: `--burst` lines at once, then `--rate`
//! lines a second. So a throttled connection's answers come as a burst, then a steady
//! trickle. An unthrottled server answers every `PING` of the probe within its window; a
//! merely slow one answers at a steady rate from the first line, with no burst before it.

use std::fmt;
use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::loadgen::client::{self, IO_TIMEOUT};
use chatd_proto::{Command, Reply};

/// `PING`s the probe sends at once: more than a burst plus a second of the rate of any
/// plausible flood control (the defaults: 4,000, then 2,000 a second), and few enough that
/// an unthrottled server answers them all in a small part of [`PROBE_WINDOW`] (tens of
/// milliseconds on loopback).
pub const PROBE_LINES: u32 = 20_000;
/// How long the probe waits for its `PONG`s: long enough to see a rate of a few lines a
/// second after the burst, short enough to run before every `--addr` run.
pub const PROBE_WINDOW: Duration = Duration::from_secs(1);
/// Below this many lines a second on one connection, pipelined, a server is throttling:
/// no server that answers at all is that slow at `PING`, even over a network.
const TRICKLE: f64 = 1_000.0;
/// The token of the probe's `PING`s.
const TOKEN: &str = "bench-probe";
/// `PING`s per write of the probe's writer thread.
const BATCH: u32 = 1_000;

/// What the probe saw: when its `PONG`s came.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// `PING`s sent (or meant to be: the writer stops when the connection does).
    pub lines: u32,
    /// How long the probe waited for them at most.
    pub window: Duration,
    /// `PONG`s received by a time since the first `PING` was written, one entry per read,
    /// in order.
    pub arrivals: Vec<(Duration, u32)>,
}

/// A throttle the probe measured on one connection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodControl {
    /// Lines a second the connection gets through once its burst is spent.
    pub rate: f64,
    /// Lines answered at once before that.
    pub burst: u64,
    /// The probe's own figures, for the warning: `PING`s sent, answered, in how long.
    pub sent: u32,
    pub answered: u32,
    pub window: Duration,
}

/// What a workload asks of its busiest connections.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demand {
    /// Connections that send this much.
    pub connections: u32,
    /// Lines each of them sends over the run.
    pub lines: u64,
    /// `None`: as fast as the server takes them (closed loop); else lines a second each.
    pub per_second: Option<f64>,
}

/// Probes the server at `addr` with [`PROBE_LINES`] pipelined `PING`s on one connection for
/// at most [`PROBE_WINDOW`] (a second or two in all, with connecting and the greeting).
pub fn probe(addr: SocketAddr) -> io::Result<Probe> {
    probe_with(addr, PROBE_LINES, PROBE_WINDOW)
}

/// [`probe`] with `lines` `PING`s and a `window` of its own. The connection never registers,
/// so the server's other clients see nothing of it.
pub fn probe_with(addr: SocketAddr, lines: u32, window: Duration) -> io::Result<Probe> {
    let stream = Arc::new(client::connect(addr)?);
    let greeting_deadline = Instant::now() + IO_TIMEOUT;
    let pending = client::read_until(&*stream, Vec::new(), greeting_deadline, "HELLO", |line| {
        match Reply::parse(&String::from_utf8_lossy(line)) {
            Ok(Reply::Hello { .. }) => Ok(true),
            _ => Err(io::Error::other(format!(
                "the server greeted the probe with {:?}, not HELLO",
                String::from_utf8_lossy(line)
            ))),
        }
    })?;
    let ping = format!("{}\n", Command::Ping { token: Some(TOKEN) });
    let pong = Reply::Pong {
        token: Some(TOKEN.to_owned()),
    }
    .to_string();
    let started = Instant::now();
    let writer = {
        let stream = Arc::clone(&stream);
        thread::Builder::new()
            .name("bench-probe".to_owned())
            .spawn(move || write_pings(&stream, &ping, lines))?
    };
    let arrivals = read_pongs(&stream, pending, pong.as_bytes(), lines, started, window);
    // Unblocks the writer if the server stopped reading: its write fails at once. So its
    // error is this shutdown's, or the connection's, which the reads report better.
    let _ = stream.shutdown(Shutdown::Both);
    if writer.join().is_err() {
        return Err(io::Error::other("the probe's writer thread panicked"));
    }
    Ok(Probe {
        lines,
        window,
        arrivals: arrivals?,
    })
}

/// Writes `lines` copies of `ping`, [`BATCH`] to a write, until done or a write fails.
fn write_pings(stream: &TcpStream, ping: &str, lines: u32) -> io::Result<()> {
    let batch = ping.repeat(BATCH as usize);
    let mut written = 0;
    while written < lines {
        let now = BATCH.min(lines - written);
        (&*stream).write_all(&batch.as_bytes()[..now as usize * ping.len()])?;
        written += now;
    }
    Ok(())
}

/// Reads until `lines` `PONG`s came or `window` has passed since `started`, noting when
/// they came. Any other line ends the probe with an error that quotes it: the server
/// refused the probe somehow.
fn read_pongs(
    stream: &TcpStream,
    pending: Vec<u8>,
    pong: &[u8],
    lines: u32,
    started: Instant,
    window: Duration,
) -> io::Result<Vec<(Duration, u32)>> {
    let mut arrivals = Vec::new();
    let mut answered = 0u32;
    let read = client::read_until(stream, pending, started + window, "the PONGs", |line| {
        if line != pong {
            return Err(io::Error::other(format!(
                "the server answered the probe's PINGs with {:?} after {answered} PONGs",
                String::from_utf8_lossy(&line[..line.len().min(120)])
            )));
        }
        answered += 1;
        arrivals.push((started.elapsed(), answered));
        Ok(answered >= lines)
    });
    match read {
        // The window ending is how a throttled probe stops: what came by then is the finding.
        Err(error) if error.kind() == io::ErrorKind::TimedOut => Ok(arrivals),
        Err(error) => Err(error),
        Ok(_) => Ok(arrivals),
    }
}

impl Probe {
    /// `PONG`s received in all.
    pub fn answered(&self) -> u32 {
        self.arrivals.last().map_or(0, |&(_, n)| n)
    }

    /// What the probe of `addr` found, said for a workload that asks `demand`: the
    /// flood-control warning, or a line saying that none was seen.
    pub fn note(&self, addr: SocketAddr, demand: &Demand) -> String {
        match self.flood_control() {
            Some(found) => found.warning(addr, demand),
            None => {
                let took = self.arrivals.last().map_or(self.window, |&(at, _)| at);
                format!(
                    "pre-flight probe of {addr}: no flood control seen ({} of {} PINGs sent at \
                     once on one connection answered in {:.2} s)",
                    grouped(f64::from(self.answered())),
                    grouped(f64::from(self.lines)),
                    took.as_secs_f64()
                )
            }
        }
    }

    /// `PONG`s received by `at`.
    fn answered_by(&self, at: Duration) -> u32 {
        self.arrivals
            .iter()
            .take_while(|&&(when, _)| when <= at)
            .last()
            .map_or(0, |&(_, n)| n)
    }

    /// The throttle the timings show, if any: `None` when every `PING` was answered within
    /// the window, or when the answers came at a steady rate from the first (a slow server,
    /// not flood control), or when none came at all (a stuck server).
    ///
    /// The rate is that of the window's second half; the burst is what was answered beyond
    /// that rate since the first `PONG`. A throttle shows a burst worth more than a tenth of
    /// a second of its rate, or a rate no unthrottled server is that slow at.
    pub fn flood_control(&self) -> Option<FloodControl> {
        let answered = self.answered();
        let &(first, _) = self.arrivals.first()?;
        if answered >= self.lines {
            return None;
        }
        let half = self.window / 2;
        let tail = answered - self.answered_by(half);
        let rate = f64::from(tail) / (self.window - half).as_secs_f64();
        let beyond_rate =
            f64::from(answered) - rate * self.window.saturating_sub(first).as_secs_f64();
        let burst = beyond_rate.max(0.0).round();
        let throttled = (burst >= 1.0 && burst >= rate * 0.1) || rate < TRICKLE;
        throttled.then_some(FloodControl {
            rate,
            burst: burst as u64,
            sent: self.lines,
            answered,
            window: self.window,
        })
    }
}

impl fmt::Display for FloodControl {
    /// `about 50 lines/s after a burst of about 200 lines`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rate < 1.0 {
            write!(f, "under 1 line/s")?;
        } else {
            write!(f, "about {} lines/s", grouped(self.rate))?;
        }
        write!(
            f,
            " after a burst of about {} lines",
            grouped(self.burst as f64)
        )
    }
}

impl FloodControl {
    /// Whether `demand` asks more of one connection than the throttle lets through.
    pub fn slows(&self, demand: &Demand) -> bool {
        let lines = demand.lines as f64;
        match demand.per_second {
            None => demand.lines > self.burst,
            Some(per_second) if per_second > 0.0 => {
                lines > self.burst as f64 + self.rate * lines / per_second
            }
            Some(_) => false,
        }
    }

    /// The warning printed before the runs against the server at `addr`: what the probe
    /// measured, what the workload needs, and how to lift the throttle.
    pub fn warning(&self, addr: SocketAddr, demand: &Demand) -> String {
        let measured = format!(
            "warning: the server at {addr} throttles each connection to {self} (flood \
             control: the pre-flight probe sent {} PINGs at once, {} were answered within \
             {:.1} s).",
            grouped(f64::from(self.sent)),
            grouped(f64::from(self.answered)),
            self.window.as_secs_f64()
        );
        let lines = grouped(demand.lines as f64);
        let connections = match demand.connections {
            1 => "1 connection".to_owned(),
            n => format!("{} connections", grouped(f64::from(n))),
        };
        let pace = match demand.per_second {
            None => "as fast as the server takes them".to_owned(),
            Some(per_second) if per_second < 10.0 => format!("at {per_second:.1} lines/s"),
            Some(per_second) => format!("at {} lines/s", grouped(per_second)),
        };
        let needs = if self.slows(demand) {
            let at_least = match demand.per_second {
                None if self.rate >= 1.0 => format!(
                    ", which takes at least {:.0} s at that rate",
                    demand.lines.saturating_sub(self.burst) as f64 / self.rate
                ),
                _ => String::new(),
            };
            format!(
                "This workload needs more: {connections} each send {lines} lines {pace}\
                 {at_least}. The run would measure flood control, not the server, and its \
                 barriers may time out."
            )
        } else {
            format!(
                "This workload stays within it ({connections} each send {lines} lines \
                 {pace}), but any larger run may not."
            )
        };
        format!(
            "{measured}\n  {needs}\n  Fix: run the server with --rate 0 (flood control off, \
             as the bench does for the servers it starts), or raise --rate and --burst (a \
             --burst of {lines} holds all of one connection's lines)."
        )
    }
}

/// What a timed-out barrier names as its likely causes (`likely causes: ...`, to follow a
/// semicolon): for a server the bench started,
/// which has flood control off, a slow or stuck server; for another, flood control too,
/// with what the probe measured if it saw a throttle.
pub fn likely_causes(bench_started_it: bool, found: Option<&FloodControl>) -> String {
    if bench_started_it {
        return "likely cause: a slow or stuck server (its flood control is off: the bench \
                starts it with --rate 0)"
            .to_owned();
    }
    let flood_control = match found {
        Some(found) => format!(
            "the pre-flight probe measured {found} on one connection; run the server with --rate 0, or raise \
             --rate and --burst"
        ),
        None => "the server's --rate and --burst; the pre-flight probe saw none".to_owned(),
    };
    format!(
        "likely causes: flood control on the server ({flood_control}), or a slow or dead server"
    )
}

/// `20,000` for 20000.4: thousands grouped, no decimals.
fn grouped(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut out = String::new();
    for (at, digit) in digits.chars().enumerate() {
        if at > 0 && (digits.len() - at) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn probe(arrivals: &[(u64, u32)]) -> Probe {
        Probe {
            lines: 20_000,
            window: ms(1000),
            arrivals: arrivals.iter().map(|&(at, n)| (ms(at), n)).collect(),
        }
    }

    #[test]
    fn a_burst_then_a_trickle_is_flood_control() {
        // --rate 50 --burst 200: 200 at once, then one every 20 ms.
        let mut arrivals = vec![(1, 200)];
        arrivals.extend((1..=49).map(|k| (1 + 20 * k, 200 + k as u32)));
        let found = probe(&arrivals).flood_control().expect("throttled");
        assert!((found.rate - 50.0).abs() < 3.0, "{found:?}");
        assert!((195..=205).contains(&found.burst), "{found:?}");
        assert_eq!(found.answered, 249);
    }

    #[test]
    fn the_new_defaults_are_seen_too() {
        // --rate 2000 --burst 4000: 4,000 at once, then 40 every 20 ms.
        let mut arrivals = vec![(2, 4000)];
        arrivals.extend((1..=49).map(|k| (2 + 20 * k, 4000 + 40 * k as u32)));
        let found = probe(&arrivals).flood_control().expect("throttled");
        assert!((found.rate - 2000.0).abs() < 100.0, "{found:?}");
        assert!((3900..=4100).contains(&found.burst), "{found:?}");
    }

    #[test]
    fn all_answered_or_a_steady_pace_is_not_flood_control() {
        assert_eq!(probe(&[(5, 9000), (40, 20_000)]).flood_control(), None);
        // A slow server: 10,000 lines a second from the first.
        let steady: Vec<(u64, u32)> = (1..=100).map(|k| (10 * k, 100 * k as u32)).collect();
        assert_eq!(probe(&steady).flood_control(), None);
        // Nothing at all: a stuck server, not something the probe can measure.
        assert_eq!(probe(&[]).flood_control(), None);
    }

    #[test]
    fn a_trickle_without_a_burst_is_flood_control() {
        let trickle: Vec<(u64, u32)> = (1..=50).map(|k| (20 * k, k as u32)).collect();
        let found = probe(&trickle).flood_control().expect("throttled");
        assert!(found.rate < 60.0, "{found:?}");
    }

    fn fifty_after_200() -> FloodControl {
        FloodControl {
            rate: 50.0,
            burst: 200,
            sent: 20_000,
            answered: 249,
            window: ms(1000),
        }
    }

    #[test]
    fn the_warning_says_what_was_measured_what_is_needed_and_the_fix() {
        let addr: SocketAddr = "192.0.2.7:7000".parse().unwrap();
        let fanout = Demand {
            connections: 5,
            lines: 20_000,
            per_second: None,
        };
        let warning = fifty_after_200().warning(addr, &fanout);
        for part in [
            "the server at 192.0.2.7:7000 throttles each connection to about 50 lines/s \
             after a burst of about 200 lines",
            "sent 20,000 PINGs at once, 249 were answered within 1.0 s",
            "This workload needs more: 5 connections each send 20,000 lines as fast as the \
             server takes them, which takes at least 396 s at that rate",
            "--rate 0",
            "--burst of 20,000",
        ] {
            assert!(warning.contains(part), "{part:?} not in {warning}");
        }
        let idle = Demand {
            connections: 10_000,
            lines: 2,
            per_second: None,
        };
        assert!(
            fifty_after_200()
                .warning(addr, &idle)
                .contains("This workload stays within it (10,000 connections each send 2 lines")
        );
    }

    #[test]
    fn a_paced_demand_is_slowed_only_beyond_the_rate() {
        let limit = fifty_after_200();
        let paced = |per_second: f64, seconds: f64| Demand {
            connections: 20,
            lines: (per_second * seconds) as u64,
            per_second: Some(per_second),
        };
        assert!(!limit.slows(&paced(25.0, 3.5)));
        assert!(
            !limit.slows(&paced(100.0, 3.0)),
            "300 lines fit 200 + 3 s x 50"
        );
        assert!(limit.slows(&paced(100.0, 10.0)));
        assert!(limit.slows(&paced(5_000.0, 3.5)));
    }

    #[test]
    fn timeouts_name_the_likely_causes() {
        let started = likely_causes(true, None);
        assert!(started.contains("slow or stuck server"), "{started}");
        assert!(!started.contains("flood control on"), "{started}");
        let unknown = likely_causes(false, None);
        assert!(unknown.contains("flood control on the server"), "{unknown}");
        assert!(unknown.contains("slow or dead server"), "{unknown}");
        let seen = likely_causes(false, Some(&fifty_after_200()));
        assert!(
            seen.contains("the pre-flight probe measured about 50 lines/s after a burst of"),
            "{seen}"
        );
        assert!(seen.contains("--rate 0"), "{seen}");
    }

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.4), "999");
        assert_eq!(grouped(20_000.0), "20,000");
        assert_eq!(grouped(1_234_567.0), "1,234,567");
    }
}
