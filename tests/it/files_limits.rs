//! The limits on files and the ways an upload fails (issue 17): too large, over the quota,
//! a bad name, an upload URL used twice or too late, more or fewer bytes than announced, a
//! sender or a recipient gone. Whatever fails delivers nothing, leaves nothing on disk and
//! gives its share of the quota back.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use crate::file_support::{
    announce, eventually, get, listing, put, put_head, raw, read_to_close, send_file, server,
};
use crate::support::{DEADLINE, TestClient, TestServer};

/// A server keeping its files in `dir`, with files of at most `max` bytes and a quota of
/// `quota`.
fn server_in(dir: &Path, max: usize, quota: usize) -> TestServer {
    let dir = dir.to_owned();
    server(move |config| {
        config.ephemeral = false;
        config.data_dir = dir;
        config.max_file_size = max;
        config.file_quota = quota;
    })
}

/// Nothing but the empty `tmp` left in the files' folder of the data folder `dir`.
fn nothing_kept(dir: &Path) {
    assert_eq!(listing(&dir.join("files")), ["tmp"]);
}

#[test]
fn issue_17_too_large_over_the_quota_or_badly_named_is_refused_at_upload() {
    let server = server(|config| {
        config.max_file_size = 1000;
        config.file_quota = 2500;
    });
    let mut alice = server.client("alice");
    alice.send("UPLOAD * 1001 big.bin");
    alice.expect("ERR FILE_TOO_LARGE a file has at most 1000 bytes on this server, not 1001");
    announce(&mut alice, "*", 1000, "a");
    announce(&mut alice, "*", 1000, "b");
    alice.send("UPLOAD * 501 c");
    alice.expect(
        "ERR QUOTA the server has room for 500 more bytes of files now; try a smaller file, or later",
    );
    announce(&mut alice, "*", 500, "c");
    announce(&mut alice, "*", 0, "d");
    alice.send("UPLOAD * 0 e");
    alice.expect("ERR QUOTA 4 of your uploads wait for their bytes already; send those first");

    let long = "x".repeat(256);
    for (name, text) in [
        ("../../etc/passwd", "a file name cannot hold '/'"),
        ("a/b", "a file name cannot hold '/'"),
        ("..", "a file name cannot be . or .."),
        (".", "a file name cannot be . or .."),
        (long.as_str(), "a file name has at most 255 bytes, not 256"),
        (
            "a\u{1b}]0;x",
            "the file name has U+001B (a control character) at character 2; control \
             characters, line separators and bidirectional controls are not allowed",
        ),
    ] {
        alice.send(&format!("UPLOAD * 1 {name}"));
        alice.expect(&format!("ERR BAD_FILE_NAME {text}"));
    }
    alice.send("UPLOAD * 1k a");
    alice.expect("ERR BAD_ARGUMENT UPLOAD takes a size in bytes, not \"1k\"");
    alice.send("UPLOAD * 1");
    alice.expect("ERR MISSING_ARGUMENT UPLOAD needs a file name after 1; try HELP UPLOAD");
    alice.expect_nothing_more();
}

#[test]
fn issue_17_an_upload_url_is_valid_once_and_expires() {
    let server = server(|config| {
        config.max_file_size = 100;
        config.file_quota = 100;
        // The upload window is the file lifetime when that is shorter than ten minutes.
        config.file_lifetime = Duration::from_secs(1);
    });
    let mut alice = server.client("alice");
    let url = announce(&mut alice, "*", 3, "a");
    assert_eq!(put(&url, b"abc").status, 201);
    alice.recv();
    let again = put(&url, b"abc");
    assert_eq!(again.status, 404);
    assert_eq!(
        again.text(),
        "no upload at this URL: it was used or expired, or it never was\n"
    );

    // The quota is full until the announced upload's URL expires and the sweep gives its
    // bytes back.
    let late = announce(&mut alice, "*", 97, "b");
    alice.send("UPLOAD * 1 c");
    alice.expect_err("QUOTA");
    eventually("the upload URL expires and gives its bytes back", || {
        alice.send("UPLOAD * 97 d");
        alice.recv().starts_with("OK UPLOAD ")
    });
    assert_eq!(put(&late, b"x".repeat(97).as_slice()).status, 404);
}

#[test]
fn issue_17_a_file_expires_its_url_says_so_and_its_bytes_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_owned();
    let server = server(move |config| {
        config.ephemeral = false;
        config.data_dir = dir_path;
        config.max_file_size = 1000;
        config.file_quota = 1000;
        config.file_lifetime = Duration::from_secs(2);
    });
    let mut alice = server.client("alice");
    let url = send_file(&mut alice, "*", &[1; 1000], "a");
    assert_eq!(get(&url).status, 200);
    alice.send("UPLOAD * 1 b");
    alice.expect(
        "ERR QUOTA the server has room for 0 more bytes of files now; try a smaller file, or later",
    );
    eventually("the file expires", || get(&url).status == 404);
    assert_eq!(
        get(&url).text(),
        "no file at this URL: it expired, or it never was\n"
    );
    eventually("the sweep deletes it", || {
        listing(&dir.path().join("files")) == ["tmp"]
    });
    send_file(&mut alice, "*", &[2; 1000], "c");
}

