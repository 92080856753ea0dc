//! Running a list of runs: the pre-flight probe of every server the runs do not start,
//! repeats and their median, the plain paced run each stalled run is compared with, and the
//! finished report (tables, files, failures) for a binary to print.
//!
//! In scope: the order of runs and what is kept of them. Out of scope: printing (the
//! `chatd-bench` binary and `benches/load.rs` print what they are given) and running one
//! workload (`workload`).

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::loadgen::outcome::{self, RunResult};
use crate::loadgen::probe::{self, FloodControl};
use crate::loadgen::report;
use crate::loadgen::setup::Setup;
use crate::loadgen::target::TargetSpec;
use crate::loadgen::workload::{self, RunSpec};

/// Runs every spec `repeats` times and returns one row each (the median of its repeats).
/// A stalled run is compared with the plain paced run of the same settings: an earlier row
/// if there is one, else that run is added first, as its own row. `status` gets a line as
/// each run starts and ends.
///
/// Before any run, each server the runs do not start (`--addr`) is probed once for flood
/// control ([`probe`]): `status` gets what was found (a warning if it throttles what the
/// runs need), and the runs' timeouts name it as a likely cause.
pub fn run_all(specs: &[RunSpec], repeats: usize, mut status: impl FnMut(&str)) -> Vec<RunResult> {
    let mut done: Vec<(RunSpec, RunResult)> = Vec::new();
    let mut queue: Vec<RunSpec> = Vec::new();
    for spec in specs {
        if let Some(baseline) = spec.workload.baseline() {
            let known = |s: &RunSpec| s.workload == baseline && same_settings(s, spec);
            if !specs.iter().any(known) && !queue.iter().any(known) {
                let label = format!("{} (baseline)", baseline.label());
                queue.push(spec.with_workload(label, baseline));
            }
        }
        queue.push(spec.clone());
    }
    preflight(&mut queue, &mut status);
    let total = queue.len();
    for (at, spec) in queue.into_iter().enumerate() {
        let baseline_p99 = spec.workload.baseline().and_then(|baseline| {
            done.iter()
                .find(|(s, _)| s.workload == baseline && same_settings(s, &spec))
                .and_then(|(_, r)| r.latency.map(|l| l.p99))
        });
        let title = spec.title();
        status(&format!("[{}/{total}] {title} ...", at + 1));
        let repeated: Vec<RunResult> = (0..repeats.max(1))
            .map(|_| workload::run(&spec, baseline_p99))
            .collect();
        let result = outcome::combine(&repeated);
        status(&format!(
            "[{}/{total}] {title}: {}",
            at + 1,
            verdict(&result)
        ));
        done.push((spec, result));
    }
    done.into_iter().map(|(_, result)| result).collect()
}

/// Probes every external server of `queue` once, says what was found, and gives each run
/// against it the flood control seen. The warning is said for the most demanding of the
/// runs against a server: the one flood control slows most, if any.
fn preflight(queue: &mut [RunSpec], status: &mut impl FnMut(&str)) {
    let mut probed: Vec<(SocketAddr, Option<FloodControl>)> = Vec::new();
    for at in 0..queue.len() {
        let TargetSpec::External { addr, .. } = queue[at].target else {
            continue;
        };
        let found = match probed.iter().find(|(known, _)| *known == addr) {
            Some(&(_, found)) => found,
            None => {
                let found = match probe::probe(addr) {
                    Ok(seen) => {
                        let demands = queue.iter().filter(|s| s.target == queue[at].target);
                        let found = seen.flood_control();
                        let demand = demands
                            .map(|s| s.workload.demand())
                            .max_by_key(|d| {
                                let slowed = found.is_some_and(|f| f.slows(d));
                                (slowed, d.lines)
                            })
                            .expect("the run at hand is one of them");
                        status(&seen.note(addr, &demand));
                        found
                    }
                    Err(error) => {
                        status(&format!(
                            "warning: the pre-flight probe of {addr} for flood control failed \
                             ({error}); the runs go on without it"
                        ));
                        None
                    }
                };
                probed.push((addr, found));
                found
            }
        };
        queue[at].flood_control = found;
    }
}

/// Whether two specs run against the same server with the same generator.
fn same_settings(a: &RunSpec, b: &RunSpec) -> bool {
    a.target == b.target && a.server == b.server && a.generator == b.generator
}

fn verdict(result: &RunResult) -> String {
    let speed = result
        .throughput
        .map(|t| format!(", {} deliveries/s", report::si(t)))
        .unwrap_or_default();
    match result.failure_summary() {
        Some(failure) => format!("FAILED: {failure}"),
        None => format!("ok in {:.2} s{speed}", result.wall_s),
    }
}

/// Everything a binary prints at the end.
#[derive(Debug)]
pub struct Finished {
    /// Header and tables, for stdout.
    pub table: String,
    /// `fan-out workers=2: lost 12, order violations 1`, one per failed row.
    pub failures: Vec<String>,
    /// The CSV and SVG written.
    pub files: Vec<PathBuf>,
    /// Why a file could not be written (not a failure of the runs).
    pub file_errors: Vec<String>,
}

impl Finished {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Lays out the results and writes `<stem>.csv` and `<stem>.svg` into `dir`, if given.
pub fn finish(setup: &Setup, results: &[RunResult], dir: Option<&Path>) -> Finished {
    let mut finished = Finished {
        table: report::render(setup, results),
        failures: results
            .iter()
            .filter_map(|r| Some(format!("{}: {}", r.title(), r.failure_summary()?)))
            .collect(),
        files: Vec::new(),
        file_errors: Vec::new(),
    };
    let Some(dir) = dir else {
        return finished;
    };
    if let Err(error) = fs::create_dir_all(dir) {
        finished
            .file_errors
            .push(format!("cannot create {}: {error}", dir.display()));
        return finished;
    }
    let stem = setup.file_stem();
    let csv = dir.join(format!("{stem}.csv"));
    match fs::write(&csv, report::csv(setup, results)) {
        Ok(()) => finished.files.push(csv),
        Err(error) => finished
            .file_errors
            .push(format!("cannot write {}: {error}", csv.display())),
    }
    let svg = dir.join(format!("{stem}.svg"));
    match report::write_svg(&svg, results) {
        Ok(()) => finished.files.push(svg),
        Err(error) => finished
            .file_errors
            .push(format!("cannot write {}: {error}", svg.display())),
    }
    finished
}
