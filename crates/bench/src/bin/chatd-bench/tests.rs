//! Unit tests of `chatd-bench`'s flags: their defaults, the runs they make, and the
//! combinations refused.

use super::*;
use clap::CommandFactory;

fn workload(args: &[&str]) -> Workload {
    let cli = Cli::try_parse_from(["chatd-bench"].iter().chain(args)).unwrap();
    cli.workload.into_specs().unwrap().0.remove(0).workload
}

#[test]
fn the_flags_are_well_formed() {
    Cli::command().debug_assert();
}

#[test]
fn flag_defaults_are_the_workload_defaults() {
    assert_eq!(workload(&["fanout"]), Workload::FanOut(FanOut::default()));
    assert_eq!(workload(&["paced"]), Workload::Paced(Paced::default()));
    assert_eq!(workload(&["direct"]), Workload::Direct(Direct::default()));
    assert_eq!(workload(&["rooms"]), Workload::Rooms(Rooms::default()));
    assert_eq!(
        workload(&["stalled"]),
        Workload::Stalled(Stalled::default())
    );
    let idle = Cli::try_parse_from(["chatd-bench", "idle", "--addr", "127.0.0.1:1"]).unwrap();
    let spec = idle.workload.into_specs().unwrap().0.remove(0);
    assert_eq!(spec.workload, Workload::Idle(Idle::default()));
}

fn spec(args: &[&str]) -> anyhow::Result<RunSpec> {
    let cli = Cli::try_parse_from(["chatd-bench"].iter().chain(args))?;
    cli.workload
        .into_specs()
        .map(|(mut specs, _)| specs.remove(0))
}

#[test]
fn target_names_a_running_peer_or_chatd() {
    let redis = spec(&[
        "fanout",
        "--target",
        "redis://127.0.0.1:6400",
        "--server-pid",
        "42",
    ])
    .unwrap();
    assert_eq!(
        redis.target,
        TargetSpec::Peer {
            peer: chatd_bench::loadgen::dialect::Peer::Redis,
            addr: "127.0.0.1:6400".parse().unwrap(),
            pid: Some(42),
        }
    );
    let chatd = spec(&["idle", "--target", "chatd://127.0.0.1:7000"]).unwrap();
    let addr = spec(&["idle", "--addr", "127.0.0.1:7000"]).unwrap();
    assert_eq!(chatd.target, addr.target);
}

#[test]
fn chatd_only_runs_and_flags_are_refused_with_a_peer() {
    let stalled = spec(&["stalled", "--target", "nats://127.0.0.1:4222"]).unwrap_err();
    assert!(
        stalled.to_string().contains("runs against chatd only"),
        "{stalled}"
    );
    for flag in [["--workers", "2"], ["--addr", "127.0.0.1:1"]] {
        let args = ["fanout", "--target", "nats://127.0.0.1", flag[0], flag[1]];
        assert!(spec(&args).is_err(), "{args:?}");
    }
    let orphan = spec(&["fanout", "--server-pid", "42"]).unwrap_err();
    assert!(
        orphan.to_string().contains("--server-pid needs"),
        "{orphan}"
    );
}

#[test]
fn spawn_takes_a_path_or_none() {
    let next_to_us = Cli::try_parse_from(["chatd-bench", "fanout", "--spawn"]).unwrap();
    let Command::Fanout { common, .. } = next_to_us.workload else {
        panic!("not fanout");
    };
    assert_eq!(common.spawn, Some(PathBuf::new()));
    let given = Cli::try_parse_from(["chatd-bench", "fanout", "--spawn", "/bin/chatd"]);
    let Command::Fanout { common, .. } = given.unwrap().workload else {
        panic!("not fanout");
    };
    assert_eq!(common.spawn, Some(PathBuf::from("/bin/chatd")));
}

#[test]
fn every_rooms_knob_has_a_flag() {
    let args = [
        "rooms",
        "--rooms",
        "3",
        "--members",
        "4",
        "--senders",
        "1",
        "--messages",
        "50",
        "--size",
        "40",
    ];
    let want = Rooms {
        rooms: 3,
        members: 4,
        senders: 1,
        messages: 50,
        size: 40,
    };
    assert_eq!(workload(&args), Workload::Rooms(want));
}

