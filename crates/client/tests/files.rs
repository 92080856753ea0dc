//! End-to-end tests of `/send` and `/save` (issue 17) against a real server with its web
//! listener: a file sent by one client arrives as a numbered line at another, which saves a
//! byte-identical copy, never over a file; the server's refusals are told; `--plain` does
//! the same from a script, waiting for its upload before it quits.

mod common;

use std::fs;
use std::path::Path;

use chatd_testkit::{DEADLINE, TestServer};
use common::{Client, PlainChat, texts};

/// Bytes that are not all alike, so a copy that is off by a block shows.
fn content(size: usize) -> Vec<u8> {
    (0..size)
        .map(|n| u8::try_from((n * 7 + n / 251) % 256).unwrap())
        .collect()
}

fn lobby_has(client: &Client, line: &str) -> bool {
    client.has_line("lobby", line)
}

#[test]
fn issue_17_a_file_sent_to_the_lobby_is_saved_byte_identical_and_never_over_a_file() {
    let server = TestServer::with_web(|_| {});
    let mut alice = Client::start(server.addr, "alice");
    let mut bob = Client::start(server.addr, "bob");
    alice.online();
    bob.online();
    let folder = tempfile::tempdir().unwrap();
    let bytes = content(300_000);
    let path = folder.path().join("holiday photo.png");
    fs::write(&path, &bytes).unwrap();
    alice.enter(&format!("/send {}", path.display()));
    alice.until("the upload's end", |c| {
        lobby_has(c, "-!- sent holiday photo.png (300.0 kB)")
    });
    assert!(lobby_has(
        &alice,
        "--- sending holiday photo.png (300.0 kB): 100 %"
    ));
    let offered = "[1] alice sent holiday photo.png (300.0 kB) — /save 1";
    bob.until("the file", |c| lobby_has(c, offered));
    let saves = tempfile::tempdir().unwrap();
    let into = saves.path().display().to_string();
    bob.enter(&format!("/save 1 {into}"));
    let saved = saves.path().join("holiday photo.png");
    let told = format!("-!- saved [1] holiday photo.png as {}", saved.display());
    bob.until("the download's end", |c| lobby_has(c, &told));
    assert!(fs::read(&saved).unwrap() == bytes, "not the same bytes");
    // Again: a file of that name is there, so the copy takes the next name.
    bob.enter(&format!("/save 1 {into}"));
    let again = saves.path().join("holiday photo (1).png");
    let told = format!("-!- saved [1] holiday photo.png as {}", again.display());
    bob.until("the second download", |c| lobby_has(c, &told));
    assert!(fs::read(&again).unwrap() == bytes, "not the same bytes");
    assert!(fs::read(&saved).unwrap() == bytes, "the first copy changed");
    assert_eq!(
        names_in(saves.path()),
        ["holiday photo (1).png", "holiday photo.png"]
    );
}

#[test]
fn issue_17_a_file_sent_in_a_room_arrives_in_the_rooms_tab() {
    let server = TestServer::with_web(|_| {});
    let mut alice = Client::start(server.addr, "alice");
    let mut bob = Client::start(server.addr, "bob");
    alice.online();
    bob.online();
    for client in [&mut alice, &mut bob] {
        client.enter("/join #files");
        client.until("the join", |c| {
            c.tab_of("#files")
                .is_some_and(|tab| !c.app.tabs[tab].members.is_empty())
        });
    }
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("notes.txt");
    fs::write(&path, b"three\nlines\nhere\n").unwrap();
    // alice's room tab is shown: the file goes to the room.
    alice.enter(&format!("/send {}", path.display()));
    alice.until("the upload's end", |c| {
        c.has_line("#files", "-!- sent notes.txt (17 bytes)")
    });
    let offered = "[1] alice sent notes.txt (17 bytes) — /save 1";
    bob.until("the file", |c| c.has_line("#files", offered));
    assert!(!lobby_has(&bob, offered));
    let saves = tempfile::tempdir().unwrap();
    let target = saves.path().join("mine.txt");
    bob.enter(&format!("/save 1 {}", target.display()));
    let told = format!("-!- saved [1] notes.txt as {}", target.display());
    bob.until("the download's end", |c| c.has_line("#files", &told));
    assert_eq!(fs::read(&target).unwrap(), b"three\nlines\nhere\n");
}

