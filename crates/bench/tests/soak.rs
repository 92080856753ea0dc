//! The soak test (`chatd_bench::soak`, the `chatd-soak` binary) in miniature: a couple of seconds
//! of every fault against an in-process server, with clients that leave and catch up through
//! history and accounts logged in to with right and wrong passwords, which must pass. The server's timeouts are
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
            "0.5",
            "--write-timeout",
            "0.5",
            // Flood control stays on (the address flood would cut everyone without it),
            // with budgets whose pauses stay well under twice the idle timeout.
            "--byte-rate",
            "256K",
            "--byte-burst",
            "512K",
            "--ip-byte-rate",
            "256K",
        ]
        .map(str::to_owned)
        .to_vec(),
        duration: Duration::from_secs(4),
        churn_clients: 24,
        well_behaved: 3,
        resumers: 2,
        resume_every: Duration::from_millis(500),
        resume_away: Duration::from_millis(100),
        seed: 7,
        flood_lines: 300,
        address_flooders: 4,
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
    // The resume check ran: clients left, came back and caught up through history.
    assert!(outcome.resume.reconnects >= 4, "{text}");
    assert!(outcome.resume.recovered > 0, "{text}");
    // The logins ran: right passwords taken, wrong ones refused.
    let logins = &outcome.login.counts;
    assert!(logins.right > 0 && outcome.login.lines > 0, "{text}");
    assert!(logins.bad_login > 0 && logins.accepted == 0, "{text}");
    assert!(outcome.resources.is_none(), "in-process: not measured");
}
