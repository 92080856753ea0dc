//! `chatd-bench memory`: the most memory one connection, and one address, can make a `chatd`
//! hold with its default limits, read from `/proc` of a child `chatd`.
//!
//! In scope: the three cases below, each against a fresh server and repeated, and their
//! figures ([`MemoryFigures`], medians with their ranges). Out of scope: starting and
//! stopping the server (`loadgen::target`), reading `/proc` (`loadgen::sysstat`).
//!
//! - **idle**: registered clients that read everything and say nothing: the server's growth
//!   in RSS divided by their number.
//! - **stalled**: registered clients that never read (a 4 KiB receive buffer and small
//!   segments, so the kernel holds little for them) and ask for `HELP` answers until the
//!   server cuts them as slow consumers (the send queue full) or for the write timeout: the
//!   highest growth seen while they fill, divided by their number. This is a connection's
//!   worst case: its thread, its buffers and a full send queue.
//! - **one address**: as many stalled clients as `--max-per-ip` lets one address open (256),
//!   all from 127.0.0.2, with the per-address limits given as flags, so that they hold for a
//!   loopback address as they do for any other: the highest growth seen, in all.
//!
//! The clients of each case fill the server in rounds, a batch for each client per round, so
//! that they are near the top of their queues together; the server's RSS is read after every
//! round. The peak is what was seen, not a bound: a client cut a round before the others
//! were full has given its memory back (the allocator may keep some).

use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use crate::loadgen::client::{self, SocketOptions};
use crate::loadgen::outcome::median;
use crate::loadgen::sysstat::{self, ProcSample};
use crate::loadgen::target::Target;
use chatd::config;

/// What to measure, and against which server binary.
#[derive(Debug, Clone, PartialEq)]
pub struct MemorySpec {
    pub binary: PathBuf,
    /// Flags for every server, after the defaults (`--workers`, say).
    pub server_args: Vec<String>,
    pub idle: u32,
    pub stalled: u32,
    /// Connections of the one address; also its `--max-per-ip`.
    pub per_address: u32,
    pub runs: usize,
}

impl MemorySpec {
    /// The cases at their default sizes, against `binary`.
    pub fn new(binary: PathBuf) -> MemorySpec {
        MemorySpec {
            binary,
            server_args: Vec::new(),
            idle: 1000,
            stalled: 16,
            per_address: config::DEFAULT_MAX_PER_IP as u32,
            runs: 3,
        }
    }
}