#[test]
fn issue_17_more_bytes_than_announced_are_cut_off_and_nothing_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 20, 20);
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    alice.barrier();
    let web = server.web_addr();

    // Said before a byte is sent: refused before one is read.
    let url = announce(&mut alice, "bob", 10, "a");
    let head = put_head(&url, "Content-Length: 11\r\nExpect: 100-continue\r\n");
    let answer = raw(web, head.as_bytes());
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert!(answer.contains("connection: close"), "{answer}");
    assert!(
        answer.ends_with("more than the 10 bytes UPLOAD announced; nothing was sent\n"),
        "{answer}"
    );

    // Found out as they come: a chunked body, cut at the first byte too many.
    let url = announce(&mut alice, "bob", 10, "a");
    let mut request = put_head(&url, "Transfer-Encoding: chunked\r\n").into_bytes();
    request.extend_from_slice(b"f\r\n0123456789abcde\r\n0\r\n\r\n");
    let answer = raw(web, &request);
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    assert_eq!(put(&url, b"0123456789").status, 404, "the URL was used");

    alice.expect_nothing_more();
    bob.expect_nothing_more();
    nothing_kept(dir.path());
    // Both reservations came back: the whole quota is free.
    send_file(&mut alice, "bob", &[0; 20], "whole");
}

#[test]
fn issue_17_fewer_bytes_than_announced_deliver_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 20, 20);
    let mut alice = server.client("alice");
    let mut bob = server.client("bob");
    alice.barrier();
    let web = server.web_addr();

    let url = announce(&mut alice, "bob", 10, "a");
    let mut request = put_head(&url, "Content-Length: 5\r\n").into_bytes();
    request.extend_from_slice(b"01234");
    let answer = raw(web, &request);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(
        answer.ends_with("5 of the 10 bytes UPLOAD announced; nothing was sent\n"),
        "{answer}"
    );

    let url = announce(&mut alice, "bob", 10, "a");
    let mut request = put_head(&url, "Transfer-Encoding: chunked\r\n").into_bytes();
    request.extend_from_slice(b"5\r\n01234\r\n0\r\n\r\n");
    let answer = raw(web, &request);
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");

    // The client stops halfway: its body never ends.
    let url = announce(&mut alice, "bob", 10, "a");
    let mut stream = TcpStream::connect(web).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let head = put_head(&url, "Content-Length: 10\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(b"01234").unwrap();
    stream.shutdown(std::net::Shutdown::Write).unwrap();
    let answer = read_to_close(&mut stream);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400 "),
        "{answer}"
    );

    // The sweep is not needed: each upload gave its bytes back as it failed.
    send_file(&mut alice, "bob", &[0; 20], "whole");
    let line = bob.recv();
    assert!(line.starts_with("FILE alice 20 "), "{line}");
    bob.expect_nothing_more();
}

/// The answer to a `PUT` of `bytes` to `url`, sent once the server asked for them (`100
/// Continue`, which it sends when it starts reading the body), after `meanwhile` ran.
fn put_after(
    url: &str,
    web: std::net::SocketAddr,
    bytes: &[u8],
    meanwhile: impl FnOnce(),
) -> String {
    let mut stream = TcpStream::connect(web).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let head = put_head(
        url,
        &format!(
            "Content-Length: {}\r\nExpect: 100-continue\r\n",
            bytes.len()
        ),
    );
    stream.write_all(head.as_bytes()).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert_eq!(status, "HTTP/1.1 100 Continue\r\n");
    let mut blank = String::new();
    reader.read_line(&mut blank).unwrap();
    assert_eq!(blank, "\r\n");
    meanwhile();
    stream.write_all(bytes).unwrap();
    read_to_close(&mut stream)
}

fn quit(mut client: TestClient) {
    client.send("QUIT");
    client.expect("BYE");
    client.expect_closed();
}

#[test]
fn issue_17_a_sender_gone_before_or_during_its_put_gets_410_and_nothing_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 100, 100);
    let web = server.web_addr();
    let mut bob = server.client("bob");

    let mut alice = server.client("alice");
    let url = announce(&mut alice, "*", 3, "a");
    quit(alice);
    let answer = put(&url, b"abc");
    assert_eq!(answer.status, 410);
    assert_eq!(
        answer.text(),
        "the sender left the chat before the upload was complete; nothing was sent\n"
    );

    let mut alice = server.client("alice");
    let url = announce(&mut alice, "*", 3, "a");
    let answer = put_after(&url, web, b"abc", || quit(alice));
    assert!(answer.starts_with("HTTP/1.1 410 "), "{answer}");

    bob.barrier();
    bob.expect_nothing_more();
    nothing_kept(dir.path());
}

#[test]
fn issue_17_a_recipient_gone_or_a_room_left_before_the_bytes_are_there_gets_410() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 100, 100);
    let web = server.web_addr();
    let mut alice = server.client("alice");
    let bob = server.client("bob");
    alice.barrier();
    let url = announce(&mut alice, "bob", 3, "a");
    quit(bob);
    // Another takes the nick: the file was for the one that held it.
    let mut new_bob = server.client("bob");
    let answer = put(&url, b"abc");
    assert_eq!(
        (answer.status, answer.text()),
        (410, "bob left the chat; nothing was sent\n".to_owned())
    );

    let mut carol = server.client("carol");
    for client in [&mut alice, &mut carol] {
        client.barrier();
        client.send("JOIN #tea");
        client.expect("OK JOIN #tea");
    }
    alice.barrier();
    carol.barrier();
    let url = announce(&mut alice, "#tea", 3, "a");
    let answer = put_after(&url, web, b"abc", || {
        alice.send("PART #tea");
        alice.expect("OK PART #tea");
    });
    assert!(answer.starts_with("HTTP/1.1 410 "), "{answer}");
    assert!(
        answer.ends_with("the sender is no longer in #tea; nothing was sent\n"),
        "{answer}"
    );

    carol.expect("PART #tea alice");
    carol.expect_nothing_more();
    let seen = new_bob.barrier();
    assert!(
        seen.iter().all(|line| !line.starts_with("FILE")),
        "{seen:?}"
    );
    alice.expect_nothing_more();
    nothing_kept(dir.path());
}
