//! Files on disk (issue 17): whatever name a client sends, nothing lands outside the files'
//! folder; files and their expiry outlive a restart, and a start cleans up what an
//! interrupted upload left; a disk that refuses the bytes fails the upload, not the chat.

use std::net::SocketAddr;
use std::time::Duration;

use crate::file_support::{
    announce, eventually, file_line, get, listing, put, random_bytes, send_file,
};
use crate::support::{ChatdProcess, TestClient, TestServer};

/// Whether `name` is one the server itself gives a file in its folder: a token's 32 hex
/// digits, with `.meta` for its description.
fn is_token_name(name: &str) -> bool {
    let token = name.strip_prefix("files/").unwrap_or(name);
    let token = token.strip_suffix(".meta").unwrap_or(token);
    token.len() == 32
        && token
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[test]
fn issue_17_no_name_a_client_sends_escapes_the_files_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = {
        let data = data.clone();
        TestServer::with_web(move |config| {
            config.ephemeral = false;
            config.data_dir = data;
        })
    };
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    alice.barrier();
    let long = format!("{}.txt", "é".repeat(125));
    let names = [
        "a\\b",
        "..\\..\\..\\x",
        "%2F..%2F..%2Fx",
        "%2e%2e",
        ".hidden",
        "...",
        "CON",
        "two  spaces ",
        "été 😀 ملف.txt",
        long.as_str(),
    ];
    for name in names {
        let bytes = random_bytes(100);
        let url = send_file(&mut alice, "bob", &bytes, name);
        let (from, size, link, said) = file_line(&bob.recv());
        assert_eq!(
            (from.as_str(), size, link.as_str()),
            ("alice", 100, url.as_str())
        );
        assert_eq!(said, name);
        assert!(get(&url).body == bytes, "{name:?}");
    }
    for name in ["../../x", "..", ".", "a/b", "/etc/passwd", "a\0b"] {
        alice.send(&format!("UPLOAD bob 1 {name}"));
        alice.expect_err("BAD_FILE_NAME");
    }
    // Only the server's own names, all in the folder it chose.
    let everything = listing(dir.path());
    let outside: Vec<&String> = everything
        .iter()
        .filter(|name| {
            let name = name.strip_prefix("data/").unwrap_or(name);
            !(name == "data"
                || name.starts_with("chatd.")
                || name == "files"
                || name == "files/tmp"
                || is_token_name(name))
        })
        .collect();
    assert!(outside.is_empty(), "{outside:?} in {everything:#?}");
    let files = listing(&data.join("files"));
    assert_eq!(files.len(), 1 + 2 * names.len(), "{files:#?}");
}

/// A server in `data` on `addr`'s port (0: any), its files living `lifetime` and limited to
/// `quota` bytes.
fn restartable(data: &std::path::Path, lifetime: Duration, quota: usize) -> TestServer {
    let data = data.to_owned();
    TestServer::start_restartable_with(move |config| {
        config.http = Some("127.0.0.1:0".parse().unwrap());
        config.ephemeral = false;
        config.data_dir = data.clone();
        config.file_lifetime = lifetime;
        config.max_file_size = quota;
        config.file_quota = quota;
    })
}

#[test]
fn issue_17_files_and_their_expiry_outlive_a_restart_and_a_start_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let server = restartable(dir.path(), Duration::from_secs(5), 1000);
    let mut alice = server.client("alice");
    let bytes = random_bytes(1000);
    let url = send_file(&mut alice, "*", &bytes, "kept.bin");
    // An upload under way when the server stops.
    let partial = announce(&mut alice, "*", 0, "never");
    drop(alice);
    server.shutdown();
    std::fs::write(
        dir.path()
            .join("files/tmp/0123456789abcdef0123456789abcdef"),
        b"half",
    )
    .unwrap();

    // Restarted with a longer lifetime: the file keeps the expiry it was given.
    let server = restartable(dir.path(), Duration::from_secs(3600), 1000);
    assert_eq!(listing(&dir.path().join("files/tmp")), [] as [&str; 0]);
    let path = &url[url.find("/files/").unwrap()..];
    let url = format!("http://{}{path}", server.web_addr());
    let download = get(&url);
    assert_eq!(download.status, 200);
    assert!(download.body == bytes);
    let path = &partial[partial.find("/upload/").unwrap()..];
    assert_eq!(
        put(&format!("http://{}{path}", server.web_addr()), b"").status,
        404
    );
    // Its bytes count against the quota as they did before.
    let mut alice = server.client("alice");
    alice.send("UPLOAD * 1 more");
    alice.expect_err("QUOTA");
    eventually("the file expires as it would have", || {
        get(&url).status == 404
    });
    eventually("its bytes come back", || {
        alice.send("UPLOAD * 1000 more");
        alice.recv().starts_with("OK UPLOAD ")
    });
    eventually("it is deleted", || {
        listing(&dir.path().join("files")) == ["tmp"]
    });
}

/// A client of the process at `addr`, registered as `nick`.
fn client_at(addr: SocketAddr, nick: &str) -> TestClient {
    crate::support::registered_at(addr, nick, &[])
}

#[test]
fn issue_17_a_disk_that_refuses_the_bytes_fails_the_upload_not_the_chat() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    // Files of at most 256 KiB: a disk that fills up.
    let process = ChatdProcess::spawn_limited(&["--data-dir", data], Some("ulimit -f 256"));
    let mut alice = client_at(process.addr, "alice");
    let mut bob = client_at(process.addr, "bob");
    alice.barrier();

    let url = announce(&mut alice, "bob", 1 << 20, "big.bin");
    let answer = put(&url, &random_bytes(1 << 20));
    assert_eq!(answer.status, 507, "{}", answer.text());
    assert!(
        answer
            .text()
            .starts_with("the server could not store the file ("),
        "{}",
        answer.text()
    );
    alice.expect_nothing_more();
    bob.expect_nothing_more();
    assert_eq!(listing(&dir.path().join("files/tmp")), [] as [&str; 0]);

    // The chat goes on, and so do files that fit.
    alice.send("ALL still here");
    bob.expect("ALL alice still here");
    let small = send_file(&mut alice, "bob", b"small", "small.txt");
    bob.expect(&format!("FILE alice 5 {small} small.txt"));
    assert_eq!(get(&small).body, b"small");
}
