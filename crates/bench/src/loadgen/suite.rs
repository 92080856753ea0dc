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
use crate::loadgen::workload::{self, GeneratorSettings, RunSpec};

/// Runs every spec `repeats` times and returns one row each (the median of its repeats).
/// A stalled run is compared with the plain paced run of the same settings: an earlier row
/// if there is one, else that run is added first, as its own row. `status` gets a line as
/// each run starts and ends.
///
/// Specs that differ only in their clients' transport (`--transport tcp,tls`, `--tls`), or
/// in running N nodes rather than one process of the same binary (`--nodes`), take turns,
/// round after round (plain, TLS, plain, TLS...; one process, nodes, ...), so that a drift
/// of the machine over the runs weighs on both rows alike and their ratio is taken in the
/// same run.
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
    let mut results: Vec<Option<RunResult>> = vec![None; total];
    for first in 0..total {
        if results[first].is_some() {
            continue;
        }
        let turns: Vec<usize> = (first..total)
            .filter(|&at| results[at].is_none() && take_turns(&queue[first], &queue[at]))
            .collect();
        let baselines: Vec<Option<f64>> = turns
            .iter()
            .map(|&at| baseline_p99(&queue[at], &done))
            .collect();
        let mut repeated: Vec<Vec<RunResult>> = vec![Vec::new(); turns.len()];
        for round in 0..repeats.max(1) {
            for (turn, &at) in turns.iter().enumerate() {
                if round == 0 {
                    status(&format!("[{}/{total}] {} ...", at + 1, queue[at].title()));
                }
                repeated[turn].push(workload::run(&queue[at], baselines[turn]));
            }
        }
        for (&at, runs) in turns.iter().zip(&repeated) {
            let result = outcome::combine(runs);
            let title = queue[at].title();
            status(&format!(
                "[{}/{total}] {title}: {}",
                at + 1,
                verdict(&result)
            ));
            done.push((queue[at].clone(), result.clone()));
            results[at] = Some(result);
        }
    }
    results
        .into_iter()
        .map(|result| result.expect("every run has been run"))
        .collect()
}

/// The p99 of the plain paced run a stalled `spec` is compared with, among those `done`.
fn baseline_p99(spec: &RunSpec, done: &[(RunSpec, RunResult)]) -> Option<f64> {
    let baseline = spec.workload.baseline()?;
    done.iter()
        .find(|(s, _)| s.workload == baseline && same_settings(s, spec))
        .and_then(|(_, r)| r.latency.map(|l| l.p99))
}

/// Whether two specs are the same run but for their clients' transport, or for one process
/// against nodes: they take turns.
fn take_turns(a: &RunSpec, b: &RunSpec) -> bool {
    a.workload == b.workload
        && a.label == b.label
        && a.target.one_process() == b.target.one_process()
        && a.server == b.server
        && GeneratorSettings {
            transports: b.generator.transports,
            ..a.generator.clone()
        } == b.generator
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::nodes::NodesSpec;
    use crate::loadgen::target::ServerSettings;
    use crate::loadgen::workload::{FanOut, Workload};
    use std::path::PathBuf;

    fn spec(workload: Workload, target: TargetSpec) -> RunSpec {
        RunSpec {
            label: workload.label(),
            workload,
            target,
            server: ServerSettings::default(),
            generator: GeneratorSettings::default(),
            flood_control: None,
        }
    }

    #[test]
    fn issue_19_nodes_take_turns_with_one_process_of_the_same_binary() {
        let chatd = PathBuf::from("/opt/chatd");
        let nodes = |chatd: &str| {
            TargetSpec::Nodes(NodesSpec {
                chatd: PathBuf::from(chatd),
                nodes: 2,
                nats_server: PathBuf::from("/usr/sbin/nats-server"),
            })
        };
        let fanout = Workload::FanOut(FanOut::default());
        let one = spec(fanout.clone(), TargetSpec::Spawn(chatd));
        assert!(take_turns(&one, &spec(fanout.clone(), nodes("/opt/chatd"))));
        assert!(!take_turns(
            &one,
            &spec(fanout.clone(), nodes("/opt/other"))
        ));
        assert!(!take_turns(&one, &spec(fanout, TargetSpec::InProcess)));
        let smaller = Workload::FanOut(FanOut {
            clients: 10,
            ..FanOut::default()
        });
        assert!(!take_turns(&one, &spec(smaller, nodes("/opt/chatd"))));
    }
}
