//! `chatd-bench`: runs one load workload against a chatd server (an in-process one by
//! default, a child `chatd` with `--spawn`, N of them joined through NATS against one with
//! `--nodes N`, or any deployment with `--addr`), its clients
//! over TCP, chatd's WebSocket, both, or TLS (`--transport tcp,ws,mix,tls`: one row each;
//! `--tls` for TLS against plain, alternated run by run), or against a
//! Redis or NATS server for comparison (`--target redis://...`, `nats://...`), checks every
//! line, and prints a table; a CSV and an SVG chart go to the cargo target directory's
//! `bench/` (or `--out`).
//!
//! Exit status: 0 if every check passed, 1 if a run failed (lost, duplicated, reordered or
//! corrupt lines, order violations, timeouts), 2 for bad flags.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark tool prints its report on stdout and its progress and failures on stderr"
)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use chatd::config;
use chatd_bench::loadgen::nodes::{self, NodesSpec};
use chatd_bench::loadgen::setup::{self, FrontEnd, Setup};
use chatd_bench::loadgen::suite;
use chatd_bench::loadgen::target::{self, ServerSettings, TargetSpec, TlsTarget};
use chatd_bench::loadgen::transport::Transports;
use chatd_bench::loadgen::{
    CountingAlloc, Direct, FanOut, GeneratorSettings, Idle, Paced, Rooms, RunSpec,
    STALLED_SEND_QUEUE, Stalled, Workload,
};
use chatd_bench::memory::{self, MemorySpec};

/// Counts the server's allocations (in-process server only) for the allocs/line column.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::new();

