//! Unit tests of `report`: number formats, the CSV, the tables' width and marks, and the
//! server's `STATS` paragraph, TLS rows against plain ones, nodes against one process.

use super::format::WIDTH;
use super::*;
use crate::loadgen::check::Counts;
use crate::loadgen::outcome::Latency;
use crate::loadgen::transport::Transports;

fn setup() -> Setup {
    Setup {
        machine: "Test CPU, 2 cores, Linux 6.1".to_owned(),
        commit: "abc1234".to_owned(),
        command: "cargo bench --bench load -- --quick".to_owned(),
        started: "2025-01-31 12:00:00".to_owned(),
    }
}

fn result() -> RunResult {
    RunResult {
        workload: "paced 100k".to_owned(),
        workers: Some(2),
        deliveries: 300_000,
        throughput: Some(99_870.0),
        latency: Some(Latency {
            p50: 0.25,
            p99: 1.5,
            p999: 12.25,
            max: 130.0,
        }),
        generator_cpu_pct: 35.0,
        ..RunResult::default()
    }
}

#[test]
fn numbers_are_short() {
    assert_eq!(si(1_234_567.0), "1.23M");
    assert_eq!(si(45_678.0), "45.7k");
    assert_eq!(si(999.0), "999");
    assert_eq!(millis(0.1234), "0.123");
    assert_eq!(millis(130.0), "130");
    assert_eq!(ratio(0.0), "0");
    assert_eq!(ratio(0.0001234), "1.2e-4");
    assert_eq!(signed_percent(12.4), "+12%");
}

#[test]
fn the_stats_summary_names_the_figures_as_stats_does() {
    let stats = ServerStats::new(vec![
        (StatName::Connections, 3),
        (StatName::LinesIn, 2_010),
        (StatName::DeliveriesOut, 400_000),
        (StatName::SlowConsumersCut, 2),
        (StatName::FloodPauses, 0),
        (StatName::QueuedBytesPeak, 1_070_512),
        (StatName::FanoutLatencyP50Us, 412),
        (StatName::FanoutLatencyP99Us, 3_100),
        (StatName::WriteCalls, 146),
        (StatName::Unknown("newer".to_owned()), 1),
    ]);
    assert_eq!(
        stats_summary(&stats),
        [
            "deliveries_out 400k",
            "fanout p50/p99 0.412/3.10 ms",
            "lines_in 2.01k",
            "write_calls 146",
            "queued_bytes_peak 1.07M",
            "slow_consumers_cut 2",
            "flood_pauses 0",
        ]
    );
    // An older server's answer without the latency leaves it out.
    let older = ServerStats::new(vec![(StatName::DeliveriesOut, 5)]);
    assert_eq!(stats_summary(&older), ["deliveries_out 5"]);
    let idle = ServerStats::new(vec![
        (StatName::DeliveriesOut, 0),
        (StatName::FanoutLatencyP50Us, 0),
        (StatName::FanoutLatencyP99Us, 0),
    ]);
    assert_eq!(
        stats_summary(&idle),
        ["deliveries_out 0", "fanout p50/p99 -"]
    );
}

#[test]
fn csv_fields_are_quoted_when_needed() {
    assert_eq!(csv_field("plain"), "plain");
    assert_eq!(csv_field("lost 1, dup 2"), "\"lost 1, dup 2\"");
    assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
}

#[test]
fn csv_has_the_setup_a_header_and_one_row_per_result() {
    let mut failed = result();
    failed.counts = Counts {
        lost: 12,
        order_violations: 1,
        ..Counts::default()
    };
    let text = csv(&setup(), &[result(), failed]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "# machine: Test CPU, 2 cores, Linux 6.1");
    assert_eq!(lines[2], "# command: cargo bench --bench load -- --quick");
    assert!(lines[4].starts_with("workload,workers,deliveries,deliveries_per_s,p50_ms"));
    assert_eq!(lines.len(), 7);
    assert!(lines[5].starts_with("paced 100k,2,300000,99870,0.25,1.5,12.25,130,,0,"));
    assert!(
        lines[6].ends_with(",\"lost 12, order violations 1\""),
        "{}",
        lines[6]
    );
    let columns = lines[4].split(',').count();
    assert_eq!(lines[5].split(',').count(), columns);
}

#[test]
fn tables_fit_in_120_columns_and_mark_the_bottleneck() {
    let mut slow = result();
    slow.bottleneck = Some("a generator thread used 90 % or more of a core".to_owned());
    let text = render(&setup(), &[result(), slow]);
    assert!(text.contains("35%!"), "{text}");
    assert!(text.contains("! paced 100k workers=2: the generator may be the bottleneck"));
    for line in text.lines().filter(|l| !l.starts_with('!')) {
        assert!(line.chars().count() <= 120, "{line}");
    }
    assert!(text.contains("99.9k"));
}

