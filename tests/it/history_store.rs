//! The history store over TCP (issue 15, points 2 to 4): history older than the memory ring
//! comes from the database, a restart keeps the lobby's history and never reuses an id, a
//! forgotten room's lines leave the database, and retention keeps the database bounded.
//! Each test has a data folder of its own, a real SQLite file.

use std::path::Path;

use rusqlite::Connection;

use crate::history::{Hist, all_forwards, history};
use crate::message_ids::split_id;
use crate::support::{TestClient, TestServer, with_caps};

/// A server keeping its history in `dir`, with `lines` kept per conversation.
fn server_in(dir: &Path, lines: usize) -> TestServer {
    let dir = dir.to_owned();
    TestServer::with(move |c| {
        c.ephemeral = false;
        c.data_dir = dir;
        c.history_lines = lines;
    })
}

/// Sends `ALL m<n>` for each n of `range`, then a barrier: all are queued (and recorded).
fn say(client: &mut TestClient, range: std::ops::Range<usize>) {
    for n in range {
        client.send(&format!("ALL m{n}"));
    }
    client.barrier();
}

fn texts(lines: &[Hist]) -> Vec<String> {
    lines.iter().map(|hist| hist.line.clone()).collect()
}

fn said(sender: &str, range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|n| format!("ALL {sender} m{n}")).collect()
}

/// Pages back from the latest line to the first with `BEFORE`, `page` lines at a time.
fn all_backwards(client: &mut TestClient, page: usize) -> Vec<Hist> {
    let mut seen: Vec<Hist> = history(client, &format!("HISTORY * {page}"), "*");
    loop {
        let first = seen.first().map(|hist| hist.id).expect("some history");
        let older = history(client, &format!("HISTORY * {page} BEFORE {first}"), "*");
        if older.is_empty() {
            return seen;
        }
        seen.splice(0..0, older);
    }
}

/// `STATS history_stored` and `history_unstored` once the store thread has dealt with
/// `lines` lines (it counts a batch when the batch's window is over): a deadline, not a sleep.
fn stored_and_not(server: &TestServer, lines: u64) -> (u64, u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let load = server.stats().load;
        let counts = (load.history_stored, load.history_unstored);
        if counts.0 + counts.1 >= lines || std::time::Instant::now() >= deadline {
            return counts;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

fn rows(dir: &Path, sql: &str) -> u64 {
    let connection = Connection::open(dir.join("chatd.db")).unwrap();
    connection.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn issue_15_history_older_than_the_ring_comes_from_the_store_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 10_000);
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    say(&mut ann, 0..2_500);
    bob.barrier();
    let backwards = all_backwards(&mut bob, 400);
    assert_eq!(texts(&backwards), said("ann", 0..2_500));
    assert!(backwards.windows(2).all(|w| w[0].id < w[1].id));
    let forwards = all_forwards(&mut bob, 700);
    assert_eq!(texts(&forwards), said("ann", 0..2_500));
    // A page that starts in the store and ends in the ring.
    let start = backwards[1_200].id;
    let across = history(&mut bob, &format!("HISTORY * 1000 AFTER {start}"), "*");
    assert_eq!(texts(&across), said("ann", 1_201..2_201));
}

#[test]
fn issue_15_a_restart_keeps_the_lobbys_history_and_never_reuses_an_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 10_000);
    let mut ann = server.client("ann");
    let mut bob = with_caps(&server, "bob", &["ids"]);
    bob.barrier();
    say(&mut ann, 0..1_500);
    let mut live = Vec::new();
    for _ in 0..1_500 {
        let line = bob.recv();
        let (id, rest) = split_id(&line);
        live.push((id.expect("a chat line has an id"), rest.to_owned()));
    }
    let before = history(&mut bob, "HISTORY * 1000", "*");
    drop((ann, bob));
    server.shutdown();

    let server = server_in(dir.path(), 10_000);
    let mut cat = with_caps(&server, "cat", &["ids"]);
    let after = history(&mut cat, "HISTORY * 1000", "*");
    assert_eq!(
        after, before,
        "the latest page, with its ids, as before the restart"
    );
    let everything = all_backwards(&mut cat, 1_000);
    let stored: Vec<(u64, String)> = everything.into_iter().map(|h| (h.id, h.line)).collect();
    assert_eq!(
        stored, live,
        "every line, with the id it was delivered with"
    );
    let mut dan = server.client("dan");
    dan.send("ALL after the restart");
    dan.barrier();
    let line = cat.barrier().pop().unwrap_or_else(|| cat.recv());
    let id = split_id(&line).0.expect("a chat line has an id");
    assert!(
        id > live.last().unwrap().0,
        "{line} after {:?}",
        live.last()
    );
}