#[test]
fn issue_17_each_transport_given_makes_a_run() {
    let cli = Cli::try_parse_from(["chatd-bench", "fanout", "--transport", "tcp,ws,mix,ws"]);
    let (specs, _) = cli.unwrap().workload.into_specs().unwrap();
    let transports: Vec<Transports> = specs.iter().map(|s| s.generator.transports).collect();
    assert_eq!(transports, Transports::ALL[..3]);
    let rows: Vec<String> = specs.iter().map(RunSpec::row_name).collect();
    assert_eq!(rows, ["fan-out", "fan-out (ws)", "fan-out (mix)"]);
    // TCP by default.
    let tcp = spec(&["fanout"]).unwrap();
    assert_eq!(tcp.generator.transports, Transports::Tcp);
    assert!(spec(&["fanout", "--transport", "udp"]).is_err());
}

#[test]
fn issue_17_websocket_runs_need_chatd_and_its_web_address() {
    let with_web = spec(&[
        "fanout",
        "--addr",
        "127.0.0.1:7000",
        "--web",
        "127.0.0.1:7001",
        "--transport",
        "ws",
    ])
    .unwrap();
    let web = Some("127.0.0.1:7001".parse().unwrap());
    assert!(matches!(with_web.target, TargetSpec::External { web: w, .. } if w == web));
    let chatd = spec(&[
        "fanout",
        "--target",
        "chatd://127.0.0.1:7000",
        "--web",
        "127.0.0.1:7001",
    ]);
    assert_eq!(chatd.unwrap().target, with_web.target);
    for (args, says) in [
        (
            &["fanout", "--addr", "127.0.0.1:7000", "--transport", "mix"][..],
            "needs its web listener's address: give --web HOST:PORT",
        ),
        (
            &[
                "fanout",
                "--target",
                "nats://127.0.0.1",
                "--transport",
                "ws",
            ][..],
            "--transport ws runs against chatd only",
        ),
        (
            &[
                "fanout",
                "--target",
                "redis://127.0.0.1",
                "--web",
                "127.0.0.1:1",
            ][..],
            "--web names a chatd's web listener",
        ),
        (
            &["fanout", "--web", "127.0.0.1:1"][..],
            "--web needs --addr",
        ),
    ] {
        let error = spec(args).unwrap_err().to_string();
        assert!(error.contains(says), "{args:?}: {error}");
    }
    assert!(spec(&["fanout", "--spawn", "--web", "127.0.0.1:1"]).is_err());
}

fn specs(args: &[&str]) -> anyhow::Result<Vec<RunSpec>> {
    let cli = Cli::try_parse_from(["chatd-bench"].iter().chain(args))?;
    cli.workload.into_specs().map(|(specs, _)| specs)
}

#[test]
fn issue_18_tls_runs_plain_and_tls_against_servers_alike() {
    let both = specs(&["fanout", "--tls"]).unwrap();
    let transports: Vec<Transports> = both.iter().map(|s| s.generator.transports).collect();
    assert_eq!(transports, [Transports::Tcp, Transports::Tls]);
    let rows: Vec<String> = both.iter().map(RunSpec::row_name).collect();
    assert_eq!(rows, ["fan-out", "fan-out (tls)"]);
    // Both servers get a certificate, so the two rows differ only in the clients' transport.
    assert!(both.iter().all(|s| s.server.tls), "{both:?}");
    assert_eq!(
        specs(&["idle", "--tls", "--spawn", "/bin/chatd"]).unwrap()[1].row_name(),
        "idle 10.0k (tls)"
    );
    // A WebSocket row's server keeps its web listener plain, which its clients speak.
    let ws = specs(&["fanout", "--transport", "ws,tls"]).unwrap();
    assert_eq!(
        ws.iter().map(|s| s.server.tls).collect::<Vec<_>>(),
        [false, true]
    );
    // Without TLS, no certificate.
    assert!(!spec(&["fanout"]).unwrap().server.tls);
    assert!(spec(&["fanout", "--tls", "--transport", "tcp"]).is_err());
}

