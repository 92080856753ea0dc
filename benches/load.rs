//! `cargo bench --bench load`: the standard comparison. Every workload against servers with
//! 1, 2, 4 and 8 workers (in-process; the idle run uses a child `chatd`, whose open files
//! would not fit next to ten thousand client sockets in one process), one table on stdout,
//! a CSV and an SVG chart under `target/bench/`. Exits non-zero if any check failed.
//!
//! Runs: fan-out; paced at 100k and at 400k deliveries/s; direct; rooms; idle 10k; stalled
//! at 100k. The stalled rows run with `--send-queue 64K`, so the stalled clients are dropped
//! within seconds, and each is compared with a `paced 100k (baseline)` row run just before
//! it with the same server settings. The plain paced rows keep the default queue: a server
//! that falls behind at 400k/s then shows it as latency, where a 64 KiB queue would drop
//! every client and fail the run.
//!
//! Options after `--`: `--workers 1,2,4,8`, `--only fanout,paced,direct,rooms,idle,stalled`,
//! `--runs N` (median of N repeats), `--quick` (small sizes, a few seconds: the CI smoke
//! test), and the sizes (`--help` lists them all).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark prints its report on stdout and its progress and failures on stderr"
)]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use chatd_bench::loadgen::setup::{self, FrontEnd, Setup};
use chatd_bench::loadgen::suite;
use chatd_bench::loadgen::target::{ServerSettings, TargetSpec};
use chatd_bench::loadgen::{
    CountingAlloc, Direct, FanOut, GeneratorSettings, Idle, Paced, Rooms, RunSpec,
    STALLED_SEND_QUEUE, Stalled, Workload,
};

/// Counts the in-process server's allocations for the allocs/line column.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// The standard load comparison of chatd across worker counts.
#[derive(Debug, Parser)]
#[command(name = "load")]
struct Options {
    /// Worker counts to compare [default: 1,2,4,8; with --quick 1,2].
    #[arg(long, value_delimiter = ',')]
    workers: Option<Vec<usize>>,
    /// Run only these workloads [default: all].
    #[arg(long, value_delimiter = ',', value_enum)]
    only: Vec<Kind>,
    /// Repeat each run N times and report the median.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Small sizes that finish in a few seconds: a smoke test, not a measurement.
    #[arg(long)]
    quick: bool,

    /// Fan-out: registered clients [default: 50; quick: 10].
    #[arg(long)]
    clients: Option<u32>,
    /// Fan-out: clients that send [default: 5; quick: 2].
    #[arg(long)]
    senders: Option<u32>,
    /// Fan-out: ALL lines per sender [default: 20000; quick: 2000].
    #[arg(long)]
    messages: Option<u32>,
    /// Payload bytes of every ALL and MSG.
    #[arg(long, default_value_t = FanOut::default().size)]
    size: usize,
    /// Paced and stalled: registered clients [default: 200; quick: 20].
    #[arg(long)]
    paced_clients: Option<u32>,
    /// Paced and stalled: clients that send [default: 20; quick: 4].
    #[arg(long)]
    paced_senders: Option<u32>,
    /// Paced: aggregate delivery rates, one row each; stalled runs at the first
    /// [default: 100000,400000; quick: 20000,80000].
    #[arg(long, value_delimiter = ',')]
    rates: Option<Vec<f64>>,
    /// Paced and stalled: seconds measured after the warm-up [default: 3; quick: 0.5].
    #[arg(long)]
    duration: Option<f64>,
    /// Paced and stalled: warm-up seconds, not in the latency figures [default: 0.5;
    /// quick: 0.2].
    #[arg(long)]
    warmup: Option<f64>,
    /// Direct: pairs of clients [default: 50; quick: 5].
    #[arg(long)]
    pairs: Option<u32>,
    /// Direct: MSG lines each client sends [default: 10000; quick: 2000].
    #[arg(long)]
    dm_messages: Option<u32>,
    /// Rooms: rooms [default: 200; quick: 10].
    #[arg(long)]
    rooms: Option<u32>,
    /// Rooms: clients in each room [default: 10; quick: 5].
    #[arg(long)]
    room_members: Option<u32>,
    /// Rooms: members of each room that send [default: 2; quick: 2].
    #[arg(long)]
    room_senders: Option<u32>,
    /// Rooms: MSG #room lines each sender sends [default: 1000; quick: 1000].
    #[arg(long)]
    room_messages: Option<u32>,
    /// Idle: clients [default: 10000; quick: 300].
    #[arg(long)]
    idle_clients: Option<u32>,
    /// Stalled: clients that never read [default: 3; quick: 2].
    #[arg(long)]
    stalled: Option<u32>,

