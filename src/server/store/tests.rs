//! Tests of the store against real SQLite files in a folder of their own: what a restart
//! reads back, the id high-water mark, forgetting a room, a database from a newer chatd,
//! no store at all, and accounts' direct lines (written, read after a barrier, trimmed, and
//! deleted with their account).

use std::sync::Arc;

use chatd_proto::{MessageId, Page, UtcMillis};

use super::*;
use crate::config::Config;
use crate::server::history_entry::now;
use crate::server::message_ids::MessageIds;

fn config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        ephemeral: false,
        ..Config::default()
    }
}

/// Opens the store in `dir` and starts it, with ids above what it recovered.
fn start(dir: &std::path::Path) -> (Store, Recovered, Arc<MessageIds>) {
    let (opened, recovered) = Opened::open(&config(dir), 1_000);
    let ids = Arc::new(MessageIds::starting_above(recovered.id_floor));
    let store = opened.start(Arc::clone(&ids)).unwrap();
    (store, recovered, ids)
}

fn record(link: &Link, ids: &MessageIds, text: &str) -> u64 {
    let id = ids.next();
    let line: crate::server::line::Line = Arc::from(format!("{text}\n"));
    assert!(link.record(id, now(), &line));
    id.get()
}

#[test]
fn a_clean_close_keeps_every_line_and_ids_start_above_the_mark() {
    let dir = tempfile::tempdir().unwrap();
    let (store, recovered, ids) = start(dir.path());
    assert!(recovered.lobby.is_empty() && recovered.lobby_complete);
    let lobby = store.link(true).unwrap();
    let long = format!("ALL ann {}", "x".repeat(300));
    let said: Vec<u64> = (0..600)
        .map(|n| {
            record(
                &lobby,
                &ids,
                &if n == 7 {
                    long.clone()
                } else {
                    format!("ALL ann m{n}")
                },
            )
        })
        .collect();
    drop(lobby);
    store.close();
    assert_eq!(store.counts(), (0, 600));

    let (store, recovered, ids) = start(dir.path());
    let lines: Vec<String> = recovered.lobby.iter().map(|e| e.line.to_string()).collect();
    assert_eq!(lines.len(), 600);
    assert_eq!(
        lines[7],
        format!("{long}\n"),
        "a line longer than a copy in the channel"
    );
    assert_eq!(lines[599], "ALL ann m599\n");
    let got: Vec<u64> = recovered.lobby.iter().map(|e| e.id.get()).collect();
    assert_eq!(got, said);
    // The mark on disk runs ahead of every id handed out before.
    assert!(recovered.id_floor >= said[599] + writer::HIGH_WATER_HEADROOM / 2);
    assert!(ids.next().get() > recovered.id_floor);
    store.close();
}

/// Lines on disk now, read through a connection of the test's own.
fn lines_on_disk(dir: &std::path::Path) -> u64 {
    let connection = rusqlite::Connection::open(dir.join(DATABASE_FILE)).unwrap();
    connection
        .query_row("SELECT coalesce(sum(lines), 0) FROM chunks", [], |row| {
            row.get(0)
        })
        .unwrap()
}

#[test]
fn a_few_lines_are_written_within_a_flush_window_while_the_server_runs() {
    // Too few to fill a chunk: the thread takes each conversation's pending chunk once a
    // window, with no line after them and no close to push them out.
    let dir = tempfile::tempdir().unwrap();
    let (store, _, ids) = start(dir.path());
    let lobby = store.link(true).unwrap();
    let tea = store.link(false).unwrap();
    record(&lobby, &ids, "ALL ann one");
    record(&tea, &ids, "MSG #tea ann two");
    record(&tea, &ids, "MSG #tea ann three");
    let deadline = std::time::Instant::now() + Config::default().history_flush * 10;
    while lines_on_disk(dir.path()) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} of 3 lines written",
            lines_on_disk(dir.path())
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // A full chunk goes to the thread at once; the line after it begins the next, which the
    // next window takes.
    for n in 0..CHUNK_LINES + 1 {
        record(&tea, &ids, &format!("MSG #tea bob m{n}"));
    }
    while lines_on_disk(dir.path()) < 3 + CHUNK_LINES as u64 + 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "the chunks are written"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(store.counts(), (0, 3 + CHUNK_LINES as u64 + 1));
    drop((lobby, tea));
    store.close();
}