#[test]
fn issue_15_a_forgotten_rooms_lines_leave_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 10_000);
    let mut ann = server.client("ann");
    ann.send("JOIN #tea");
    ann.expect("OK JOIN #tea");
    ann.barrier();
    for n in 0..1_200 {
        ann.send(&format!("MSG #tea m{n}"));
    }
    ann.barrier();
    // Older than the ring: only the store has it.
    let first = history(&mut ann, "HISTORY #tea 1000", "#tea")[0].id;
    assert_eq!(
        history(&mut ann, &format!("HISTORY #tea 5 BEFORE {first}"), "#tea").len(),
        5
    );
    ann.send("PART #tea");
    ann.expect("OK PART #tea");
    ann.send("JOIN #tea");
    ann.expect("OK JOIN #tea");
    ann.barrier();
    assert!(history(&mut ann, "HISTORY #tea", "#tea").is_empty());
    assert!(history(&mut ann, "HISTORY #tea 5 AFTER 1", "#tea").is_empty());
    drop(ann);
    server.shutdown();
    assert_eq!(
        rows(
            dir.path(),
            "SELECT count(*) FROM chunks WHERE conversation != 0"
        ),
        0
    );
}

#[test]
fn issue_15_the_database_stays_bounded_by_history_lines() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 200);
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    let size = |dir: &Path| -> u64 {
        ["chatd.db", "chatd.db-wal"]
            .iter()
            .filter_map(|name| std::fs::metadata(dir.join(name)).ok())
            .map(|meta| meta.len())
            .sum()
    };
    say(&mut ann, 0..3_000);
    bob.barrier();
    let kept = history(&mut bob, "HISTORY * 1000", "*");
    assert_eq!(
        texts(&kept),
        said("ann", 2_800..3_000),
        "the ring keeps --history-lines too"
    );
    // Let the store write what it has (a reader waits for it), then measure.
    let first = kept[0].id;
    assert!(history(&mut bob, &format!("HISTORY * 10 BEFORE {first}"), "*").len() <= 10);
    let early = size(dir.path());
    for round in 1..=5 {
        say(&mut ann, round * 3_000..(round + 1) * 3_000);
        bob.barrier();
    }
    let late = size(dir.path());
    drop((ann, bob));
    server.shutdown();
    let lobby = rows(dir.path(), "SELECT sum(lines) FROM chunks");
    // Whole chunks are deleted: up to a chunk (256 lines) and the trim's slack more.
    assert!(
        (200..=200 + 2 * 256).contains(&lobby),
        "{lobby} lines for --history-lines 200"
    );
    // Five times as many lines again: the database reuses the pages retention frees.
    assert!(late <= early * 2 + 256 * 1024, "{early} bytes, then {late}");
}

#[test]
fn issue_15_lines_older_than_history_days_are_deleted_and_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 10_000);
    let mut ann = server.client("ann");
    say(&mut ann, 0..3);
    drop(ann);
    server.shutdown();
    // Age the first chunk by 100 days, as if it had been said then: its lines' times are
    // packed as steps from the chunk's first time.
    let connection = Connection::open(dir.path().join("chatd.db")).unwrap();
    let hundred_days_ms: u64 = 100 * 24 * 3600 * 1000;
    connection
        .execute(
            "UPDATE chunks SET first_ms = first_ms - ?1, last_ms = last_ms - ?1",
            rusqlite::params![hundred_days_ms],
        )
        .unwrap();
    drop(connection);
    // A chunk of new lines after it.
    let server = server_in(dir.path(), 10_000);
    let mut ann = server.client("ann");
    say(&mut ann, 3..5);
    drop(ann);
    server.shutdown();

    // The default --history-days, 90.
    let server = server_in(dir.path(), 10_000);
    let mut bob = server.client("bob");
    let kept = history(&mut bob, "HISTORY *", "*");
    assert_eq!(texts(&kept), said("ann", 3..5));
    drop(bob);
    server.shutdown();
    assert_eq!(rows(dir.path(), "SELECT sum(lines) FROM chunks"), 2);
}