    /// Directory for the CSV and SVG files (default: the cargo target directory's `bench`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write no CSV or SVG file.
    #[arg(long)]
    no_files: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Fanout,
    Paced,
    Direct,
    Rooms,
    Idle,
    Stalled,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let specs = match plan(&options) {
        Ok(specs) => specs,
        Err(error) => {
            eprintln!("load: {error}");
            return ExitCode::from(2);
        }
    };
    let setup = Setup::collect(FrontEnd::CargoBench);
    let results = suite::run_all(&specs, options.runs, |line| eprintln!("{line}"));
    let dir = options.out.clone().unwrap_or_else(setup::output_dir);
    let finished = suite::finish(
        &setup,
        &results,
        (!options.no_files).then_some(dir.as_path()),
    );
    print!("{}", finished.table);
    for file in &finished.files {
        eprintln!("wrote {}", file.display());
    }
    for error in &finished.file_errors {
        eprintln!("load: {error}");
    }
    for failure in &finished.failures {
        eprintln!("FAILED: {failure}");
    }
    if finished.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// The standard comparison's sizes, full or quick, with the options' overrides.
struct Sizes {
    fan_out: FanOut,
    paced: Paced,
    rates: Vec<f64>,
    direct: Direct,
    rooms: Rooms,
    idle: Idle,
    stalled: u32,
    stall_rate: u64,
}

impl Sizes {
    fn from(options: &Options) -> Result<Sizes, String> {
        let quick = options.quick;
        let pick = |given: Option<u32>, full: u32, small: u32| {
            given.unwrap_or(if quick { small } else { full })
        };
        let seconds = |given: Option<f64>, full: f64, small: f64| {
            let value = given.unwrap_or(if quick { small } else { full });
            Duration::try_from_secs_f64(value).map_err(|_| format!("{value} is not a duration"))
        };
        let size = options.size;
        Ok(Sizes {
            fan_out: FanOut {
                clients: pick(options.clients, 50, 10),
                senders: pick(options.senders, 5, 2),
                messages: pick(options.messages, 20_000, 2_000),
                size,
            },
            paced: Paced {
                clients: pick(options.paced_clients, 200, 20),
                senders: pick(options.paced_senders, 20, 4),
                rate: 0.0,
                duration: seconds(options.duration, 3.0, 0.5)?,
                warmup: seconds(options.warmup, 0.5, 0.2)?,
                size,
            },
            rates: options.rates.clone().unwrap_or_else(|| {
                if quick {
                    vec![20_000.0, 80_000.0]
                } else {
                    vec![100_000.0, 400_000.0]
                }
            }),
            direct: Direct {
                pairs: pick(options.pairs, 50, 5),
                messages: pick(options.dm_messages, 10_000, 2_000),
                size,
            },
            rooms: Rooms {
                rooms: pick(options.rooms, 200, 10),
                members: pick(options.room_members, 10, 5),
                senders: pick(options.room_senders, 2, 2),
                messages: pick(options.room_messages, 1_000, 1_000),
                size,
            },
            idle: Idle {
                clients: pick(options.idle_clients, 10_000, 300),
            },
            stalled: pick(options.stalled, 3, 2),
            // A short run needs the stalled clients to fall behind sooner.
            stall_rate: if quick {
                32 << 20
            } else {
                Stalled::default().stall_rate
            },
        })
    }
}

/// Every run of the comparison, workload by workload, each over the worker counts.
fn plan(options: &Options) -> Result<Vec<RunSpec>, String> {
    let sizes = Sizes::from(options)?;
    let workers = options.workers.clone().unwrap_or_else(|| {
        if options.quick {
            vec![1, 2]
        } else {
            vec![1, 2, 4, 8]
        }
    });
    if workers.contains(&0) {
        return Err("--workers: each count must be at least 1".to_owned());
    }
    let wanted = |kind: Kind| options.only.is_empty() || options.only.contains(&kind);
    let paced_at = |rate: f64| Paced {
        rate,
        ..sizes.paced.clone()
    };
    let mut workloads: Vec<(Workload, Option<usize>)> = Vec::new();
    if wanted(Kind::Fanout) {
        workloads.push((Workload::FanOut(sizes.fan_out.clone()), None));
    }
    if wanted(Kind::Paced) {
        for &rate in &sizes.rates {
            workloads.push((Workload::Paced(paced_at(rate)), None));
        }
    }
    if wanted(Kind::Direct) {
        workloads.push((Workload::Direct(sizes.direct.clone()), None));
    }
    if wanted(Kind::Rooms) {
        workloads.push((Workload::Rooms(sizes.rooms.clone()), None));
    }
    if wanted(Kind::Idle) {
        workloads.push((Workload::Idle(sizes.idle.clone()), None));
    }
    if wanted(Kind::Stalled) {
        let first_rate = *sizes
            .rates
            .first()
            .ok_or("--rates needs at least one rate")?;
        let stalled = Stalled {
            paced: paced_at(first_rate),
            stalled: sizes.stalled,
            stall_rate: sizes.stall_rate,
            ..Stalled::default()
        };
        workloads.push((Workload::Stalled(stalled), Some(STALLED_SEND_QUEUE)));
    }
    let mut specs = Vec::new();
    for (workload, send_queue) in workloads {
        workload.validate()?;
        for &workers in &workers {
            specs.push(spec(&workload, workers, send_queue));
        }
    }
    Ok(specs)
}

fn spec(workload: &Workload, workers: usize, send_queue: Option<usize>) -> RunSpec {
    let target = match workload {
        Workload::Idle(_) => TargetSpec::Spawn(PathBuf::from(env!("CARGO_BIN_EXE_chatd"))),
        _ => TargetSpec::InProcess,
    };
    let defaults = ServerSettings::default();
    RunSpec {
        label: workload.label(),
        workload: workload.clone(),
        target,
        server: ServerSettings {
            workers,
            send_queue: send_queue.unwrap_or(defaults.send_queue),
            max_clients: defaults
                .max_clients
                .max(workload.connections() as usize + 100),
            ..defaults
        },
        generator: GeneratorSettings::default(),
        // The servers of this comparison are started with flood control off.
        flood_control: None,
    }
}