#[test]
fn a_forgotten_room_leaves_no_line_and_rooms_do_not_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, ids) = start(dir.path());
    let tea = store.link(false).unwrap();
    let pub_ = store.link(false).unwrap();
    assert_ne!(tea.conversation, pub_.conversation);
    for n in 0..10 {
        record(&tea, &ids, &format!("MSG #tea ann m{n}"));
        record(&pub_, &ids, &format!("MSG #pub bob m{n}"));
    }
    drop(tea);
    store.close();
    let path = dir.path().join(DATABASE_FILE);
    let rooms = |path: &std::path::Path| -> u64 {
        let connection = rusqlite::Connection::open(path).unwrap();
        connection
            .query_row("SELECT coalesce(sum(lines), 0) FROM chunks", [], |row| {
                row.get(0)
            })
            .unwrap()
    };
    assert_eq!(rooms(&path), 10, "only #pub's lines are left");
    drop(pub_);
    let (store, _, _) = start(dir.path());
    store.close();
    assert_eq!(
        rooms(&path),
        0,
        "a start deletes the rooms of the run before"
    );
}

#[test]
fn a_database_from_a_newer_chatd_is_not_touched_and_chat_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    let (store, recovered, ids) = start(dir.path());
    assert!(recovered.lobby.is_empty());
    let lobby = store.link(true).unwrap();
    record(&lobby, &ids, "ALL ann hello");
    store.close();
    assert_eq!(store.counts(), (1, 0), "counted as not stored");
    let version: u32 = rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 99);
}

#[test]
fn ephemeral_has_no_store_and_history_off_stores_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut ephemeral = config(dir.path());
    ephemeral.ephemeral = true;
    let (opened, _) = Opened::open(&ephemeral, 1_000);
    let store = opened.start(Arc::new(MessageIds::new())).unwrap();
    assert!(store.link(true).is_none());
    store.close();
    assert!(!dir.path().join(DATABASE_FILE).exists());

    // History off: the store keeps registered rooms, and no conversation records a line.
    let mut off = config(dir.path());
    off.history_lines = 0;
    let (opened, _) = Opened::open(&off, 0);
    let ids = Arc::new(MessageIds::new());
    let store = opened.start(Arc::clone(&ids)).unwrap();
    let keeping = crate::server::history::Keeping::new(0, 0, store.clone());
    let line: crate::server::line::Line = Arc::from("ALL a hello\n");
    let mut lobby = keeping.lobby(VecDeque::new(), true);
    let mut room = keeping.room();
    assert!(keeping.text(Some(&line)).is_none(), "nothing to record");
    lobby.record(ids.next(), now(), Text::of(&line));
    room.record(ids.next(), now(), Text::of(&line));
    store.close();
    let connection = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    let lines: u64 = connection
        .query_row("SELECT count(*) FROM chunks", [], |row| row.get(0))
        .unwrap();
    assert_eq!(lines, 0);
}