/// A median and the range it came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub lowest: f64,
    pub highest: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Spread {
        let mut sorted = values.to_vec();
        Spread {
            median: median(&mut sorted).unwrap_or(f64::NAN),
            lowest: sorted.first().copied().unwrap_or(f64::NAN),
            highest: sorted.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// What the runs measured, in KiB of the server's RSS.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryFigures {
    pub idle_per_connection: Spread,
    pub stalled_per_connection: Spread,
    pub one_address: Spread,
    /// The server's baseline RSS, first run.
    pub baseline_kib: u64,
}

/// `HELP` lines a stalled client sends per round.
const HELPS_PER_ROUND: usize = 32;
/// The pause between rounds: the server's workers and writers run meanwhile.
const ROUND_PAUSE: Duration = Duration::from_millis(10);
/// How long the clients of a case may take to be cut, and the server to settle.
const CASE_DEADLINE: Duration = Duration::from_secs(120);
/// A stalled client's socket: see the module's doc.
const STALLING: SocketOptions = SocketOptions {
    source: None,
    recv_buffer: Some(4096),
    max_segment: Some(1000),
};
/// The one address's clients come from here (all of 127.0.0.0/8 is this machine).
const ONE_ADDRESS: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// Runs every case `spec.runs` times; `say` gets a line per run.
pub fn run(spec: &MemorySpec, mut say: impl FnMut(&str)) -> Result<MemoryFigures, String> {
    let wanted = u64::from(spec.idle.max(spec.per_address)) * 2 + 100;
    sysstat::raise_fd_limit(wanted)
        .map_err(|e| format!("cannot raise the open-file limit: {e}"))?;
    let (mut idle, mut stalled, mut address) = (Vec::new(), Vec::new(), Vec::new());
    let mut baseline_kib = 0;
    for run in 1..=spec.runs {
        let (kib, base) = measure_idle(spec)?;
        baseline_kib = if run == 1 { base } else { baseline_kib };
        idle.push(kib);
        say(&format!("run {run}: idle {kib:.1} KiB per connection"));
        let kib = measure_stalled(spec, spec.stalled, None)? / f64::from(spec.stalled);
        stalled.push(kib);
        say(&format!("run {run}: stalled {kib:.0} KiB per connection"));
        let kib = measure_stalled(spec, spec.per_address, Some(ONE_ADDRESS))?;
        address.push(kib);
        say(&format!(
            "run {run}: one address, {} connections: {:.1} MiB",
            spec.per_address,
            kib / 1024.0
        ));
    }
    Ok(MemoryFigures {
        idle_per_connection: Spread::of(&idle),
        stalled_per_connection: Spread::of(&stalled),
        one_address: Spread::of(&address),
        baseline_kib,
    })
}

/// The table printed at the end.
pub fn render(spec: &MemorySpec, figures: &MemoryFigures) -> String {
    let row = |what: String, spread: &Spread, unit: &str, scale: f64| {
        format!(
            "{what:<52} {:>8.1} {unit} ({:.1}-{:.1})\n",
            spread.median / scale,
            spread.lowest / scale,
            spread.highest / scale
        )
    };
    let mut out = format!(
        "server RSS at the start: {:.1} MiB; medians of {} runs (ranges)\n",
        figures.baseline_kib as f64 / 1024.0,
        spec.runs
    );
    out += &row(
        format!("idle, {} registered clients: per connection", spec.idle),
        &figures.idle_per_connection,
        "KiB",
        1.0,
    );
    out += &row(
        format!(
            "stalled, {} with full send queues: per connection",
            spec.stalled
        ),
        &figures.stalled_per_connection,
        "KiB",
        1.0,
    );
    out += &row(
        format!(
            "one address, {} stalled connections: in all",
            spec.per_address
        ),
        &figures.one_address,
        "MiB",
        1024.0,
    );
    out
}

/// A server with the defaults, the spec's flags and `extra`.
fn start(spec: &MemorySpec, extra: &[String]) -> Result<(Target, u32), String> {
    let mut args: Vec<String> = ["--log-level", "info"].map(str::to_owned).to_vec();
    args.extend(spec.server_args.iter().cloned());
    args.extend(extra.iter().cloned());
    let target = Target::spawn(&spec.binary, &args).map_err(|e| e.to_string())?;
    let pid = target.server_pid().expect("a spawned server has a pid");
    Ok((target, pid))
}

fn sample(pid: u32) -> Result<ProcSample, String> {
    sysstat::sample_process(pid).map_err(|e| format!("the server's /proc: {e}"))
}

/// Registers `stream` as `nick`, reading to its `OK NICK`.
fn register(stream: &TcpStream, nick: &str) -> Result<(), String> {
    client::register(stream, nick)
        .map(|_| ())
        .map_err(|e| format!("registering {nick}: {e}"))
}

/// The idle case: RSS growth per connection, and the baseline.
fn measure_idle(spec: &MemorySpec) -> Result<(f64, u64), String> {
    let (target, pid) = start(spec, &[])?;
    let before = settled(pid)?;
    let mut clients = Vec::new();
    for i in 0..spec.idle {
        let stream = client::connect(target.addr()).map_err(|e| format!("connect: {e}"))?;
        register(&stream, &format!("idle{i}"))?;
        clients.push(stream);
        // Every registration is announced to those before: reading keeps them idle, not
        // stalled.
        if i % 64 == 63 {
            drain(&clients)?;
        }
    }
    drain(&clients)?;
    let after = settled(pid)?;
    drop(clients);
    target.stop().map_err(|e| e.to_string())?;
    let grown = after.rss_kib.saturating_sub(before.rss_kib) as f64;
    Ok((grown / f64::from(spec.idle), before.rss_kib))
}

/// Reads whatever each client has been sent, without waiting.
fn drain(clients: &[TcpStream]) -> Result<(), String> {
    let mut sink = [0u8; 64 * 1024];
    for stream in clients {
        loop {
            match client::recv_now(stream, &mut sink) {
                Ok(0) => return Err("the server closed an idle client".to_owned()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => return Err(format!("reading an idle client: {e}")),
            }
        }
    }
    Ok(())
}

/// RSS after the server has had a moment to finish what it was doing: two readings 100 ms
/// apart that agree within 1 %, or the second of the last two after 2 s.
fn settled(pid: u32) -> Result<ProcSample, String> {
    let end = Instant::now() + Duration::from_secs(2);
    let mut last = sample(pid)?;
    loop {
        thread::sleep(Duration::from_millis(100));
        let now = sample(pid)?;
        if now.rss_kib.abs_diff(last.rss_kib) * 100 <= last.rss_kib || Instant::now() > end {
            return Ok(now);
        }
        last = now;
    }
}

/// The stalled cases: `count` clients (from `source`, with the per-address limits given, if
/// it is set) fill their queues until the server has cut them all; the highest RSS growth.
fn measure_stalled(spec: &MemorySpec, count: u32, source: Option<IpAddr>) -> Result<f64, String> {
    let per_address: Vec<String> = match source {
        None => Vec::new(),
        Some(_) => [
            "--max-per-ip".to_owned(),
            count.to_string(),
            "--ip-rate".to_owned(),
            config::DEFAULT_IP_RATE.to_string(),
            "--ip-byte-rate".to_owned(),
            config::DEFAULT_IP_BYTE_RATE.to_string(),
        ]
        .to_vec(),
    };
    let (target, pid) = start(spec, &per_address)?;
    let baseline = settled(pid)?;
    let options = SocketOptions { source, ..STALLING };
    let mut clients = Vec::new();
    for i in 0..count {
        let stream =
            client::connect_with(target.addr(), &options).map_err(|e| format!("connect: {e}"))?;
        register(&stream, &format!("stalled{i}"))?;
        stream
            .set_nonblocking(true)
            .map_err(|e| format!("non-blocking: {e}"))?;
        clients.push(Some(stream));
    }
    let helps = "HELP\n".repeat(HELPS_PER_ROUND);
    let mut peak = baseline.rss_kib;
    let end = Instant::now() + CASE_DEADLINE;
    loop {
        for slot in &mut clients {
            if let Some(stream) = slot {
                if let Err(e) = (&*stream).write(helps.as_bytes()) {
                    if e.kind() != io::ErrorKind::WouldBlock {
                        // Cut: the server has closed it.
                        *slot = None;
                    }
                }
            }
        }
        let now = sample(pid)?;
        peak = peak.max(now.rss_kib);
        // Every client cut: its writer gone, its descriptor closed.
        if now.threads <= baseline.threads && now.fds <= baseline.fds {
            break;
        }
        if Instant::now() > end {
            target.stop().map_err(|e| e.to_string())?;
            return Err(format!(
                "{count} stalled clients not all cut after {CASE_DEADLINE:?}: the server has {} \
                 threads, {} at the start",
                now.threads, baseline.threads
            ));
        }
        thread::sleep(ROUND_PAUSE);
    }
    drop(clients);
    target.stop().map_err(|e| e.to_string())?;
    Ok(peak.saturating_sub(baseline.rss_kib) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spread_is_the_median_and_the_range() {
        let spread = Spread::of(&[3.0, 1.0, 2.0]);
        assert_eq!(
            (spread.median, spread.lowest, spread.highest),
            (2.0, 1.0, 3.0)
        );
    }
}
