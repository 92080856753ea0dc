//! Issue 18, point 7: the load benchmark drives TLS clients. Small runs against an
//! in-process chatd with a certificate made for the run, every client over TLS, with the same
//! checks as over TCP: nothing lost, duplicated, reordered or corrupt, one order for
//! everyone, and exactly the deliveries the workload makes. Also plain and TLS runs taking
//! turns with the report's ratios, and a server whose certificate the clients do not trust.

use std::time::Duration;

use chatd_bench::loadgen::outcome::RunResult;
use chatd_bench::loadgen::pki::RunPki;
use chatd_bench::loadgen::setup::{FrontEnd, Setup};
use chatd_bench::loadgen::target::{ServerSettings, Target, TargetSpec, TlsTarget};
use chatd_bench::loadgen::transport::Transports;
use chatd_bench::loadgen::workload::{self, RunSpec};
use chatd_bench::loadgen::{
    FanOut, GeneratorSettings, Idle, Paced, Rooms, Workload, report, suite,
};

fn spec(workload: Workload, target: TargetSpec, transports: Transports) -> RunSpec {
    RunSpec {
        label: workload.label(),
        workload,
        target,
        server: ServerSettings {
            workers: chatd_testkit::default_workers(),
            tls: true,
            ..ServerSettings::default()
        },
        generator: GeneratorSettings {
            timeout: Some(Duration::from_secs(60)),
            transports,
            ..GeneratorSettings::default()
        },
        flood_control: None,
    }
}

fn run(workload: Workload) -> RunResult {
    workload::run(
        &spec(workload, TargetSpec::InProcess, Transports::Tls),
        None,
    )
}

/// A run that passed with exactly `deliveries` checked lines.
fn assert_clean(result: &RunResult, deliveries: u64) {
    assert_eq!(result.failure_summary(), None, "{result:#?}");
    let counts = result.counts;
    assert_eq!(
        (
            counts.lost,
            counts.duplicated,
            counts.out_of_order,
            counts.order_violations,
            counts.corrupt
        ),
        (0, 0, 0, 0, 0),
        "{result:#?}"
    );
    assert_eq!(result.deliveries, deliveries, "{result:#?}");
}

/// Six clients, two of them sending 300 `ALL`s each: the senders get each other's 300, the
/// other four all 600.
fn small_fanout() -> Workload {
    Workload::FanOut(FanOut {
        clients: 6,
        senders: 2,
        messages: 300,
        size: FanOut::default().size,
    })
}

#[test]
fn issue_18_fanout_over_tls_loses_nothing() {
    let result = run(small_fanout());
    assert_clean(&result, 2 * 300 + 4 * 600);
    assert_eq!(result.workload, "fan-out (tls)");
    assert_eq!(result.transports, Transports::Tls);
    // The server's own figures count the TLS clients' lines as any others.
    let stats = result.server_stats.clone().unwrap().unwrap();
    let delivered = stats.get(&chatd_proto::StatName::DeliveriesOut).unwrap();
    assert!(delivered >= 3000, "{stats:?}");
}

#[test]
fn issue_18_paced_rooms_and_idle_over_tls() {
    // 2,000 deliveries a second for half a second, 6 clients, 2 senders: every line checked.
    let paced = run(Workload::Paced(Paced {
        clients: 6,
        senders: 2,
        rate: 2000.0,
        duration: Duration::from_millis(500),
        warmup: Duration::from_millis(100),
        size: Paced::default().size,
    }));
    assert_eq!(paced.failure_summary(), None, "{paced:#?}");
    assert!(paced.deliveries > 500, "{paced:#?}");
    assert!(paced.latency.is_some(), "{paced:#?}");
    // Two rooms of four, two senders each: the senders get 100, the others 200.
    let rooms = Workload::Rooms(Rooms {
        rooms: 2,
        members: 4,
        senders: 2,
        messages: 100,
        size: Rooms::default().size,
    });
    assert_clean(&run(rooms), 2 * (2 * 100 + 2 * 200));
    // 12 registrations announce 12 * 11 / 2 JOINs between them; the handshakes are part of
    // the connect time.
    let idle = run(Workload::Idle(Idle { clients: 12 }));
    assert_clean(&idle, 66);
    assert!(idle.idle.is_some_and(|i| i.connect_s > 0.0), "{idle:#?}");
}

#[test]
fn issue_18_plain_and_tls_take_turns_and_the_report_compares_them() {
    let specs: Vec<RunSpec> = [Transports::Tcp, Transports::Tls]
        .into_iter()
        .map(|transports| spec(small_fanout(), TargetSpec::InProcess, transports))
        .collect();
    let mut said = Vec::new();
    let results = suite::run_all(&specs, 2, |line| said.push(line.to_owned()));
    // Both start before either ends: their rounds take turns.
    assert!(said[0].starts_with("[1/2] fan-out workers="), "{said:?}");
    assert!(said[0].ends_with(" ..."), "{said:?}");
    assert!(
        said[1].starts_with("[2/2] fan-out (tls) workers="),
        "{said:?}"
    );
    assert!(said[1].ends_with(" ..."), "{said:?}");
    assert_eq!(said.len(), 4, "{said:?}");
    for result in &results {
        assert_clean(result, 2 * 300 + 4 * 600);
    }
    let table = report::render(&Setup::collect(FrontEnd::ChatdBench), &results);
    let ratio = table
        .lines()
        .find(|line| line.starts_with("TLS/plain, fan-out workers="))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(ratio.contains("deliveries/s "), "{ratio}");
    assert!(ratio.contains("(goal >= 0.7x: "), "{ratio}");
}

#[test]
fn issue_18_a_certificate_the_clients_do_not_trust_fails_the_run_saying_so() {
    // A server with the run's certificate, reached as a running one whose --ca is another
    // authority's.
    let settings = ServerSettings {
        tls: true,
        ..ServerSettings::default()
    };
    let server = Target::start(&TargetSpec::InProcess, &settings).unwrap();
    let tls_addr = server.endpoints().tls.unwrap().addr;
    let stranger = RunPki::new().unwrap();
    let target = TargetSpec::External {
        addr: server.addr(),
        pid: None,
        web: None,
        tls: Some(TlsTarget {
            addr: tls_addr,
            host: "127.0.0.1".to_owned(),
            ca: Some(stranger.ca_path()),
        }),
    };
    let result = workload::run(&spec(small_fanout(), target, Transports::Tls), None);
    let failure = result.failure_summary().unwrap_or_default();
    assert!(
        failure.contains("refused the server's certificate for 127.0.0.1"),
        "{result:#?}"
    );
    assert!(failure.contains("give --ca"), "{failure}");
    server.stop().unwrap();
}