#[test]
fn issue_16_a_registered_room_and_its_lines_go_with_its_account_whoever_deletes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    let connection = schema::open(dir.path(), &path).unwrap();
    connection
        .execute_batch(
            "INSERT INTO accounts VALUES ('ann', 'Ann', 'hash', 1);
             INSERT INTO chunks VALUES (7, 2, 1, 2, 5, 5, x'00');
             INSERT INTO chunks VALUES (8, 2, 1, 2, 5, 5, x'00');",
        )
        .unwrap();
    let room = |name: &str, conversation| RoomRecord {
        name_key: name.to_ascii_lowercase(),
        name: name.to_owned(),
        owner: "ann".to_owned(),
        owner_nick: String::new(),
        topic: Some(("bob".to_owned(), "green".to_owned())),
        key: None,
        private: true,
        conversation,
    };
    rooms::save(&connection, &room("#Tea", 7)).unwrap();
    let loaded = rooms::load(&connection).unwrap();
    let mut expected = room("#Tea", 7);
    expected.owner_nick = "Ann".to_owned();
    assert_eq!(loaded, [expected]);
    assert_eq!(schema::delete_unregistered_rooms(&connection).unwrap(), 1);

    // `chatd account delete` deletes the account's row alone: the triggers do the rest.
    connection
        .execute("DELETE FROM accounts WHERE nick_key = 'ann'", [])
        .unwrap();
    let left = |table: &str| -> u64 {
        connection
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .unwrap()
    };
    assert_eq!((left("rooms"), left("chunks")), (0, 0));

    // A row saved for an owner that is gone (a save on its way) is not loaded, nor kept.
    rooms::save(&connection, &room("#Tea", 7)).unwrap();
    assert_eq!(rooms::load(&connection).unwrap(), []);
    assert_eq!(left("rooms"), 0);
    // A new account of the name finds no room of the old one's.
    rooms::save(&connection, &room("#Tea", 7)).unwrap();
    connection
        .execute("INSERT INTO accounts VALUES ('ann', 'ann', 'hash', 2)", [])
        .unwrap();
    assert_eq!(left("rooms"), 0);
}

fn key(nick: &str) -> chatd_proto::NickKey {
    chatd_proto::Nick::parse(nick).unwrap().key()
}

/// Keeps `MSG <from> m<n>` for `owner` with `peer`, with id `n`, queued at `time`.
fn keep_direct(store: &Store, owner: &str, peer: &str, n: u64, time: u64) {
    let line = format!("MSG {peer} m{n}\n");
    let id = MessageId::new(n).unwrap();
    let time = UtcMillis::saturating(time);
    assert!(store.keep_direct(&key(owner), &key(peer), id, time, &line));
}

fn direct_ids(store: &Store, owner: &str, peer: &str, count: usize, page: Page) -> Vec<u64> {
    store
        .read_direct(&key(owner), &key(peer), count, page)
        .iter()
        .map(|entry| entry.id.get())
        .collect()
}

#[test]
fn issue_16_direct_lines_are_read_back_in_id_order_at_once_and_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, _) = start(dir.path());
    let time = now().millis();
    // The two directions come from two senders' turns: out of id order.
    for n in [2, 1, 4, 3, 6, 5] {
        keep_direct(&store, "alice", "bob", n, time);
    }
    keep_direct(&store, "bob", "alice", 7, time);
    // No wait but the barrier: what was handed over is read back.
    assert_eq!(
        direct_ids(&store, "alice", "bob", 50, Page::Latest),
        [1, 2, 3, 4, 5, 6]
    );
    let id = |n| MessageId::new(n).unwrap();
    assert_eq!(direct_ids(&store, "alice", "bob", 2, Page::Latest), [5, 6]);
    assert_eq!(
        direct_ids(&store, "alice", "bob", 2, Page::Before(id(5))),
        [3, 4]
    );
    assert_eq!(
        direct_ids(&store, "alice", "bob", 2, Page::After(id(1))),
        [2, 3]
    );
    assert!(direct_ids(&store, "alice", "bob", 2, Page::After(id(6))).is_empty());
    assert_eq!(direct_ids(&store, "bob", "alice", 50, Page::Latest), [7]);
    let entries = store.read_direct(&key("alice"), &key("bob"), 1, Page::Latest);
    assert_eq!(&*entries[0].line, "MSG bob m6\n");
    assert_eq!(entries[0].time.millis(), time);
    store.close();
    assert_eq!(store.counts(), (0, 7));

    let (store, _, _) = start(dir.path());
    assert_eq!(
        direct_ids(&store, "alice", "bob", 50, Page::Latest),
        [1, 2, 3, 4, 5, 6]
    );
    store.close();
}