#[test]
fn issue_15_history_lines_zero_turns_history_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 0);
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    say(&mut ann, 0..10);
    bob.barrier();
    assert!(history(&mut bob, "HISTORY *", "*").is_empty());
    drop((ann, bob));
    server.shutdown();
    // The database holds the accounts (issue 16), and no line.
    assert_eq!(rows(dir.path(), "SELECT count(*) FROM chunks"), 0);
}

/// The store keeps up with a burst: every line of a lobby that outran the ring many times
/// over is there, in order, once the store has caught up (a reader waits for it).
#[test]
fn issue_15_a_burst_many_rings_long_is_stored_whole() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 100_000);
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    // Bob reads along, so that he is never a slow consumer.
    for round in 0..20 {
        say(&mut ann, round * 1_000..(round + 1) * 1_000);
        bob.barrier();
    }
    let forwards = all_forwards(&mut bob, 1_000);
    assert_eq!(forwards.len(), 20_000);
    assert_eq!(texts(&forwards), said("ann", 0..20_000));
    let stats = server.stats().load;
    assert_eq!(stats.history_unstored, 0);
    // Read back from the disk but for the ring's last thousand, which may still be on
    // their way to it.
    assert!(stats.history_stored >= 19_000, "{}", stats.history_stored);
}

#[test]
fn issue_15_a_data_folder_that_cannot_be_made_keeps_chat_going() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the folder should be: no database can be made there.
    let blocked = dir.path().join("not-a-folder");
    std::fs::write(&blocked, "a file").unwrap();
    let server = server_in(&blocked, 10_000);
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    say(&mut ann, 0..50);
    let live = bob.barrier();
    assert_eq!(live, said("ann", 0..50), "chat goes on");
    // From memory, all of it; none of it stored, and counted so.
    assert_eq!(
        texts(&history(&mut bob, "HISTORY * 100", "*")),
        said("ann", 0..50)
    );
    drop((ann, bob));
    assert_eq!(stored_and_not(&server, 50), (0, 50));
    server.shutdown();
}

/// Makes a folder and its files read-only for as long as it lives, even for root (with
/// `chattr +i` where it works; a non-root user's `chmod` otherwise), and writable again when
/// dropped, so that the folder can be removed.
struct ReadOnly {
    paths: Vec<std::path::PathBuf>,
    immutable: bool,
}

impl ReadOnly {
    fn make(dir: &Path) -> ReadOnly {
        let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.push(dir.to_owned());
        let chattr = std::process::Command::new("chattr")
            .arg("+i")
            .args(&paths)
            .status();
        let immutable = chattr.is_ok_and(|status| status.success());
        if !immutable {
            use std::os::unix::fs::PermissionsExt;
            for path in &paths {
                let mode = if path.is_dir() { 0o555 } else { 0o444 };
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
            }
        }
        ReadOnly { paths, immutable }
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        if self.immutable {
            let _ = std::process::Command::new("chattr")
                .arg("-i")
                .args(&self.paths)
                .status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            for path in &self.paths {
                let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755));
            }
        }
    }
}

#[test]
fn issue_15_a_read_only_data_folder_keeps_chat_going() {
    let dir = tempfile::tempdir().unwrap();
    let server = server_in(dir.path(), 10_000);
    let mut ann = server.client("ann");
    say(&mut ann, 0..5);
    drop(ann);
    server.shutdown();
    let read_only = ReadOnly::make(dir.path());
    // Whoever runs this can still write there (root without chattr): nothing to show.
    if std::fs::write(dir.path().join("probe"), "x").is_ok() {
        drop(read_only);
        return;
    }

    let server = server_in(dir.path(), 10_000);
    let mut ann = server.client("ann");
    let mut bob = server.client("bob");
    say(&mut ann, 5..55);
    assert_eq!(bob.barrier(), said("ann", 5..55), "chat goes on");
    // What history says is true: the lines of this run, from memory, nothing made up.
    let page = history(&mut bob, "HISTORY * 1000", "*");
    let lines = texts(&page);
    assert!(lines.ends_with(&said("ann", 5..55)), "{lines:?}");
    assert!(page.windows(2).all(|w| w[0].id < w[1].id));
    drop((ann, bob));
    assert_eq!(stored_and_not(&server, 50), (0, 50));
    server.shutdown();
    drop(read_only);
    // The database is as it was: the five lines of the first run.
    assert_eq!(rows(dir.path(), "SELECT sum(lines) FROM chunks"), 5);
}
