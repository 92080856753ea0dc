//! `chatd-soak`: the soak and chaos test. Runs one server (the `chatd` next to this binary
//! by default) for a bounded time under hundreds of misbehaving clients while well-behaved
//! ones chat and check every line, then prints a short report (`chatd_bench::soak`).
//!
//! Exit status: 0 if every check passed, 1 if one failed, 2 if the run could not be made
//! (bad flags, no server).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a test tool prints its report on stdout and its progress and errors on stderr"
)]

use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches, Parser};

use chatd_bench::loadgen::target;
use chatd_bench::soak::chaos::Fault;
use chatd_bench::soak::settings::{
    SERVER_DEFAULTS, SoakSpec, SoakTarget, format_duration, parse_duration,
};
use chatd_bench::soak::{self, report};

/// Soak and chaos test for chatd: for --duration, --churn-clients connections at a time
/// connect and leave at random, reset, half-write lines, read slowly or never (also after
/// QUIT), send over-long lines, invalid UTF-8 and control characters, flood (also with 4 KiB
/// lines from many connections of one address, and with WHO and ROOMS) and churn rooms,
/// while --well-behaved clients chat with PING barriers, --resumers clients leave and come
/// back, and --logins accounts are logged in to with right and wrong passwords. Checks every
/// answer the protocol promises, that every numbered line reached
/// every well-behaved client once and in order (the resuming ones through HISTORY AFTER
/// for what they missed while away), that the server is alive at the end, and that its threads, descriptors and memory came
/// back. Prints a report; exit status 0 PASS, 1 FAIL, 2 cannot run.
#[derive(Debug, Parser)]
#[command(name = "chatd-soak", version)]
struct Cli {
    /// How long the chaos lasts, in two equal halves: 20s, 2m, 1m30s, 500ms.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    duration: Duration,
    /// Chaos connections open at once: each slot opens one connection after another, each
    /// with a fault chosen at random.
    #[arg(long, default_value_t = SoakSpec::default().churn_clients)]
    churn_clients: usize,
    /// Clients that chat politely all along and check every line they get.
    #[arg(long, default_value_t = SoakSpec::default().well_behaved)]
    well_behaved: usize,
    /// Well-behaved clients (besides --well-behaved) that only listen with CAP ids, and
    /// every --resume-every leave, stay away --resume-away, come back under the same nick
    /// and catch up with HISTORY * AFTER: every chat line they missed must come once, in
    /// order, and join the live lines with no gap. 0 turns the check off.
    #[arg(long, default_value_t = SoakSpec::default().resumers)]
    resumers: usize,
    /// How long a resuming client stays between two absences.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    resume_every: Duration,
    /// How long a resuming client stays away. Keep it short enough that the lobby says
    /// fewer than the 1000 lines history keeps meanwhile: older lines are reported as beyond
    /// history, not checked.
    #[arg(long, default_value = "300ms", value_parser = parse_duration)]
    resume_away: Duration,
    /// Accounts registered at the start. Each has a client that logs in with the right
    /// password over and over (a numbered ALL every well-behaved client must get, a PING
    /// barrier, QUIT), which must never be refused, and one that sends wrong passwords for it
    /// and for unknown nicks from an address of its own, which must only ever get BAD_LOGIN
    /// or TOO_MANY_ATTEMPTS. No line may echo a password, and STATS logins_failed must grow
    /// by at least the BAD_LOGIN answers. The accounts are deleted at the end. 0 turns this
    /// off.
    #[arg(long, default_value_t = SoakSpec::default().logins)]
    logins: usize,
    /// Seed of every random choice (faults, sizes, garbage bytes); a failed run repeats its
    /// choices with the same seed [default: from the clock, printed in the report].
    #[arg(long)]
    seed: Option<u64>,
    /// Each well-behaved client sends one numbered ALL per interval.
    #[arg(long, default_value = "50ms", value_parser = parse_duration)]
    chat_interval: Duration,
    /// A well-behaved client sends PING and waits for PONG after this many lines.
    #[arg(long, default_value_t = SoakSpec::default().barrier_every)]
    barrier_every: u32,
    /// Numbered ALL lines one flood sends at most, as fast as the server takes them.
    #[arg(long, default_value_t = SoakSpec::default().flood_lines)]
    flood_lines: u32,
    /// Floods running at once, at most.
    #[arg(long, default_value_t = SoakSpec::default().max_flooders)]
    max_flooders: usize,
    /// Connections of an address flood, all from one address (one address flood runs at a
    /// time).
    #[arg(long, default_value_t = SoakSpec::default().address_flooders)]
    address_flooders: usize,
    /// The longest a chatting chaos client stays before it leaves.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    linger: Duration,
    /// Faults to choose from, comma-separated [default: all]: quit, close, reset,
    /// half-line-close, half-line-reset, no-register, slow-reader, long-line, bad-utf8,
    /// flood, rooms, idle-timeout, zero-window, bad-text, address-flood, who-flood.
    #[arg(long, value_delimiter = ',', value_parser = Fault::parse)]
    faults: Vec<Fault>,
    /// How long the end of each half may take: every chaos client announced as gone, the
    /// server's threads and descriptors back to the baseline.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    settle_timeout: Duration,

