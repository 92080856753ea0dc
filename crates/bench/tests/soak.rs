//! The soak test (`chatd_bench::soak`, the `chatd-soak` binary) in miniature: a couple of seconds
//! of every fault against an in-process server, which must pass. The server's timeouts are
//! shortened so that the timeout faults fit in so short a run.

use std::time::Duration;

use chatd_bench::soak::chaos::Fault;
use chatd_bench::soak::settings::{SoakSpec, SoakTarget};
use chatd_bench::soak::{self, report};

use chatd_testkit::default_workers;

#[test]
fn a_short_soak_of_every_fault_passes() {
    let workers = default_workers().to_string();
    let spec = SoakSpec {
        target: SoakTarget::InProcess,
        server_args: [
            "--workers",
            &workers,
            "--register-timeout",
            "0.25",
            "--idle-timeout",
            "0.25",
            // With a few dozen clients a WHO answer is short, and at the soak's default rate
            // a slow reader would take most of a minute to fill the kernel's buffers and its
            // queue. Flood control has its own tests (flood.rs); the binary's soak in CI runs
            // with it.
            "--rate",
            "0",
        ]
        .map(str::to_owned)
        .to_vec(),
        duration: Duration::from_secs(2),
        churn_clients: 24,
        well_behaved: 3,
        seed: 7,
        flood_lines: 300,
        linger: Duration::from_millis(200),
        settle_timeout: Duration::from_secs(10),
        ..SoakSpec::default()
    };
    let outcome = soak::run(&spec, "soak test".to_owned(), &mut |_| {}).unwrap();
    let text = report::render(&outcome);
    assert!(outcome.passed(), "{text}");
    assert!(outcome.skipped.is_empty(), "{text}");
    for fault in Fault::ALL {
        let at = chatd_bench::soak::chaos::fault_position(fault);
        assert!(outcome.chaos.runs[at] > 0, "{fault} never ran:\n{text}");
    }
    assert!(
        outcome.counts.received > 0 && outcome.flood_sent > 0,
        "{text}"
    );
    assert!(outcome.resources.is_none(), "in-process: not measured");
}