#[test]
fn issue_18_tls_against_a_running_server_needs_its_tls_address() {
    let external = specs(&[
        "fanout",
        "--addr",
        "127.0.0.1:7000",
        "--tls-addr",
        "localhost:6697",
        "--ca",
        "/etc/chatd/ca.pem",
        "--tls",
    ])
    .unwrap();
    let TargetSpec::External { tls: Some(tls), .. } = &external[1].target else {
        panic!("{:?}", external[1].target);
    };
    assert_eq!(tls.host, "localhost");
    assert_eq!(
        tls.ca.as_deref(),
        Some(std::path::Path::new("/etc/chatd/ca.pem"))
    );
    assert_eq!(tls.addr.port(), 6697);
    for (args, says) in [
        (
            &["fanout", "--addr", "127.0.0.1:7000", "--tls"][..],
            "needs its TLS listener's address: give --tls-addr HOST:PORT",
        ),
        (
            &["fanout", "--tls-addr", "127.0.0.1:6697"][..],
            "--tls-addr needs --addr",
        ),
        (
            &[
                "fanout",
                "--target",
                "nats://127.0.0.1",
                "--transport",
                "tls",
            ][..],
            "--transport tls runs against chatd only",
        ),
        (
            &[
                "fanout",
                "--target",
                "redis://127.0.0.1",
                "--tls-addr",
                "127.0.0.1:1",
            ][..],
            "--tls-addr names a chatd's TLS listener",
        ),
    ] {
        let error = spec(args).unwrap_err().to_string();
        assert!(error.contains(says), "{args:?}: {error}");
    }
    // --ca says what to trust at --tls-addr: alone it means nothing.
    assert!(spec(&["fanout", "--ca", "/etc/chatd/ca.pem"]).is_err());
}

#[test]
fn issue_19_nodes_run_one_process_and_the_nodes_of_the_same_binary() {
    let runs = specs(&[
        "paced",
        "--nodes",
        "3",
        "--spawn",
        "/opt/chatd",
        "--nats-server",
        "/bin/true",
        "--workers",
        "4",
    ])
    .unwrap();
    let targets: Vec<&TargetSpec> = runs.iter().map(|s| &s.target).collect();
    let nodes = NodesSpec {
        chatd: PathBuf::from("/opt/chatd"),
        nodes: 3,
        nats_server: PathBuf::from("/bin/true"),
    };
    assert_eq!(
        targets,
        [
            &TargetSpec::Spawn(PathBuf::from("/opt/chatd")),
            &TargetSpec::Nodes(nodes)
        ]
    );
    // The same total workers; the row names tell them apart.
    assert!(runs.iter().all(|s| s.server.workers == 4));
    assert_eq!(runs[0].title(), "paced 100k workers=4");
    assert_eq!(runs[1].title(), "paced 100k (3 nodes) workers=4");
}

#[test]
fn issue_19_nodes_run_rooms_and_refuse_other_servers_and_other_transports() {
    let nodes = ["--nodes", "2", "--nats-server", "/bin/true"];
    let refused = |args: &[&str]| {
        let args: Vec<&str> = args.iter().chain(&nodes).copied().collect();
        specs(&args).unwrap_err().to_string()
    };
    let rooms: Vec<&str> = ["rooms", "--spawn", "/opt/chatd"]
        .iter()
        .chain(&nodes)
        .copied()
        .collect();
    assert!(specs(&rooms).is_ok(), "the nodes share rooms");
    for workload in ["idle", "stalled"] {
        let error = refused(&[workload, "--spawn", "/opt/chatd"]);
        assert!(error.contains("measures one process"), "{error}");
    }
    let ws = refused(&["fanout", "--spawn", "/opt/chatd", "--transport", "ws"]);
    assert!(ws.contains("over TCP"), "{ws}");
    for flag in [["--addr", "127.0.0.1:1"], ["--target", "nats://127.0.0.1"]] {
        assert!(specs(&["fanout", flag[0], flag[1], "--nodes", "2"]).is_err());
    }
    assert!(specs(&["fanout", "--nodes", "2", "--tls"]).is_err());
    assert!(specs(&["fanout", "--nodes", "1"]).is_err());
    assert!(specs(&["fanout", "--nats-server", "/bin/true"]).is_err());
    let args = [
        "fanout",
        "--nodes",
        "2",
        "--nats-server",
        "/no/such",
        "--spawn",
        "/c",
    ];
    let missing = specs(&args).unwrap_err();
    assert_eq!(missing.to_string(), "--nats-server /no/such: no such file");
}
