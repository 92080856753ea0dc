//! Files over the web listener (issue 17): `UPLOAD`, the `PUT` of its bytes, `FILE` lines to
//! the recipients of the lobby, a room or a person (with ids and in history, like `MSG`),
//! `OK FILE` to the sender, and downloads byte for byte with the headers of an attachment.
//! Limits and failures are in `files_limits`, the folder and restarts in `files_disk`.

use chatd_testkit::WsClient;

use crate::account_support::registered;
use crate::file_support::{announce, file_line, get, head, put, random_bytes, send_file, server};

#[test]
fn issue_17_a_lobby_file_reaches_everyone_else_with_its_id_and_in_history() {
    let server = server(|_| {});
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    bob.send("CAP ids");
    bob.expect("OK CAP ids");
    // A client of v1 that never heard of files gets the line as it is.
    let mut carol = server.client("carol");
    alice.barrier();
    bob.barrier();

    let bytes = random_bytes(1 << 20);
    let url = send_file(&mut alice, "*", &bytes, "holiday photo.jpg");
    assert!(
        url.starts_with(&format!("http://{}/files/", server.web_addr())),
        "{url}"
    );
    assert!(url.ends_with("/holiday%20photo.jpg"), "{url}");
    let stamped = bob.recv();
    let (id, line) = stamped.strip_prefix('@').unwrap().split_once(' ').unwrap();
    let expected = format!("FILE alice 1048576 {url} holiday photo.jpg");
    assert_eq!(line, expected);
    carol.expect(&expected);
    alice.expect_nothing_more();

    let download = get(&url);
    assert_eq!(download.status, 200);
    assert!(
        download.body == bytes,
        "the download is the upload, byte for byte"
    );

    bob.send("HISTORY * 5");
    let hist = bob.recv();
    let prefix = format!("HIST * {id} ");
    assert!(hist.starts_with(&prefix), "{hist}");
    assert!(hist.ends_with(&format!("Z {expected}")), "{hist}");
    bob.expect("END HISTORY * 1");
}

#[test]
fn issue_17_a_lobby_file_says_so_to_cap_files_clients_and_a_direct_one_does_not() {
    let server = server(|_| {});
    let mut alice = server.client("alice");
    let mut dave = server.client("dave");
    dave.send("CAP files");
    dave.expect("OK CAP files");
    let mut carol = server.client("carol");
    alice.barrier();
    dave.barrier();

    let url = send_file(&mut alice, "*", b"for everyone", "all.txt");
    dave.expect(&format!("FILE * alice 12 {url} all.txt"));
    carol.expect(&format!("FILE alice 12 {url} all.txt"));
    let url = send_file(&mut alice, "dave", b"for dave", "dave.txt");
    dave.expect(&format!("FILE alice 8 {url} dave.txt"));
    // History keeps the contract's line: its HIST target says where it was.
    dave.send("HISTORY * 5");
    let hist = dave.recv();
    assert!(hist.starts_with("HIST * "), "{hist}");
    assert!(hist.contains("Z FILE alice 12 "), "{hist}");
    dave.expect("END HISTORY * 1");
    carol.expect_nothing_more();
}

#[test]
fn issue_17_a_room_file_reaches_its_members_only() {
    let server = server(|_| {});
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    let mut outsider = server.client("outsider");
    for client in [&mut alice, &mut bob] {
        client.barrier();
        client.send("JOIN #tea");
        client.expect("OK JOIN #tea");
        client.barrier();
    }
    alice.barrier();
    outsider.barrier();

    let bytes = random_bytes(3000);
    let url = send_file(&mut alice, "#Tea", &bytes, "notes.txt");
    let line = bob.recv();
    assert_eq!(line, format!("FILE #tea alice 3000 {url} notes.txt"));
    let parts = (
        String::from("alice"),
        3000,
        url.clone(),
        String::from("notes.txt"),
    );
    assert_eq!(file_line(&line), parts);
    outsider.expect_nothing_more();
    assert!(get(&url).body == bytes);

    bob.send("HISTORY #tea");
    assert!(bob.recv().ends_with(&line));
    bob.expect("END HISTORY #tea 1");
    outsider.send("HISTORY #tea");
    outsider.expect_err("NOT_IN_ROOM");
    // Not a member: refused as MSG #tea would be.
    outsider.send("UPLOAD #tea 1 x");
    outsider.expect("ERR NOT_IN_ROOM you are not in #tea");
    outsider.send("UPLOAD #nowhere 1 x");
    outsider.expect_err("NO_SUCH_ROOM");
}

