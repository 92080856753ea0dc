//! The line protocol over the web listener's `/ws` (issue 17): WebSocket clients in the one
//! client table with TCP clients, the same limits, and bad frames answered or closed with a
//! reason while everyone else chats on.

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

use chatd_testkit::{TestServer, WsClient, WsEnd};
use tungstenite::Message;

use crate::file_support::eventually;

#[test]
fn issue_17_a_websocket_client_and_a_tcp_client_chat_in_one_order() {
    let server = TestServer::with_web(|_| {});
    let web = server.web_addr();
    let mut tcp = server.client("nc_user");
    let mut browser = WsClient::client(web, "browser");
    tcp.expect("JOIN browser");

    browser.send("ALL hello from a browser");
    tcp.expect("ALL browser hello from a browser");
    tcp.send("ALL hello from nc");
    browser.expect("ALL nc_user hello from nc");
    browser.send("MSG nc_user psst");
    tcp.expect("MSG browser psst");
    tcp.send("MSG browser back");
    browser.expect("MSG nc_user back");

    // A sender of each transport, a watcher of each: both watchers see one order.
    let mut tcp_watcher = server.client("tcp_watcher");
    let mut ws_watcher = WsClient::client(web, "ws_watcher");
    tcp_watcher.expect("JOIN ws_watcher");
    for n in 0..200 {
        tcp.send(&format!("ALL t{n}"));
        browser.send(&format!("ALL w{n}"));
    }
    let tcp_order: Vec<String> = (0..400).map(|_| tcp_watcher.recv()).collect();
    let ws_order: Vec<String> = (0..400).map(|_| ws_watcher.recv()).collect();
    assert_eq!(tcp_order, ws_order, "one order for both transports");
    let from = |sender: &str| {
        tcp_order
            .iter()
            .filter(|line| line.starts_with(&format!("ALL {sender} ")))
            .count()
    };
    assert_eq!((from("nc_user"), from("browser")), (200, 200));
    tcp_watcher.expect_nothing_more();
    assert!(ws_watcher.barrier().is_empty());
}

#[test]
fn issue_17_a_websocket_client_that_leaves_is_announced_as_a_tcp_one() {
    let server = TestServer::with_web(|_| {});
    let mut tcp = server.client("stays");
    let browser = WsClient::client(server.web_addr(), "leaves");
    tcp.expect("JOIN leaves");
    drop(browser);
    let quit = tcp.recv();
    assert!(quit.starts_with("QUIT leaves"), "{quit}");
    // Its place is given back when its socket's last handle drops, after its writer ended:
    // a moment after the announcement, which the connection's end makes.
    eventually("the place given back", || {
        server.stats().load.connections == 1
    });
}

#[test]
fn issue_17_bad_frames_are_closed_with_a_reason_and_nobody_else_notices() {
    let server = TestServer::with_web(|config| config.max_line = 512);
    let web = server.web_addr();
    let mut tcp = server.client("witness");

    let mut binary = WsClient::client(web, "binary");
    binary.send_message(Message::binary(b"ALL hi".to_vec()));
    let (_, end) = binary.until_end();
    assert_eq!(
        end,
        WsEnd::Closed {
            code: 1003,
            reason: "text frames only, one line each".into()
        }
    );

    let mut two_lines = WsClient::client(web, "two_lines");
    two_lines.send("ALL one\nALL two");
    let (lines, end) = two_lines.until_end();
    assert!(lines.is_empty(), "nothing of it ran: {lines:?}");
    assert_eq!(
        end,
        WsEnd::Closed {
            code: 1007,
            reason: "one line per frame: no line break inside".into()
        }
    );

    // Longer than --max-line but within the frame limit: the TCP answer, and chat goes on.
    let mut long = WsClient::client(web, "long");
    long.send(&format!("ALL {}", "x".repeat(600)));
    long.expect_err("LINE_TOO_LONG");
    long.send("ALL still here");
    long.barrier();

    // Beyond the frame limit: closed, with the code for a message too big.
    let mut huge = WsClient::client(web, "huge");
    huge.send(&format!("ALL {}", "x".repeat(512 + 70 * 1024)));
    let (_, end) = huge.until_end();
    assert!(
        matches!(end, WsEnd::Closed { code: 1009, .. } | WsEnd::Dropped),
        "{end:?}"
    );

    // A trailing line ending is the line's end, not a second line.
    let mut tidy = WsClient::client(web, "tidy");
    tidy.send("ALL with an ending\r\n");
    tidy.barrier();

    let mut seen = Vec::new();
    for line in tcp.barrier() {
        if line.starts_with("ALL ") {
            seen.push(line);
        }
    }
    // The barrier may come before the later lines reach it: wait for the last one.
    while !seen.iter().any(|line| line == "ALL tidy with an ending") {
        seen.push(tcp.recv());
    }
    let chat: Vec<&String> = seen
        .iter()
        .filter(|line| line.starts_with("ALL "))
        .collect();
    assert_eq!(
        chat,
        ["ALL long still here", "ALL tidy with an ending"],
        "only the good lines ran"
    );
    tcp.send("ALL witness still chats");
    let mut other = WsClient::client(web, "later");
    other.send("ALL and so do new ones");
    other.barrier();
}