#[test]
fn issue_14_the_servers_stats_are_printed_under_the_tables_and_in_the_csv() {
    let mut answered = result();
    answered.server_stats = Some(Ok(ServerStats::new(vec![
        (StatName::DeliveriesOut, 300_000),
        (StatName::FanoutLatencyP50Us, 250),
        (StatName::FanoutLatencyP99Us, 1_500),
        (StatName::LinesIn, 1_234_567),
        (StatName::WriteCalls, 98_765_432),
        (StatName::QueuedBytesPeak, 123_456_789),
        (StatName::SlowConsumersCut, 3),
        (StatName::FloodPauses, 1_234_567),
    ])));
    answered.workload = "fan-out".to_owned();
    let mut refused = result();
    refused.server_stats = Some(Err("STATS: ERR UNKNOWN_COMMAND unknown".to_owned()));
    let text = render(&setup(), &[answered.clone(), refused, result()]);
    let stats: Vec<&str> = text
        .lines()
        .skip_while(|line| !line.starts_with("server STATS, "))
        .take_while(|line| !line.is_empty())
        .collect();
    assert!(stats.len() > 1, "one row's paragraph, wrapped: {text}");
    assert!(
        stats[1..].iter().all(|line| line.starts_with("  ")),
        "{text}"
    );
    let joined: Vec<&str> = stats.iter().map(|line| line.trim()).collect();
    assert_eq!(
        joined.join(" "),
        "server STATS, fan-out workers=2: \
         deliveries_out 300k, fanout p50/p99 0.250/1.50 ms, lines_in 1.23M, \
         write_calls 98.8M, queued_bytes_peak 123M, slow_consumers_cut 3, flood_pauses 1.23M"
    );
    assert!(text.contains("! paced 100k workers=2: no server STATS after the run: STATS: ERR"));
    for line in text.lines().filter(|l| !l.starts_with('!')) {
        assert!(line.chars().count() <= WIDTH, "{line}");
    }
    let csv = csv(&setup(), &[answered, result()]);
    let lines: Vec<&str> = csv.lines().collect();
    let column = |name: &str| lines[4].split(',').position(|c| c == name).unwrap();
    let row: Vec<&str> = lines[5].split(',').collect();
    assert_eq!(row[column("server_deliveries_out")], "300000");
    assert_eq!(row[column("server_fanout_p99_us")], "1500");
    let empty: Vec<&str> = lines[6].split(',').collect();
    assert_eq!(empty[column("server_fanout_p50_us")], "");
}

#[test]
fn issue_14_peer_rows_say_what_they_saw_of_one_order_and_why_no_stats() {
    use crate::loadgen::dialect::OrderStance;
    let mut chatd = result();
    chatd.workload = "fan-out".to_owned();
    chatd.order = Some(OrderStance::Promised);
    let mut nats = result();
    nats.workload = "fan-out (NATS)".to_owned();
    nats.workers = None;
    nats.peer = Some("NATS".to_owned());
    nats.order = Some(OrderStance::NotPromised);
    nats.counts.order_violations = 12;
    let mut redis = nats.clone();
    redis.workload = "direct (Redis)".to_owned();
    redis.peer = Some("Redis".to_owned());
    redis.order = None;
    redis.counts.order_violations = 0;
    let text = render(&setup(), &[chatd.clone(), nats.clone(), redis]);
    assert!(text.contains("\n  fan-out workers=2: yes\n"), "{text}");
    assert!(
        text.contains("\n  fan-out (NATS): not promised (this run: 12 steps back)\n"),
        "{text}"
    );
    assert!(
        !text.contains("  direct (Redis): "),
        "no order across pairs: {text}"
    );
    assert!(
        text.contains("server STATS, fan-out (NATS): none, STATS is chatd's own"),
        "{text}"
    );
    // The order paragraph fits the width (the tables grow with the rows' names).
    let order = text
        .lines()
        .skip_while(|l| !l.starts_with("one global order"));
    for line in order.take_while(|l| !l.is_empty()) {
        assert!(line.chars().count() <= WIDTH, "{line}");
    }
    // A report of chatd rows alone says nothing new: the order column and the failures do.
    assert!(!render(&setup(), &[chatd.clone()]).contains("one global order"));
    let csv = csv(&setup(), &[chatd, nats]);
    let lines: Vec<&str> = csv.lines().collect();
    let column = |name: &str| lines[4].split(',').position(|c| c == name).unwrap();
    let at = column("one_global_order");
    assert_eq!(lines[5].split(',').nth(at), Some("yes"));
    assert_eq!(
        lines[6].split(',').nth(at),
        Some("not promised (this run: 12 steps back)")
    );
}