#[test]
fn issue_17_a_direct_file_reaches_its_one_recipient_and_both_accounts_histories() {
    let server = server(|_| {});
    let mut alice = registered(&server, "alice");
    let mut bob = registered(&server, "bob");
    let mut carol = server.client("carol");
    alice.barrier();
    bob.barrier();

    let url = send_file(&mut alice, "BOB", b"psst", "secret.txt");
    let line = format!("FILE alice 4 {url} secret.txt");
    bob.expect(&line);
    carol.expect_nothing_more();
    alice.send("UPLOAD nobody 1 x");
    alice.expect("ERR NO_SUCH_NICK no one called nobody is online");

    for (client, peer) in [(&mut alice, "bob"), (&mut bob, "alice")] {
        client.send(&format!("HISTORY {peer}"));
        let hist = client.recv();
        assert!(hist.starts_with(&format!("HIST {peer} ")), "{hist}");
        assert!(hist.ends_with(&line), "{hist}");
        client.expect(&format!("END HISTORY {peer} 1"));
    }
}

#[test]
fn issue_17_an_empty_file_is_sent_and_downloads_empty() {
    let server = server(|_| {});
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    alice.barrier();
    let url = send_file(&mut alice, "bob", b"", "empty");
    bob.expect(&format!("FILE alice 0 {url} empty"));
    let download = get(&url);
    assert_eq!((download.status, download.body.len()), (200, 0));
    assert_eq!(download.header("content-length"), Some("0"));
}

#[test]
fn issue_17_a_download_is_an_attachment_with_its_name_and_nothing_a_browser_runs() {
    let server = server(|_| {});
    let mut alice = server.client("alice");
    let name = "<img src=x onerror=alert(1)> été.html";
    let url = send_file(&mut alice, "*", b"<script>alert(1)</script>", name);
    for answer in [get(&url), head(&url)] {
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(answer.header("content-length"), Some("25"));
        assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(
            answer.header("content-security-policy"),
            Some("default-src 'none'; sandbox")
        );
        assert_eq!(
            answer.header("content-disposition"),
            Some(
                "attachment; filename=\"<img src=x onerror=alert(1)> _t_.html\"; \
                 filename*=UTF-8''%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%20%C3%A9t%C3%A9.html"
            )
        );
    }
    assert!(head(&url).body.is_empty());
    // The token finds the file, whatever name follows it, or none.
    let (base, _) = url.rsplit_once('/').unwrap();
    assert_eq!(
        get(&format!("{base}/other.bin")).body,
        b"<script>alert(1)</script>"
    );
    assert_eq!(get(base).body, b"<script>alert(1)</script>");
    // Nothing else is found.
    let web = server.web_addr();
    for missing in [
        format!("http://{web}/files/0123456789abcdef0123456789abcdef/x"),
        format!("http://{web}/files/nothex/x"),
        format!("http://{web}/files/../chatd.db"),
    ] {
        assert_eq!(get(&missing).status, 404, "{missing}");
    }
}

#[test]
fn issue_17_a_websocket_client_sends_and_gets_files_too() {
    let server = server(|_| {});
    let mut tcp = server.client("nc_user");
    let mut browser = WsClient::client(server.web_addr(), "browser");
    tcp.expect("JOIN browser");
    browser.send("UPLOAD nc_user 5 hello.txt");
    let line = browser.recv();
    let upload = line.strip_prefix("OK UPLOAD ").expect("OK UPLOAD");
    assert_eq!(put(upload, b"hello").status, 201);
    let ok = browser.recv();
    let url = ok.strip_prefix("OK FILE ").expect("OK FILE");
    tcp.expect(&format!("FILE browser 5 {url} hello.txt"));

    let url = crate::file_support::send_file(&mut tcp, "browser", b"back", "back.txt");
    browser.expect(&format!("FILE nc_user 4 {url} back.txt"));
    assert_eq!(get(&url).body, b"back");
}

#[test]
fn issue_17_without_a_web_listener_upload_says_so() {
    let server = crate::support::TestServer::start();
    let mut alice = server.client("alice");
    alice.send("UPLOAD * 1 a.txt");
    alice.expect("ERR NO_FILES this server takes no files: its web listener is off");
    let mut stranger = server.connect();
    stranger.send("UPLOAD * 1 a.txt");
    stranger.expect_err("NOT_REGISTERED");
}

#[test]
fn issue_17_metrics_count_uploads_and_files_kept() {
    let server = server(|_| {});
    let mut alice = server.client("alice");
    send_file(&mut alice, "*", &random_bytes(1000), "a");
    send_file(&mut alice, "*", &random_bytes(24), "b");
    // Announced only: counted nowhere but in the quota.
    announce(&mut alice, "*", 10, "c");
    let metrics = get(&format!("http://{}/metrics", server.web_addr())).text();
    for line in [
        "chatd_uploads_total 2",
        "chatd_uploaded_bytes_total 1024",
        "chatd_files_kept 2",
        "chatd_files_kept_bytes 1024",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
}