#[test]
fn issue_17_a_refused_upload_is_told_with_the_servers_reason() {
    let server = TestServer::with_web(|config| config.max_file_size = 10);
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("big.bin");
    fs::write(&path, content(100)).unwrap();
    alice.enter(&format!("/send {}", path.display()));
    let refused = "!!! big.bin not sent: a file has at most 10 bytes on this server, not 100 \
                   (FILE_TOO_LARGE)";
    alice.until("the refusal", |c| lobby_has(c, refused));
    // The refusal is told once, in the upload's words, and nothing else was said of it.
    let lobby = texts(&alice.app, 0);
    assert_eq!(
        lobby.iter().filter(|l| l.contains("big.bin")).count(),
        1,
        "{lobby:?}"
    );
    // The client goes on: a file that fits is sent.
    let small = folder.path().join("small.bin");
    fs::write(&small, content(10)).unwrap();
    alice.enter(&format!("/send {}", small.display()));
    alice.until("the upload's end", |c| {
        lobby_has(c, "-!- sent small.bin (10 bytes)")
    });
}

#[test]
fn issue_17_a_server_without_a_web_listener_takes_no_files() {
    let server = TestServer::start();
    let mut alice = Client::start(server.addr, "alice");
    alice.online();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("a.txt");
    fs::write(&path, b"abc").unwrap();
    alice.enter(&format!("/send {}", path.display()));
    let refused = "!!! a.txt not sent: this server takes no files: its web listener is off \
                   (NO_FILES)";
    alice.until("the refusal", |c| lobby_has(c, refused));
    alice.enter(&format!(
        "/send {}",
        folder.path().join("none.txt").display()
    ));
    let missing = format!(
        "!!! {} not sent: no such file or folder",
        folder.path().join("none.txt").display()
    );
    alice.until("the missing file", |c| lobby_has(c, &missing));
}

#[test]
fn issue_17_plain_sends_a_file_before_it_quits_and_saves_one() {
    let server = TestServer::with_web(|_| {});
    let mut bob = PlainChat::spawn(server.addr, "bob");
    bob.expect_line("OK NICK bob");
    let folder = tempfile::tempdir().unwrap();
    let bytes = content(70_000);
    let path = folder.path().join("report.pdf");
    fs::write(&path, &bytes).unwrap();
    // The input ends right after `/send`: the run waits for the upload before its `QUIT`.
    let mut alice = PlainChat::spawn(server.addr, "alice");
    alice.expect_line("OK NICK alice");
    alice.type_line(&format!("/send {}", path.display()));
    alice.close_stdin();
    alice.expect_note("chat: sending report.pdf (70.0 kB)");
    alice.expect_note("chat: sent report.pdf (70.0 kB)");
    let answers = alice.lines_until("BYE");
    assert!(answers[0].starts_with("OK UPLOAD http://"), "{answers:?}");
    assert!(answers[1].starts_with("OK FILE http://"), "{answers:?}");
    assert!(alice.wait().success());
    let file = loop {
        let line = bob.stdout.recv_timeout(DEADLINE).expect("a FILE line");
        if line.starts_with("FILE ") {
            break line;
        }
    };
    // `--plain` asks `CAP files`: a file to everyone says so.
    assert!(file.starts_with("FILE * alice 70000 http://"), "{file}");
    assert!(file.ends_with(" report.pdf"), "{file}");
    bob.expect_note("chat: [1] alice sent report.pdf (70.0 kB): /save 1");
    let saves = tempfile::tempdir().unwrap();
    bob.type_line(&format!("/save 1 {}", saves.path().display()));
    let saved = saves.path().join("report.pdf");
    bob.expect_note(&format!(
        "chat: saved [1] report.pdf as {}",
        saved.display()
    ));
    assert!(fs::read(&saved).unwrap() == bytes, "not the same bytes");
    bob.close_stdin();
    bob.expect_line("BYE");
    assert!(bob.wait().success());
}

fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}