#[test]
fn issue_16_a_pair_keeps_its_history_lines_and_none_past_its_days() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        history_lines: 5,
        history_days: 1,
        ..config(dir.path())
    };
    let (opened, _) = Opened::open(&config, 5);
    let store = opened.start(Arc::new(MessageIds::new())).unwrap();
    let time = now().millis();
    for n in 1..=20 {
        keep_direct(&store, "alice", "bob", n, time);
        keep_direct(&store, "alice", "carol", n, time);
        // One barrier after each line: a batch each, as a quiet store writes them.
        store.settle_direct();
    }
    assert_eq!(
        direct_ids(&store, "alice", "bob", 50, Page::Latest),
        [16, 17, 18, 19, 20]
    );
    assert_eq!(
        direct_ids(&store, "alice", "carol", 50, Page::Latest).len(),
        5
    );
    // Two days old: kept until the minute's pass, never shown.
    keep_direct(&store, "alice", "dave", 30, time - 2 * 24 * 3600 * 1000);
    keep_direct(&store, "alice", "dave", 31, time);
    assert_eq!(direct_ids(&store, "alice", "dave", 50, Page::Latest), [31]);
    store.close();
}

#[test]
fn issue_16_an_accounts_direct_lines_go_when_it_is_deleted_and_when_its_name_is_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _, _) = start(dir.path());
    let time = now().millis();
    let connection = rusqlite::Connection::open(dir.path().join(DATABASE_FILE)).unwrap();
    let account = |sql: &str| {
        connection
            .execute(sql, [])
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    };
    account("INSERT INTO accounts VALUES ('alice', 'Alice', 'hash', 1)");
    keep_direct(&store, "alice", "bob", 1, time);
    keep_direct(&store, "bob", "alice", 1, time);
    assert_eq!(direct_ids(&store, "alice", "bob", 50, Page::Latest), [1]);
    account("DELETE FROM accounts WHERE nick_key = 'alice'");
    assert!(direct_ids(&store, "alice", "bob", 50, Page::Latest).is_empty());
    assert_eq!(direct_ids(&store, "bob", "alice", 50, Page::Latest), [1]);
    // A line for the old account written after its deletion (a race): a new account of the
    // name starts without it.
    keep_direct(&store, "alice", "bob", 2, time);
    assert_eq!(direct_ids(&store, "alice", "bob", 50, Page::Latest), [2]);
    account("INSERT INTO accounts VALUES ('alice', 'alice', 'hash', 2)");
    assert!(direct_ids(&store, "alice", "bob", 50, Page::Latest).is_empty());
    store.close();
}

#[test]
fn issue_16_a_database_of_version_3_gains_the_direct_and_rooms_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    {
        // Version 3 as the mailbox left it, with an account and a line waiting for it.
        let connection = schema::open(dir.path(), &path).unwrap();
        connection
            .execute_batch(
                "DROP TRIGGER direct_goes_with_its_account;
                 DROP TRIGGER direct_starts_empty;
                 DROP TABLE direct;
                 DROP TRIGGER rooms_go_with_their_account;
                 DROP TRIGGER new_accounts_own_no_room;
                 DROP TABLE rooms;
                 PRAGMA user_version = 3;
                 INSERT INTO accounts VALUES ('alice', 'alice', 'hash', 1);
                 INSERT INTO waiting VALUES ('alice', 7, 5, 'bob', 'hi');",
            )
            .unwrap();
    }
    let (store, _, _) = start(dir.path());
    keep_direct(&store, "alice", "bob", 9, now().millis());
    assert_eq!(direct_ids(&store, "alice", "bob", 50, Page::Latest), [9]);
    store.close();
    let connection = rusqlite::Connection::open(&path).unwrap();
    let count = |sql: &str| -> u64 { connection.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(count("PRAGMA user_version"), SCHEMA_VERSION as u64);
    assert_eq!(count("SELECT count(*) FROM waiting"), 1, "left as it was");
    assert_eq!(count("SELECT count(*) FROM accounts"), 1);
    assert_eq!(count("SELECT count(*) FROM rooms"), 0);
}