/// Load generator for chatd: runs one workload, checks every line it receives (lost,
/// duplicated, out-of-order lines, one global ALL order, one order per room) and reports
/// throughput, latency and what the server and the generator used. Its clients connect
/// over TCP, chatd's WebSocket or TLS (--transport, --tls). With --target it runs the same workloads
/// against Redis pub/sub or NATS, for comparison. With --nodes it compares N chatd processes
/// joined through NATS with one process.
#[derive(Debug, Parser)]
#[command(name = "chatd-bench", version)]
struct Cli {
    #[command(subcommand)]
    workload: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// C clients registered; S of them send M ALLs each as fast as the server delivers them.
    Fanout {
        /// Registered clients.
        #[arg(long, default_value_t = FanOut::default().clients)]
        clients: u32,
        /// Clients that send (the first S); every client receives.
        #[arg(long, default_value_t = FanOut::default().senders)]
        senders: u32,
        /// ALL lines each sender sends.
        #[arg(long, default_value_t = FanOut::default().messages)]
        messages: u32,
        #[command(flatten)]
        common: Common,
    },
    /// A fixed aggregate delivery rate, open loop; latency percentiles after a warm-up.
    Paced {
        #[command(flatten)]
        paced: PacedArgs,
        #[command(flatten)]
        common: Common,
    },
    /// Pairs of clients streaming MSGs to each other, both directions at once.
    Direct {
        /// Pairs of clients.
        #[arg(long, default_value_t = Direct::default().pairs)]
        pairs: u32,
        /// MSG lines each client sends to its partner.
        #[arg(long, default_value_t = Direct::default().messages)]
        messages: u32,
        #[command(flatten)]
        common: Common,
    },
    /// R rooms of N members each (R x N clients, each in one room); the first S members of
    /// each room send M MSG #room lines each as fast as the server delivers them.
    Rooms {
        /// Rooms.
        #[arg(long, default_value_t = Rooms::default().rooms)]
        rooms: u32,
        /// Clients in each room.
        #[arg(long, default_value_t = Rooms::default().members)]
        members: u32,
        /// Members of each room that send (the first S); every other member receives.
        #[arg(long, default_value_t = Rooms::default().senders)]
        senders: u32,
        /// MSG #room lines each sender sends.
        #[arg(long, default_value_t = Rooms::default().messages)]
        messages: u32,
        #[command(flatten)]
        common: Common,
    },
    /// K registered clients that just sit: connect time, server RSS per connection, threads.
    /// Starts a child chatd unless --addr or --target is given (K clients plus an
    /// in-process server would need twice the open files).
    Idle {
        /// Idle clients to connect and register.
        #[arg(long, default_value_t = Idle::default().clients)]
        clients: u32,
        #[command(flatten)]
        common: Common,
    },
    /// The paced workload plus clients that never read: they must be dropped as slow
    /// consumers. Also runs the plain paced workload with the same settings to compare p99.
    /// The server's --send-queue defaults to 64K here, so the drops happen within seconds.
    /// chatd only: refused with a Redis or NATS --target.
    Stalled {
        #[command(flatten)]
        paced: PacedArgs,
        /// Clients that register and never read.
        #[arg(long, default_value_t = Stalled::default().stalled)]
        stalled: u32,
        /// SO_RCVBUF of the stalled clients in bytes, set after connecting; 0 keeps the
        /// kernel's. Shrinking it below the window already advertised makes the kernel drop
        /// the server's segments with their acknowledgements, stalling the client's writes.
        #[arg(long, default_value_t = Stalled::default().recv_buffer)]
        stalled_rcvbuf: usize,
        /// Bytes per second of long PINGs each stalled client sends, never reading the
        /// PONGs, from the end of the warm-up until it is dropped: on loopback the server's
        /// socket buffers several MiB, which the broadcast alone would take minutes to fill.
        #[arg(long, default_value = "8M", value_parser = parse_rate)]
        stall_rate: u64,
        #[command(flatten)]
        common: Common,
    },
    /// The most memory one connection and one address can make a child chatd hold with its
    /// default limits: idle clients, clients that never read (full send queues), and
    /// --max-per-ip such clients from one address (127.0.0.2, with the per-address limits
    /// given as flags so that they hold on loopback). Medians of --runs runs; server flags
    /// after --.
    Memory {
        /// Idle registered clients.
        #[arg(long, default_value_t = MemorySpec::new(PathBuf::new()).idle)]
        idle: u32,
        /// Clients that never read, each filling its send queue.
        #[arg(long, default_value_t = MemorySpec::new(PathBuf::new()).stalled)]
        stalled: u32,
        /// Stalled clients from one address, and its --max-per-ip.
        #[arg(long, default_value_t = MemorySpec::new(PathBuf::new()).per_address)]
        per_address: u32,
        /// Runs of every case.
        #[arg(long, default_value_t = MemorySpec::new(PathBuf::new()).runs)]
        runs: usize,
        /// The chatd binary [default: the chatd next to this executable].
        #[arg(long, value_name = "PATH")]
        spawn: Option<PathBuf>,
        /// Flags for every server started (after --).
        #[arg(last = true, value_name = "CHATD FLAGS")]
        server_args: Vec<String>,
    },
}

/// The knobs of the paced workload.
#[derive(Debug, Args)]
struct PacedArgs {
    /// Registered clients.
    #[arg(long, default_value_t = Paced::default().clients)]
    clients: u32,
    /// Clients that send ALL lines (the first S).
    #[arg(long, default_value_t = Paced::default().senders)]
    senders: u32,
    /// Aggregate deliveries per second over all recipients (ALL lines/s = rate / (clients - 1)).
    #[arg(long, default_value_t = Paced::default().rate)]
    rate: f64,
    /// Seconds measured, after the warm-up.
    #[arg(long, default_value_t = Paced::default().duration.as_secs_f64())]
    duration: f64,
    /// Seconds sent and checked before the measurement, left out of the latency figures.
    #[arg(long, default_value_t = Paced::default().warmup.as_secs_f64())]
    warmup: f64,
}

/// Flags every workload takes: the server, the generator, the output.
#[derive(Debug, Args)]
struct Common {
    /// Payload bytes of each ALL or MSG (at least 26).
    #[arg(long, default_value_t = FanOut::default().size)]
    size: usize,

