//! What a run's CPU time went to: the load generator's own threads, and the server.
//!
//! Every generator thread is started through [`GeneratorCpu::spawn`]: it is named `bench-...`,
//! marked for the counting allocator, and adds its own CPU time to the shared total as it
//! exits. A [`Window`] is opened before the measured part of a run, by the thread that
//! coordinates it, and closed by that thread after the run's generator threads are joined; so
//! their whole lives fall inside the window, and the coordinator adds its own share itself.
//! Server CPU is then the server process's (`/proc/<pid>`) over the window, summed over
//! every process of a cluster (its nodes and its NATS server), or for an in-process server
//! the whole process's CPU (`getrusage`) minus the generator's.
//!
//! In scope: that accounting, and the other deltas over the window (server counters,
//! allocations, how busy the machine was). Out of scope: the raw readings (`sysstat`) and what
//! the figures mean for the run (`outcome`).

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::loadgen::alloc;
use crate::loadgen::sysstat::{self, MachineCpu, ProcSample};
use crate::loadgen::target::Target;
use chatd::server::Stats;

/// A thread shorter than this is not judged for saturation: its CPU over wall-clock ratio is
/// mostly noise.
const MIN_JUDGED_LIFE: Duration = Duration::from_millis(500);

/// The CPU time the generator's threads used, summed as they exit.
#[derive(Debug, Default)]
pub struct GeneratorCpu {
    total_ns: AtomicU64,
    /// The highest share of one core any single thread used over its life, in 1/1000.
    busiest_permille: AtomicU64,
}

impl GeneratorCpu {
    pub fn new() -> Arc<GeneratorCpu> {
        Arc::new(GeneratorCpu::default())
    }

    /// Starts a generator thread called `bench-<name>` that accounts for its CPU time.
    pub fn spawn<T, F>(self: &Arc<Self>, name: &str, work: F) -> io::Result<JoinHandle<T>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let meter = Arc::clone(self);
        thread::Builder::new()
            .name(format!("bench-{name}"))
            .spawn(move || {
                alloc::mark_generator_thread();
                let born = Instant::now();
                let result = work();
                meter.add(sysstat::thread_cpu(), born.elapsed());
                result
            })
    }

    fn add(&self, cpu: Duration, life: Duration) {
        let nanos = u64::try_from(cpu.as_nanos()).unwrap_or(u64::MAX);
        self.total_ns.fetch_add(nanos, Ordering::Relaxed);
        if life >= MIN_JUDGED_LIFE {
            let permille = (cpu.as_secs_f64() / life.as_secs_f64() * 1000.0) as u64;
            self.busiest_permille.fetch_max(permille, Ordering::Relaxed);
        }
    }

    pub fn total(&self) -> Duration {
        Duration::from_nanos(self.total_ns.load(Ordering::Relaxed))
    }

    /// The highest share of one core a single generator thread used (1.0 = a full core).
    pub fn busiest_thread(&self) -> f64 {
        self.busiest_permille.load(Ordering::Relaxed) as f64 / 1000.0
    }
}

/// Readings taken when the measured part of a run starts.
#[derive(Debug)]
pub struct Window {
    opened: Instant,
    process_cpu: Duration,
    /// The coordinating thread's own CPU clock: its share counts as the generator's.
    coordinator_cpu: Duration,
    machine: Option<MachineCpu>,
    /// The server's processes (a cluster has several), in [`Target::server_pids`]' order.
    server_processes: Option<Vec<ProcSample>>,
    stats: Option<Stats>,
    allocations: Option<u64>,
}

/// What happened over a window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub wall: Duration,
    pub generator_cpu: Duration,
    /// `None` for an external server without `--server-pid`.
    pub server_cpu: Option<Duration>,
    /// Fraction of all cores' time the machine was busy, from `/proc/stat`.
    pub machine_busy: Option<f64>,
    /// Share of one core used by the busiest generator thread.
    pub busiest_generator_thread: f64,
    /// In-process server only: `writev` calls and lines written over the window.
    pub write_calls: Option<u64>,
    pub lines_written: Option<u64>,
    /// In-process server only, with the counting allocator installed: allocations by
    /// threads that are not the generator's.
    pub server_allocations: Option<u64>,
}

impl Window {
    /// Takes the opening readings. Call it from the thread that will call [`Window::close`].
    pub fn open(target: &Target) -> Window {
        Window {
            stats: target.stats(),
            allocations: target.is_in_process().then(alloc::allocations).flatten(),
            server_processes: sample_all(&target.server_pids()),
            machine: MachineCpu::read().ok(),
            coordinator_cpu: sysstat::thread_cpu(),
            process_cpu: sysstat::process_cpu(),
            opened: Instant::now(),
        }
    }

    /// Takes the closing readings, once every generator thread of the run has been joined.
    pub fn close(self, target: &Target, generator: &GeneratorCpu) -> Usage {
        let wall = self.opened.elapsed();
        let process_cpu = sysstat::process_cpu().saturating_sub(self.process_cpu);
        let coordinator = sysstat::thread_cpu().saturating_sub(self.coordinator_cpu);
        generator.add(coordinator, Duration::ZERO);
        let generator_cpu = generator.total();
        let server_cpu = if target.is_in_process() {
            Some(process_cpu.saturating_sub(generator_cpu))
        } else {
            let now = sample_all(&target.server_pids());
            self.server_processes.zip(now).map(|(before, after)| {
                let cpu = |samples: &[ProcSample]| samples.iter().map(|s| s.cpu).sum::<Duration>();
                cpu(&after).saturating_sub(cpu(&before))
            })
        };
        let stats = self.stats.zip(target.stats());
        let allocations_now = target.is_in_process().then(alloc::allocations).flatten();
        Usage {
            wall,
            generator_cpu,
            server_cpu,
            machine_busy: self
                .machine
                .zip(MachineCpu::read().ok())
                .and_then(|(before, after)| after.busy_since(&before)),
            busiest_generator_thread: generator.busiest_thread(),
            write_calls: stats.map(|(a, b)| b.load.write_calls - a.load.write_calls),
            lines_written: stats.map(|(a, b)| b.load.lines_written - a.load.lines_written),
            server_allocations: self
                .allocations
                .zip(allocations_now)
                .map(|(before, after)| after - before),
        }
    }
}

/// A sample of each of `pids`; `None` if there are none, or if one cannot be read (a sum
/// without it would understate).
fn sample_all(pids: &[u32]) -> Option<Vec<ProcSample>> {
    if pids.is_empty() {
        return None;
    }
    pids.iter()
        .map(|&pid| sysstat::sample_process(pid).ok())
        .collect()
}