#[test]
fn issue_18_tls_rows_are_given_against_their_plain_rows() {
    use crate::loadgen::outcome::IdleFigures;
    let row = |workload: &str, transports, throughput, cpu, idle: Option<(f64, f64)>| RunResult {
        workload: workload.to_owned(),
        transports,
        throughput,
        server_us_per_delivery: cpu,
        idle: idle.map(|(kib, connect_s)| IdleFigures {
            clients: 2000,
            connect_s,
            rss_kib_per_conn: Some(kib),
            ..IdleFigures::default()
        }),
        ..result()
    };
    let results = [
        row("fan-out", Transports::Tcp, Some(10e6), Some(0.1), None),
        row(
            "fan-out (tls)",
            Transports::Tls,
            Some(6e6),
            Some(0.15),
            None,
        ),
        row("idle 2.00k", Transports::Tcp, None, None, Some((12.0, 0.2))),
        row(
            "idle 2.00k (tls)",
            Transports::Tls,
            None,
            None,
            Some((30.0, 0.5)),
        ),
        // A TLS row without its plain row is left out.
        row("rooms (tls)", Transports::Tls, Some(1e6), None, None),
    ];
    let lines = tls_lines(&results);
    let text = lines.join("\n");
    assert!(lines[0].starts_with("TLS against plain: "), "{text}");
    for says in [
        "TLS/plain, fan-out workers=2: deliveries/s 0.600x (goal >= 0.7x: NOT met), server CPU \
         per delivery 1.50x",
        "TLS/plain, idle 2.00k workers=2: memory per idle client 2.50x (goal <= 2x: NOT met)",
        "time to connect 2000 clients 2.50x",
    ] {
        assert!(text.contains(says), "{says}\n{text}");
    }
    assert!(!text.contains("rooms"), "{text}");
    assert!(lines.iter().all(|line| line.chars().count() <= WIDTH));
    assert!(tls_lines(&results[..1]).is_empty());
    let met = [
        row("fan-out", Transports::Tcp, Some(10e6), None, None),
        row("fan-out (tls)", Transports::Tls, Some(8e6), None, None),
    ];
    assert!(tls_lines(&met)[1].ends_with("deliveries/s 0.800x (goal >= 0.7x: met)"));
}

#[test]
fn issue_19_nodes_rows_are_given_against_their_one_process() {
    let row = |workload: &str, nodes, throughput, cpu, p99: Option<f64>| RunResult {
        workload: workload.to_owned(),
        nodes,
        throughput,
        server_us_per_delivery: cpu,
        latency: p99.map(|p99| Latency {
            p50: 0.5,
            p99,
            p999: p99,
            max: p99,
        }),
        ..result()
    };
    let results = [
        row("fan-out", None, Some(8e6), Some(0.1), None),
        row("fan-out (2 nodes)", Some(2), Some(2e6), Some(0.45), None),
        row("paced 100k", None, Some(1e5), Some(2.0), Some(1.5)),
        row(
            "paced 100k (2 nodes)",
            Some(2),
            Some(1e5),
            Some(5.0),
            Some(3.0),
        ),
        // A nodes row without its one process is left out.
        row("direct (3 nodes)", Some(3), Some(1e6), None, None),
    ];
    let lines = nodes_lines(&results);
    let text = lines.join("\n");
    assert!(
        lines[0].starts_with("nodes against one process: "),
        "{text}"
    );
    for says in [
        "2 nodes/one process, fan-out workers=2: deliveries/s 0.250x, CPU per delivery 4.50x",
        "2 nodes/one process, paced 100k workers=2: deliveries/s 1.00x, CPU per delivery 2.50x, \
         p50 1.00x, p99 2.00x",
        "nats-server included",
    ] {
        assert!(text.contains(says), "{says}\n{text}");
    }
    assert!(!text.contains("direct"), "{text}");
    assert!(lines.iter().all(|line| line.chars().count() <= WIDTH));
    assert!(nodes_lines(&results[..1]).is_empty());
    let csv = csv(&setup(), &results);
    let lines: Vec<&str> = csv.lines().collect();
    let at = lines[4].split(',').position(|c| c == "nodes").unwrap();
    assert_eq!(lines[5].split(',').nth(at), Some(""));
    assert_eq!(lines[6].split(',').nth(at), Some("2"));
}
