//! Unit tests of `nodes`: sharing the workers, reading nats-server's log, finding it, and
//! stopping what a cluster started, its store included, whether stopped or dropped.

use super::*;

#[test]
fn the_workers_are_shared_out_evenly_and_each_node_has_one() {
    assert_eq!(workers_of_nodes(4, 2), [2, 2]);
    assert_eq!(workers_of_nodes(5, 2), [3, 2]);
    assert_eq!(workers_of_nodes(7, 3), [3, 2, 2]);
    // Fewer workers than nodes: the total grows, no node goes without.
    assert_eq!(workers_of_nodes(1, 3), [1, 1, 1]);
}

#[test]
fn the_nats_address_comes_from_its_listening_line() {
    let line = "[5156] 2026/12/07 12:49:46.885174 [INF] Listening for client connections on \
                127.0.0.1:38713";
    assert_eq!(
        nats_listening_addr(line),
        Some("127.0.0.1:38713".parse().unwrap())
    );
    let ready = "[5156] 2026/12/07 12:49:46.885189 [INF] Server is ready";
    assert_eq!(nats_listening_addr(ready), None);
}

#[test]
fn a_nats_server_given_that_does_not_exist_is_named() {
    let error = find_nats_server(Some(Path::new("/nonexistent/nats-server"))).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert_eq!(
        error.to_string(),
        "--nats-server /nonexistent/nats-server: no such file"
    );
}

/// The machine's nats-server: CI installs it, and these tests need it (never skipped).
fn nats_server() -> PathBuf {
    find_nats_server(None).unwrap_or_else(|e| panic!("{e}"))
}

/// Whether process `pid` still exists (a child reaped by its stop no longer does).
fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_dropped_cluster_stops_its_nats_server_and_removes_its_store() {
    let nats = NatsServer::start(&nats_server()).unwrap();
    let (pid, store) = (nats.child.id(), nats.store.path().to_owned());
    assert!(store.join("jetstream").is_dir(), "{}", store.display());
    let cluster = Cluster {
        nats: Some(nats),
        nodes: Vec::new(),
        addrs: Vec::new(),
    };
    assert_eq!(cluster.pids(), [pid]);
    drop(cluster);
    assert!(!alive(pid), "nats-server {pid} still runs");
    assert!(!store.exists(), "{} is still there", store.display());
}

#[test]
fn a_node_that_does_not_start_fails_the_start_and_names_itself() {
    let spec = NodesSpec {
        // Exits at once without a word: never listens.
        chatd: PathBuf::from("/bin/false"),
        nodes: 2,
        nats_server: nats_server(),
    };
    let error = Cluster::start(&spec, 2, &[])
        .err()
        .expect("/bin/false never listens");
    let text = error.to_string();
    assert!(
        text.starts_with("node 1: /bin/false --workers 1 --cluster nats://127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("did not log its address"), "{text}");
}

#[test]
fn a_nats_server_that_does_not_start_says_why() {
    // A binary that runs but is no NATS server: it never says it is ready.
    let error = NatsServer::start(Path::new("/bin/true")).err().unwrap();
    assert!(
        error
            .to_string()
            .starts_with("/bin/true was not ready within"),
        "{error}"
    );
}