    /// Run against the server at HOST:PORT instead of starting one.
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["chatd", "in_process"])]
    addr: Option<String>,
    /// PID of the --addr server on this machine: its RSS, threads and descriptors are read
    /// from /proc and checked. Without it they are not measured.
    #[arg(long, requires = "addr")]
    server_pid: Option<u32>,
    /// The chatd binary to start [default: the chatd next to this executable].
    #[arg(long, value_name = "PATH", conflicts_with = "in_process")]
    chatd: Option<PathBuf>,
    /// Run the server inside this process (its resources are then not measured).
    #[arg(long)]
    in_process: bool,

    /// Flags for the server, after `--`.
    #[arg(last = true, value_name = "SERVER FLAGS")]
    server_args: Vec<String>,
}

/// The flags, with the server defaults (from the one list in `soak::settings`) in the help.
fn command() -> clap::Command {
    let defaults: Vec<String> = SERVER_DEFAULTS
        .iter()
        .map(|(flag, value)| format!("{flag} {value}"))
        .collect();
    Cli::command().after_help(format!(
        "Server flags go after --, e.g. `chatd-soak --duration 20s -- --workers 2`. The soak \
         starts the server with these unless the same flag is given there: {}. With --addr, \
         give the flags that server was started with instead: the soak needs its --max-line \
         and timeouts.",
        defaults.join(" ")
    ))
}

fn main() -> ExitCode {
    let cli = match Cli::from_arg_matches(&command().get_matches()) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    let spec = match cli.spec() {
        Ok(spec) => spec,
        Err(error) => {
            eprintln!("chatd-soak: {error:#}");
            return ExitCode::from(2);
        }
    };
    let command = repeat_command(std::env::args().collect(), spec.seed);
    eprintln!(
        "chatd-soak: {} of chaos, {} chaos slots, {} well-behaved clients, seed {}",
        format_duration(spec.duration),
        spec.churn_clients,
        spec.well_behaved,
        spec.seed
    );
    match soak::run(&spec, command, &mut |line| eprintln!("chatd-soak: {line}")) {
        Ok(outcome) => {
            print!("{}", report::render(&outcome));
            if outcome.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("chatd-soak: {error}");
            ExitCode::from(2)
        }
    }
}

impl Cli {
    fn spec(self) -> anyhow::Result<SoakSpec> {
        let target = if let Some(addr) = &self.addr {
            let addr = addr
                .to_socket_addrs()
                .with_context(|| format!("--addr {addr}"))?
                .next()
                .with_context(|| format!("--addr {addr}: no address found"))?;
            SoakTarget::External {
                addr,
                pid: self.server_pid,
            }
        } else if self.in_process {
            SoakTarget::InProcess
        } else {
            match self.chatd {
                Some(path) => SoakTarget::Spawn(path),
                None => {
                    SoakTarget::Spawn(target::chatd_next_to_current_exe().map_err(|e| {
                        anyhow::anyhow!("{e}; or give --chatd PATH, or --in-process")
                    })?)
                }
            }
        };
        let spec = SoakSpec {
            target,
            server_args: self.server_args,
            duration: self.duration,
            churn_clients: self.churn_clients,
            well_behaved: self.well_behaved,
            resumers: self.resumers,
            resume_every: self.resume_every,
            resume_away: self.resume_away,
            logins: self.logins,
            seed: self.seed.unwrap_or_else(clock_seed),
            chat_interval: self.chat_interval,
            barrier_every: self.barrier_every,
            flood_lines: self.flood_lines,
            max_flooders: self.max_flooders,
            address_flooders: self.address_flooders,
            linger: self.linger,
            faults: if self.faults.is_empty() {
                Fault::ALL.to_vec()
            } else {
                self.faults
            },
            settle_timeout: self.settle_timeout,
        };
        spec.validate().map_err(anyhow::Error::msg)?;
        Ok(spec)
    }
}

fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs() ^ u64::from(d.subsec_nanos()))
}

/// This command line with `--seed` made explicit (before any `--`), so it repeats the run's
/// choices.
fn repeat_command(mut args: Vec<String>, seed: u64) -> String {
    if let Some(first) = args.first_mut() {
        if let Some(name) = PathBuf::from(&*first).file_name() {
            *first = name.to_string_lossy().into_owned();
        }
    }
    let has_seed = args
        .iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "--seed" || a.starts_with("--seed="));
    if !has_seed {
        let at = args.iter().position(|a| a == "--").unwrap_or(args.len());
        args.splice(at..at, ["--seed".to_owned(), seed.to_string()]);
    }
    args.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(args: &[&str]) -> SoakSpec {
        let cli = Cli::try_parse_from(["chatd-soak", "--in-process"].iter().chain(args)).unwrap();
        cli.spec().unwrap()
    }

    #[test]
    fn the_flags_are_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn flag_defaults_are_the_spec_defaults() {
        let parsed = spec(&["--seed", "1"]);
        let want = SoakSpec {
            target: SoakTarget::InProcess,
            ..SoakSpec::default()
        };
        assert_eq!(parsed, want);
    }

    #[test]
    fn every_knob_has_a_flag() {
        let parsed = spec(&[
            "--duration",
            "1m30s",
            "--churn-clients",
            "50",
            "--well-behaved",
            "3",
            "--resumers",
            "4",
            "--resume-every",
            "5s",
            "--resume-away",
            "150ms",
            "--logins",
            "2",
            "--seed",
            "42",
            "--chat-interval",
            "20ms",
            "--barrier-every",
            "5",
            "--flood-lines",
            "100",
            "--max-flooders",
            "2",
            "--address-flooders",
            "5",
            "--linger",
            "200ms",
            "--faults",
            "reset,flood",
            "--settle-timeout",
            "5s",
            "--",
            "--workers",
            "2",
        ]);
        assert_eq!(parsed.duration, Duration::from_secs(90));
        assert_eq!(parsed.churn_clients, 50);
        assert_eq!(parsed.well_behaved, 3);
        assert_eq!(parsed.resumers, 4);
        assert_eq!(parsed.resume_every, Duration::from_secs(5));
        assert_eq!(parsed.resume_away, Duration::from_millis(150));
        assert_eq!(parsed.logins, 2);
        assert_eq!(parsed.seed, 42);
        assert_eq!(parsed.chat_interval, Duration::from_millis(20));
        assert_eq!(parsed.barrier_every, 5);
        assert_eq!(parsed.flood_lines, 100);
        assert_eq!(parsed.max_flooders, 2);
        assert_eq!(parsed.address_flooders, 5);
        assert_eq!(parsed.linger, Duration::from_millis(200));
        assert_eq!(parsed.faults, [Fault::Reset, Fault::Flood]);
        assert_eq!(parsed.settle_timeout, Duration::from_secs(5));
        assert_eq!(parsed.server_args, ["--workers", "2"]);
    }

    #[test]
    fn bad_flags_are_refused() {
        let parse = |args: &[&str]| Cli::try_parse_from(["chatd-soak"].iter().chain(args));
        assert!(parse(&["--duration", "soon"]).is_err());
        assert!(parse(&["--faults", "reset,explode"]).is_err());
        assert!(parse(&["--server-pid", "12"]).is_err());
        assert!(parse(&["--addr", "127.0.0.1:1", "--in-process"]).is_err());
        let cli = parse(&["--in-process", "--", "--no-such-flag"]).unwrap();
        assert!(
            cli.spec()
                .unwrap_err()
                .to_string()
                .contains("--no-such-flag")
        );
    }

    #[test]
    fn the_repeat_command_names_the_seed() {
        let args = |list: &[&str]| list.iter().map(|a| (*a).to_owned()).collect();
        assert_eq!(
            repeat_command(
                args(&["/x/target/release/chatd-soak", "--duration", "2m"]),
                7
            ),
            "chatd-soak --duration 2m --seed 7"
        );
        assert_eq!(
            repeat_command(args(&["chatd-soak", "--", "--workers", "2"]), 7),
            "chatd-soak --seed 7 -- --workers 2"
        );
        assert_eq!(
            repeat_command(args(&["chatd-soak", "--seed=3"]), 3),
            "chatd-soak --seed=3"
        );
    }
}
