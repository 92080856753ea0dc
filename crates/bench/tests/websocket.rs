//! Issue 17, point 7: the load benchmark drives WebSocket clients. Small runs against an
//! in-process chatd, every client over its `/ws` (`ws`) or half of them (`mix`), with the
//! same checks as over TCP: nothing lost, duplicated, reordered or corrupt, one order for
//! everyone, and exactly the deliveries the workload makes. Also a running server reached
//! through `--web`, and the runs that are refused.

use std::time::Duration;

use chatd_bench::loadgen::outcome::RunResult;
use chatd_bench::loadgen::target::{ServerSettings, TargetSpec};
use chatd_bench::loadgen::transport::Transports;
use chatd_bench::loadgen::workload::{self, RunSpec};
use chatd_bench::loadgen::{Direct, FanOut, GeneratorSettings, Idle, Rooms, Workload};
use chatd_testkit::TestServer;

fn spec(workload: Workload, target: TargetSpec, transports: Transports) -> RunSpec {
    RunSpec {
        label: workload.label(),
        workload,
        target,
        server: ServerSettings {
            workers: chatd_testkit::default_workers(),
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

fn run(workload: Workload, transports: Transports) -> RunResult {
    workload::run(&spec(workload, TargetSpec::InProcess, transports), None)
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
fn issue_17_fanout_over_websocket_loses_nothing() {
    let result = run(small_fanout(), Transports::WebSocket);
    assert_clean(&result, 2 * 300 + 4 * 600);
    assert_eq!(result.workload, "fan-out (ws)");
    assert_eq!(result.transports, Transports::WebSocket);
    // The server's own figures count the WebSocket clients' lines as any others.
    let stats = result.server_stats.clone().unwrap().unwrap();
    let delivered = stats.get(&chatd_proto::StatName::DeliveriesOut).unwrap();
    assert!(delivered >= 3000, "{stats:?}");
}

#[test]
fn issue_17_fanout_over_a_mix_keeps_one_order() {
    // Sender 0 over TCP, sender 1 over WebSocket; receivers of both kinds.
    let result = run(small_fanout(), Transports::Mix);
    assert_clean(&result, 2 * 300 + 4 * 600);
    assert_eq!(result.workload, "fan-out (mix)");
}

#[test]
fn issue_17_direct_and_rooms_over_a_mix_and_websocket() {
    // In a mix each pair is one TCP client and one WebSocket client.
    let direct = Workload::Direct(Direct {
        pairs: 3,
        messages: 200,
        size: Direct::default().size,
    });
    assert_clean(&run(direct, Transports::Mix), 6 * 200);
    // Two rooms of four, two senders each: the senders get 100, the others 200.
    let rooms = Workload::Rooms(Rooms {
        rooms: 2,
        members: 4,
        senders: 2,
        messages: 100,
        size: Rooms::default().size,
    });
    assert_clean(
        &run(rooms.clone(), Transports::WebSocket),
        2 * (2 * 100 + 2 * 200),
    );
    assert_clean(&run(rooms, Transports::Mix), 2 * (2 * 100 + 2 * 200));
}

#[test]
fn issue_17_idle_clients_over_websocket_get_every_join() {
    // 12 registrations announce 12 * 11 / 2 JOINs between them.
    let result = run(Workload::Idle(Idle { clients: 12 }), Transports::WebSocket);
    assert_clean(&result, 66);
}

#[test]
fn issue_17_a_running_server_is_reached_through_its_web_address_alone() {
    let server = TestServer::with_web(|_| {});
    // Its line protocol's address given is a port nobody listens on: every client must go
    // through the web address, and only the server's STATS (asked over TCP) is missing.
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = nobody.local_addr().unwrap();
    drop(nobody);
    let target = TargetSpec::External {
        addr: closed,
        pid: None,
        web: Some(server.web_addr()),
        tls: None,
    };
    let result = workload::run(&spec(small_fanout(), target, Transports::WebSocket), None);
    assert_clean(&result, 2 * 300 + 4 * 600);
    assert!(
        matches!(result.server_stats, Some(Err(_))),
        "{:?}",
        result.server_stats
    );
    server.shutdown();
}

#[test]
fn issue_17_websocket_runs_that_cannot_work_are_refused() {
    let ws = Transports::WebSocket;
    let unknown_web = TargetSpec::External {
        addr: "127.0.0.1:1".parse().unwrap(),
        pid: None,
        web: None,
        tls: None,
    };
    let error = spec(small_fanout(), unknown_web.clone(), ws)
        .validate()
        .unwrap_err();
    assert!(error.contains("give --web HOST:PORT"), "{error}");
    // Over TCP the same server needs no web address.
    assert_eq!(
        spec(small_fanout(), unknown_web, Transports::Tcp).validate(),
        Ok(())
    );
    let redis = TargetSpec::Peer {
        peer: chatd_bench::loadgen::dialect::Peer::Redis,
        addr: "127.0.0.1:6379".parse().unwrap(),
        pid: None,
    };
    let error = spec(small_fanout(), redis.clone(), Transports::Mix)
        .validate()
        .unwrap_err();
    assert!(
        error.starts_with("--transport mix runs against chatd only"),
        "{error}"
    );
    // Refused before anything connects: the run fails at once, saying why.
    let result = workload::run(&spec(small_fanout(), redis, ws), None);
    assert!(result.failed());
    assert!(
        result.failures[0].contains("which Redis does not have"),
        "{result:#?}"
    );
}
