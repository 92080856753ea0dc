//! `chatd-bench memory` in miniature, against the `chatd` binary: every case runs to its end
//! (the stalled clients are all cut, the server gives their threads and descriptors back) and
//! gives figures of the right size. The figures themselves are the benchmark's business.

use std::path::PathBuf;

use chatd_bench::memory::{self, MemorySpec};

#[test]
fn issue_13_the_memory_benchmark_runs_every_case_to_its_end() {
    let spec = MemorySpec {
        server_args: ["--workers", "1"].map(str::to_owned).to_vec(),
        idle: 20,
        stalled: 2,
        per_address: 4,
        runs: 1,
        ..MemorySpec::new(PathBuf::from(env!("CARGO_BIN_EXE_chatd")))
    };
    let figures = memory::run(&spec, |_| {}).unwrap();
    let table = memory::render(&spec, &figures);
    // A stalled client's send queue (1 MiB by default) is filled before it is cut: its
    // footprint shows, and stays near the queue's bound.
    let stalled = figures.stalled_per_connection.median;
    assert!((256.0..2048.0).contains(&stalled), "{table}");
    let address = figures.one_address.median;
    assert!(address > stalled && address < 4.0 * 2048.0, "{table}");
    assert!(figures.idle_per_connection.median < 256.0, "{table}");
}
