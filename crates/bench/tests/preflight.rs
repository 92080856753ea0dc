//! Issue 11, point 5: the benchmark says when a server throttles it. The pre-flight probe
//! (`chatd_bench::loadgen::probe`) against in-process servers with and without flood
//! control, and a run against a throttled `--addr` server: warned about before it starts,
//! and its timeout names the client, its lines and flood control.
//!
//! Every wait has a deadline: the probe's own window, and the run's `--timeout`.

use std::time::Duration;

use chatd_bench::loadgen::probe;
use chatd_bench::loadgen::suite;
use chatd_bench::loadgen::target::{ServerSettings, TargetSpec};
use chatd_bench::loadgen::{FanOut, GeneratorSettings, RunSpec, Workload};
use chatd_testkit::TestServer;

/// A server with the flood control of the past, but a burst small enough that one second
/// of the probe shows it: 20 lines at once, then 50 a second.
fn throttled_server() -> TestServer {
    TestServer::with(|config| {
        config.rate = 50;
        config.burst = 20;
    })
}

#[test]
fn issue_11_the_probe_measures_flood_control() {
    let server = throttled_server();
    let seen = probe::probe(server.addr).unwrap();
    let found = seen
        .flood_control()
        .unwrap_or_else(|| panic!("no flood control seen: {seen:?}"));
    assert!((30.0..=80.0).contains(&found.rate), "{found:?}");
    assert!((10..=40).contains(&found.burst), "{found:?}");
    // It never had more than its burst plus a second of the rate.
    assert!(found.answered <= 20 + 2 * 50, "{found:?}");
}

#[test]
fn issue_11_the_probe_sees_no_flood_control_on_a_server_without_it() {
    // TestServer runs with --rate 0.
    let server = TestServer::start();
    let seen = probe::probe(server.addr).unwrap();
    assert_eq!(seen.flood_control(), None, "{seen:?}");
    assert!(seen.answered() > 0, "{seen:?}");
}

#[test]
fn issue_11_a_throttled_addr_run_is_warned_about_and_its_timeout_says_why() {
    let server = throttled_server();
    // One sender's 200 lines take the server four seconds to read at 50 a second; the
    // run gives each phase one.
    let workload = Workload::FanOut(FanOut {
        clients: 2,
        senders: 1,
        messages: 200,
        size: FanOut::default().size,
    });
    let spec = RunSpec {
        label: workload.label(),
        workload,
        target: TargetSpec::External {
            addr: server.addr,
            pid: None,
            web: None,
            tls: None,
        },
        server: ServerSettings::default(),
        generator: GeneratorSettings {
            timeout: Some(Duration::from_secs(1)),
            ..GeneratorSettings::default()
        },
        flood_control: None,
    };
    let mut said = Vec::new();
    let results = suite::run_all(&[spec], 1, |line| said.push(line.to_owned()));

    let warning = said
        .iter()
        .position(|line| line.starts_with("warning:"))
        .unwrap_or_else(|| panic!("no warning: {said:#?}"));
    let first_run = said
        .iter()
        .position(|line| line.starts_with("[1/1]"))
        .unwrap();
    assert!(warning < first_run, "the warning comes first: {said:#?}");
    for part in [
        &format!(
            "the server at {} throttles each connection to about",
            server.addr
        ),
        "This workload needs more: 1 connection each send 200 lines",
        "run the server with --rate 0",
    ] {
        assert!(
            said[warning].contains(part),
            "{part:?} in {}",
            said[warning]
        );
    }

    let failures = &results[0].failures;
    let timeout = failures
        .iter()
        .find(|f| f.contains("waiting for the bench-sent barrier"))
        .unwrap_or_else(|| panic!("no barrier timeout: {failures:#?}"));
    for part in [
        "1 of 1 clients did not answer (the first: client 0, which had sent",
        "of its 200 lines",
        "); likely causes: flood control on the server (the pre-flight probe measured about",
        "run the server with --rate 0",
        "or a slow or dead server",
    ] {
        assert!(timeout.contains(part), "{part:?} in {timeout}");
    }
}