    /// Run against the chatd at HOST:PORT instead of starting one. A second's probe first
    /// checks it for flood control, and warns if it would throttle the run (start it with
    /// --rate 0).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "spawn")]
    addr: Option<String>,
    /// Run against a server that is already running, named by URL: chatd://HOST:PORT (the
    /// same as --addr), redis://HOST:PORT (Redis 6 or later: pub/sub over RESP3) or
    /// nats://HOST:PORT (NATS). Without a port, the server's usual one. The same workloads
    /// and checks; lobby lines go to one channel every client subscribes to, direct
    /// messages to the partner's own channel, room lines to the room's channel. Stalled is
    /// chatd only.
    #[arg(long, value_name = "URL", conflicts_with_all = ["spawn", "addr"])]
    target: Option<String>,
    /// PID of the --addr or --target server, on this machine: its CPU, RSS, threads and
    /// open files are read from /proc. Without it those columns show "-".
    #[arg(long)]
    server_pid: Option<u32>,
    /// How the clients reach the server: tcp (its line protocol's port), ws (chatd's
    /// WebSocket, /ws on its web listener, one text frame per line), mix (even clients
    /// over TCP, odd ones over WebSocket) or tls (the line protocol inside TLS, at its
    /// --tls-addr). Several, comma-separated (tcp,ws), run the workload once for each, as
    /// rows of one report, their repeats (--runs) taking turns. ws, mix and tls run against
    /// chatd only.
    #[arg(
        long,
        value_name = "tcp|ws|mix|tls",
        value_delimiter = ',',
        default_value = "tcp",
        value_parser = Transports::parse
    )]
    transport: Vec<Transports>,
    /// TLS against plain from one run: the same as --transport tcp,tls. Each round runs the
    /// plain run, then the TLS one, and the report gives TLS/plain for deliveries/s, server
    /// CPU per delivery, memory per idle client and connect time. A server this tool starts
    /// gets a certificate made at start, which its clients trust.
    #[arg(long, conflicts_with = "transport")]
    tls: bool,
    /// With --addr: that server's TLS listener (its --tls-addr), which --transport tls
    /// connects to; the certificate must name HOST.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "spawn")]
    tls_addr: Option<String>,
    /// With --tls-addr: a PEM file of the certificates to trust (the authority that signed
    /// the server's) [default: the system's roots].
    #[arg(long, value_name = "FILE", requires = "tls_addr")]
    ca: Option<PathBuf>,
    /// With --addr: that server's web listener (where its --http listens), which --transport
    /// ws and mix connect to. A server this tool starts has its own.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "spawn")]
    web: Option<String>,
    /// Start the chatd binary at PATH as a child process [default PATH: the chatd next to
    /// this executable] instead of a server inside this process. With --nodes, the binary
    /// of the nodes and of the one process.
    #[arg(
        long,
        value_name = "PATH",
        num_args = 0..=1,
        default_missing_value = "",
        value_parser = any_path
    )]
    spawn: Option<PathBuf>,
    /// Worker threads of the server this tool starts [default: number of cores]. With
    /// --nodes, shared out among the nodes (W/N each, at least 1).
    #[arg(long, conflicts_with_all = ["addr", "target"])]
    workers: Option<usize>,
    /// Threads against processes (issue 19): N chatd processes (N >= 2) joined through a NATS
    /// server with JetStream that this tool starts on a free loopback port, the clients spread
    /// round-robin over them, against one chatd process with the same total --workers. The
    /// two take turns round by round, and the report gives nodes/one process for
    /// deliveries/s, CPU per delivery (every process, nats-server included) and latency.
    /// Runs the chatd of --spawn [default: the chatd next to this executable]. fanout,
    /// paced, rooms and direct only, over TCP.
    #[arg(
        long,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(2..),
        conflicts_with_all = ["addr", "target", "tls"]
    )]
    nodes: Option<u32>,
    /// With --nodes: the nats-server binary [default: nats-server on the PATH, else in
    /// /usr/sbin or /usr/local/sbin].
    #[arg(long, value_name = "PATH", requires = "nodes")]
    nats_server: Option<PathBuf>,
    /// --send-queue of the server this tool starts, in bytes (suffix K or M) [default: 1M,
    /// 64K for stalled].
    #[arg(long, value_parser = config::parse_bytes, conflicts_with_all = ["addr", "target"])]
    send_queue: Option<usize>,
    /// --max-clients of the server this tool starts [default: 10000, or the run's clients
    /// plus 100 if more].
    #[arg(long, conflicts_with_all = ["addr", "target"])]
    max_clients: Option<usize>,
    /// Start the server with history off (--history-lines 0). By default it keeps history
    /// as chatd does by default, in a data folder made for the run and removed after: the
    /// two show what history costs.
    #[arg(long, conflicts_with_all = ["addr", "target"])]
    no_history: bool,

    /// Generator reader threads (each watches its share of the sockets with epoll).
    #[arg(long, default_value_t = GeneratorSettings::default().readers)]
    readers: usize,
    /// Generator sender threads (each writes for its share of the sending clients).
    #[arg(long, default_value_t = GeneratorSettings::default().sender_threads)]
    sender_threads: usize,
    /// Fan-out, direct and rooms: lines a sender may have in flight towards one receiver
    /// [default: a quarter of the server's send queue in lines; direct: at most 256].
    /// Closed-loop latency is about what is in flight divided by the throughput.
    #[arg(long)]
    window: Option<u64>,
    /// Seconds any one phase of a run may take before the run fails [default: from the
    /// run's size].
    #[arg(long)]
    timeout: Option<f64>,

    /// Repeat the run N times and report the median.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Directory for the CSV and SVG files (default: the cargo target directory's `bench`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Write no CSV or SVG file.
    #[arg(long)]
    no_files: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Memory { .. } = cli.workload {
        return memory_main(cli.workload);
    }
    let (specs, common) = match cli.workload.into_specs() {
        Ok(found) => found,
        Err(error) => {
            eprintln!("chatd-bench: {error:#}");
            return ExitCode::from(2);
        }
    };
    let setup = Setup::collect(FrontEnd::ChatdBench);
    let results = suite::run_all(&specs, common.runs, |line| eprintln!("{line}"));
    let dir = common.out.clone().unwrap_or_else(setup::output_dir);
    let finished = suite::finish(
        &setup,
        &results,
        (!common.no_files).then_some(dir.as_path()),
    );
    print!("{}", finished.table);
    for file in &finished.files {
        eprintln!("wrote {}", file.display());
    }
    for error in &finished.file_errors {
        eprintln!("chatd-bench: {error}");
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

/// `chatd-bench memory`: its own runs and table.
fn memory_main(command: Command) -> ExitCode {
    let Command::Memory {
        idle,
        stalled,
        per_address,
        runs,
        spawn,
        server_args,
    } = command
    else {
        unreachable!("called for the memory command only");
    };
    let binary = match spawn {
        Some(path) => path,
        None => match chatd_next_to_this_executable() {
            Ok(path) => path,
            Err(error) => {
                eprintln!("chatd-bench: {error:#}");
                return ExitCode::from(2);
            }
        },
    };
    let spec = MemorySpec {
        server_args,
        idle,
        stalled,
        per_address,
        runs,
        ..MemorySpec::new(binary)
    };
    match memory::run(&spec, |line| eprintln!("{line}")) {
        Ok(figures) => {
            print!("{}", memory::render(&spec, &figures));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("FAILED: {error}");
            ExitCode::FAILURE
        }
    }
}

impl Command {
    /// One run of the workload for each `--transport`.
    fn into_specs(self) -> anyhow::Result<(Vec<RunSpec>, Common)> {
        let (workload, common) = match self {
            Command::Fanout {
                clients,
                senders,
                messages,
                common,
            } => {
                let size = common.size;
                let workload = FanOut {
                    clients,
                    senders,
                    messages,
                    size,
                };
                (Workload::FanOut(workload), common)
            }
            Command::Paced { paced, common } => {
                (Workload::Paced(paced.into_paced(common.size)?), common)
            }
            Command::Direct {
                pairs,
                messages,
                common,
            } => {
                let size = common.size;
                let workload = Direct {
                    pairs,
                    messages,
                    size,
                };
                (Workload::Direct(workload), common)
            }
            Command::Rooms {
                rooms,
                members,
                senders,
                messages,
                common,
            } => {
                let size = common.size;
                let workload = Rooms {
                    rooms,
                    members,
                    senders,
                    messages,
                    size,
                };
                (Workload::Rooms(workload), common)
            }
            Command::Idle { clients, common } => (Workload::Idle(Idle { clients }), common),
            Command::Stalled {
                paced,
                stalled,
                stalled_rcvbuf,
                stall_rate,
                common,
            } => {
                let workload = Stalled {
                    paced: paced.into_paced(common.size)?,
                    stalled,
                    recv_buffer: stalled_rcvbuf,
                    stall_rate,
                };
                (Workload::Stalled(workload), common)
            }
            Command::Memory { .. } => anyhow::bail!("memory is not a load workload"),
        };
        let spec = RunSpec {
            label: workload.label(),
            target: common.target(&workload)?,
            server: common.server(&workload),
            generator: common.generator()?,
            // Measured before the runs, by the suite's pre-flight probe.
            flood_control: None,
            workload,
        };
        let asked = if common.tls {
            vec![Transports::Tcp, Transports::Tls]
        } else {
            common.transport.clone()
        };
        let nodes = common.nodes_spec(&spec.target)?;
        let any_tls = asked.iter().any(|t| t.uses_tls());
        let mut specs: Vec<RunSpec> = Vec::new();
        for &transports in &asked {
            if specs.iter().all(|s| s.generator.transports != transports) {
                let mut spec = spec.clone();
                spec.generator.transports = transports;
                // The plain rows compared with TLS ones run against a server set up alike;
                // the web listener stays plain HTTP for WebSocket clients.
                spec.server.tls = any_tls && !transports.uses_websocket();
                spec.validate().map_err(anyhow::Error::msg)?;
                if let Some(nodes) = &nodes {
                    let mut cluster = spec.clone();
                    cluster.target = TargetSpec::Nodes(nodes.clone());
                    cluster.validate().map_err(anyhow::Error::msg)?;
                    specs.push(spec);
                    specs.push(cluster);
                } else {
                    specs.push(spec);
                }
            }
        }
        Ok((specs, common))
    }
}

impl PacedArgs {
    fn into_paced(self, size: usize) -> anyhow::Result<Paced> {
        Ok(Paced {
            clients: self.clients,
            senders: self.senders,
            rate: self.rate,
            duration: seconds(self.duration, "--duration")?,
            warmup: seconds(self.warmup, "--warmup")?,
            size,
        })
    }
}

impl Common {
    fn target(&self, workload: &Workload) -> anyhow::Result<TargetSpec> {
        let web = self.web.as_deref().map(|web| address(web, "--web"));
        let web = web.transpose()?;
        let tls = self.tls_addr.as_deref().map(tls_target).transpose()?;
        let tls = tls.map(|tls| TlsTarget {
            ca: self.ca.clone(),
            ..tls
        });
        if let Some(url) = &self.target {
            let mut spec =
                TargetSpec::from_url(url, self.server_pid).map_err(anyhow::Error::msg)?;
            match &mut spec {
                TargetSpec::External {
                    web: web_slot,
                    tls: tls_slot,
                    ..
                } => {
                    *web_slot = web;
                    *tls_slot = tls;
                }
                _ if web.is_some() => {
                    anyhow::bail!("--web names a chatd's web listener: not {url}")
                }
                _ if tls.is_some() => {
                    anyhow::bail!("--tls-addr names a chatd's TLS listener: not {url}")
                }
                _ => {}
            }
            return Ok(spec);
        }
        if self.server_pid.is_some() && self.addr.is_none() {
            anyhow::bail!("--server-pid needs --addr or --target: it names their server");
        }
        if let Some(addr) = &self.addr {
            return Ok(TargetSpec::External {
                addr: address(addr, "--addr")?,
                pid: self.server_pid,
                web,
                tls,
            });
        }
        if tls.is_some() {
            anyhow::bail!(
                "--tls-addr needs --addr: it names that server's TLS listener (a server this \
                 tool starts has its own)"
            );
        }
        if web.is_some() {
            anyhow::bail!(
                "--web needs --addr: it names that server's web listener (a server this tool \
                 starts has its own)"
            );
        }
        let binary = match &self.spawn {
            Some(path) if !path.as_os_str().is_empty() => path.clone(),
            Some(_) => chatd_next_to_this_executable()?,
            None if matches!(workload, Workload::Idle(_)) => chatd_next_to_this_executable()?,
            // The nodes and the one process they are compared with run the same binary.
            None if self.nodes.is_some() => chatd_next_to_this_executable()?,
            None => return Ok(TargetSpec::InProcess),
        };
        Ok(TargetSpec::Spawn(binary))
    }

    /// With `--nodes`: the cluster compared with `one_process` (the spawned chatd of
    /// [`Common::target`]), its nats-server found now, so that a missing one is a flag error.
    fn nodes_spec(&self, one_process: &TargetSpec) -> anyhow::Result<Option<NodesSpec>> {
        let Some(nodes) = self.nodes else {
            return Ok(None);
        };
        let TargetSpec::Spawn(chatd) = one_process else {
            anyhow::bail!("--nodes starts its own servers: not with --addr or --target");
        };
        let nats_server = nodes::find_nats_server(self.nats_server.as_deref())?;
        Ok(Some(NodesSpec {
            chatd: chatd.clone(),
            nodes: nodes as usize,
            nats_server,
        }))
    }

    fn server(&self, workload: &Workload) -> ServerSettings {
        let default_queue = match workload {
            Workload::Stalled(_) => STALLED_SEND_QUEUE,
            _ => config::DEFAULT_SEND_QUEUE,
        };
        let clients = workload.connections() as usize;
        ServerSettings {
            workers: self.workers.unwrap_or_else(config::default_workers),
            send_queue: self.send_queue.unwrap_or(default_queue),
            max_clients: self
                .max_clients
                .unwrap_or(config::DEFAULT_MAX_CLIENTS.max(clients + 100)),
            history: !self.no_history,
            // Set for each run (`into_specs`).
            tls: false,
        }
    }

    fn generator(&self) -> anyhow::Result<GeneratorSettings> {
        Ok(GeneratorSettings {
            readers: self.readers,
            sender_threads: self.sender_threads,
            window: self.window,
            timeout: self.timeout.map(|t| seconds(t, "--timeout")).transpose()?,
            // Each run gets one of `--transport`'s (`into_specs`).
            transports: Transports::Tcp,
        })
    }
}

/// The first address `text` (`HOST:PORT`, the value of `flag`) resolves to.
fn address(text: &str, flag: &str) -> anyhow::Result<SocketAddr> {
    text.to_socket_addrs()
        .with_context(|| format!("{flag} {text}"))?
        .next()
        .with_context(|| format!("{flag} {text}: no address found"))
}

/// `--tls-addr HOST:PORT`: its first address, and the host its certificate must name (no
/// `--ca` yet).
fn tls_target(text: &str) -> anyhow::Result<TlsTarget> {
    let (host, _) = text
        .rsplit_once(':')
        .with_context(|| format!("--tls-addr {text}: give HOST:PORT"))?;
    Ok(TlsTarget {
        addr: address(text, "--tls-addr")?,
        host: host.to_owned(),
        ca: None,
    })
}

fn chatd_next_to_this_executable() -> anyhow::Result<PathBuf> {
    target::chatd_next_to_current_exe().map_err(|e| anyhow::anyhow!("{e}; or give --spawn PATH"))
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("{flag} must be 0 or more seconds"))
}

/// A path as given, the empty one included: clap's own path parser refuses an empty value,
/// which is what `--spawn` without a path stands for.
fn any_path(text: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(text))
}

/// A byte rate such as `8M` (per second).
fn parse_rate(text: &str) -> Result<u64, String> {
    config::parse_bytes(text).map(|bytes| bytes as u64)
}

// Beside this file rather than in src/bin, where Cargo would take it for a binary of its own.
#[cfg(test)]
#[path = "chatd-bench/tests.rs"]
mod tests;