#[test]
fn issue_17_the_per_address_limit_counts_websocket_and_tcp_clients_together() {
    let server = TestServer::with_web(|config| {
        config.max_per_ip = 2;
        config.max_per_ip_loopback = true;
    });
    let _tcp = server.client("one");
    let _browser = WsClient::client(server.web_addr(), "two");
    let mut third = WsClient::connect_raw(server.web_addr());
    third.expect_err("TOO_MANY_CONNECTIONS");
    let (_, end) = third.until_end();
    assert_eq!(
        end,
        WsEnd::Closed {
            code: 1000,
            reason: "closed by the server".into()
        }
    );
    let mut fourth = TcpStream::connect(server.addr).unwrap();
    fourth
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut refusal = String::new();
    fourth.read_to_string(&mut refusal).unwrap();
    assert!(
        refusal.starts_with("ERR TOO_MANY_CONNECTIONS "),
        "{refusal:?}"
    );
}

#[test]
fn issue_17_a_websocket_client_that_reads_nothing_delays_nobody() {
    let server = TestServer::with_web(|config| config.send_queue = 64 * 1024);
    let web = server.web_addr();
    let mut stalled = WsClient::client(web, "stalled");
    let mut reader = server.client("reader");
    let mut sender = WsClient::client(web, "sender");
    reader.expect("JOIN sender");
    stalled.barrier();
    // 8 MiB for everyone: far beyond what the stalled client's queue, its pair and its
    // socket can hold, so it is cut, while the others get every line.
    let payload = "p".repeat(1000);
    let mut cut = false;
    for n in 0..8_000 {
        sender.send(&format!("ALL {n} {payload}"));
        let line = reader.recv();
        if line.starts_with("QUIT stalled") {
            cut = true;
            assert!(line.contains("slow consumer"), "{line}");
            let line = reader.recv();
            assert!(line.starts_with(&format!("ALL sender {n} ")), "{line:.40}");
        } else {
            assert!(line.starts_with(&format!("ALL sender {n} ")), "{line:.40}");
        }
    }
    assert!(
        cut,
        "the client that reads nothing was cut as a slow consumer"
    );
    sender.barrier();
}

#[test]
fn issue_17_a_page_of_another_site_cannot_open_the_websocket() {
    let server = TestServer::with_web(|_| {});
    let web = server.web_addr();
    let refused = WsClient::try_connect(web, Some("http://evil.example"));
    let error = refused.err().expect("refused");
    assert!(error.contains("403"), "{error}");
    let same_site = format!("http://{web}");
    let mut client = WsClient::try_connect(web, Some(&same_site)).expect("same origin");
    assert!(client.recv().starts_with("HELLO "));
}

#[test]
fn issue_17_healthz_answers_ok_and_the_page_carries_its_policy() {
    let server = TestServer::with_web(|_| {});
    let (status, headers, body) = http_get(server.web_addr(), "/healthz");
    assert_eq!(status, 200);
    assert_eq!(body, "ok\n");
    assert!(
        headers.contains("x-content-type-options: nosniff"),
        "{headers}"
    );
    let (status, headers, body) = http_get(server.web_addr(), "/");
    assert_eq!(status, 200);
    assert!(body.starts_with("<!doctype html>"), "{body:.40}");
    assert!(
        headers.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{headers}"
    );
    let (status, _, _) = http_get(server.web_addr(), "/no-such-file");
    assert_eq!(status, 404);
}

#[test]
fn issue_17_without_a_web_listener_nothing_listens() {
    let server = TestServer::start();
    assert!(server.web.is_none());
}

/// A `GET` over a plain socket: the status, the headers (lower-cased) and the body.
pub fn http_get(web: std::net::SocketAddr, path: &str) -> (u16, String, String) {
    use std::io::Write;
    let mut stream = TcpStream::connect(web).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {web}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn issue_17_metrics_count_connections_by_transport_in_the_prometheus_format() {
    let server = TestServer::with_web(|_| {});
    let mut tcp = server.client("tcp_one");
    let mut browser = WsClient::client(server.web_addr(), "ws_one");
    tcp.send("ALL counted");
    browser.expect("ALL tcp_one counted");
    // A turn counts its lines when it ends: a barrier's PONG proves the turns before its
    // PING have ended (and been counted), not the PING's own.
    tcp.barrier();
    browser.barrier();
    let (status, headers, body) = http_get(server.web_addr(), "/metrics");
    assert_eq!(status, 200);
    assert!(
        headers.contains("content-type: application/openmetrics-text"),
        "{headers}"
    );
    for expected in [
        "chatd_connections{transport=\"tcp\"} 1\n",
        "chatd_connections{transport=\"websocket\"} 1\n",
        "chatd_registered_clients 2\n",
        "# TYPE chatd_lines_in counter\n",
        "# TYPE chatd_deliveries_out counter\n",
        "chatd_slow_consumers_cut_total 0\n",
        "chatd_history_store_lag_lines ",
        "chatd_logins_failed_total 0\n",
        "chatd_uploads_total 0\n",
        "chatd_fanout_latency_seconds{quantile=\"0.99\"} ",
        "# EOF\n",
    ] {
        assert!(body.contains(expected), "{expected:?} not in:\n{body}");
    }
    let lines_in: u64 = body
        .lines()
        .find_map(|line| line.strip_prefix("chatd_lines_in_total "))
        .expect("lines in")
        .parse()
        .unwrap();
    assert!(
        lines_in >= 3,
        "both NICKs and the ALL, whose turns ended before the barriers: {lines_in}"
    );
}
