//! Tests of the book against real SQLite files in a folder of their own: each change read
//! back by a book opened again, changes that no longer apply, a database of the previous
//! schema version, and one that cannot be written.

use super::*;
use crate::server::store::DATABASE_FILE;

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn open(dir: &Path) -> Book {
    Book::open(dir, &dir.join(DATABASE_FILE)).unwrap()
}

/// What a book opened afresh on `dir` holds, sorted by key.
fn reopened(dir: &Path) -> Vec<(String, String, u64)> {
    let book = open(dir);
    let mut all: Vec<_> = book
        .accounts
        .read()
        .iter()
        .map(|(key, account)| {
            let key: &str = std::borrow::Borrow::borrow(key);
            assert_eq!(*key, account.nick.as_str().to_ascii_lowercase());
            (
                account.nick.to_string(),
                account.hash.to_string(),
                account.created_ms,
            )
        })
        .collect();
    all.sort();
    all
}

#[test]
fn every_change_is_on_disk_for_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let book = open(dir.path());
    assert_eq!(book.len(), 0);
    book.insert(&nick("Alice"), "hash-a1".into(), 11).unwrap();
    book.insert(&nick("bob"), "hash-b1".into(), 22).unwrap();
    book.insert(&nick("carol"), "hash-c1".into(), 33).unwrap();
    assert!(book.contains(&nick("ALICE").key()));
    assert_eq!(book.get(&nick("alice")).unwrap().nick.as_str(), "Alice");
    assert_eq!(
        reopened(dir.path()),
        [
            ("Alice".into(), "hash-a1".into(), 11),
            ("bob".into(), "hash-b1".into(), 22),
            ("carol".into(), "hash-c1".into(), 33),
        ]
    );
    book.replace_hash(&nick("BOB"), "hash-b1", "hash-b2".into())
        .unwrap();
    assert_eq!(
        book.remove(&nick("carol"), "hash-c1"),
        Ok(nick("carol")),
        "the account's own spelling"
    );
    assert_eq!(
        reopened(dir.path()),
        [
            ("Alice".into(), "hash-a1".into(), 11),
            ("bob".into(), "hash-b2".into(), 22),
        ]
    );
    drop(book);
    // A book opened again goes on from there.
    let book = open(dir.path());
    assert_eq!(book.len(), 2);
    assert!(!book.contains(&nick("carol").key()));
    book.insert(&nick("carol"), "hash-c2".into(), 44).unwrap();
    assert_eq!(reopened(dir.path()).len(), 3);
}

#[test]
fn a_change_that_no_longer_applies_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let book = open(dir.path());
    book.insert(&nick("alice"), "hash-1".into(), 1).unwrap();
    assert_eq!(
        book.insert(&nick("ALICE"), "other".into(), 2),
        Err(Refused::Taken(nick("alice")))
    );
    assert_eq!(
        book.replace_hash(&nick("alice"), "stale", "hash-2".into()),
        Err(Refused::Changed)
    );
    assert_eq!(book.remove(&nick("alice"), "stale"), Err(Refused::Changed));
    assert_eq!(
        book.remove(&nick("nobody"), "hash-1"),
        Err(Refused::Changed)
    );
    assert_eq!(reopened(dir.path()), [("alice".into(), "hash-1".into(), 1)]);
    assert_eq!(*book.get(&nick("alice")).unwrap().hash, *"hash-1");
}

#[test]
fn a_database_of_the_previous_version_gains_the_table_and_keeps_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    {
        // Version 1, as the history store left it, with a line of the lobby.
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE chunks (conversation INTEGER NOT NULL, last_id INTEGER NOT NULL,
                     first_id INTEGER NOT NULL, lines INTEGER NOT NULL,
                     first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,
                     packed BLOB NOT NULL);
                 CREATE UNIQUE INDEX chunks_by_conversation ON chunks (conversation, last_id);
                 CREATE TABLE meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
                 INSERT INTO chunks VALUES (0, 7, 7, 1, 5, 5, x'00');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
    }
    let book = open(dir.path());
    assert_eq!(book.len(), 0);
    book.insert(&nick("alice"), "hash".into(), 1).unwrap();
    let connection = Connection::open(&path).unwrap();
    let version: u32 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, 4, "brought up to the newest schema");
    let chunks: u32 = connection
        .query_row("SELECT count(*) FROM chunks", [], |row| row.get(0))
        .unwrap();
    assert_eq!(chunks, 1, "the history is left as it was");
    let stored: (String, String, String, u64) = connection
        .query_row("SELECT * FROM accounts", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap();
    assert_eq!(stored, ("alice".into(), "alice".into(), "hash".into(), 1));
}

#[test]
fn a_database_that_refuses_a_change_leaves_the_book_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DATABASE_FILE);
    let book = open(dir.path());
    book.insert(&nick("alice"), "hash-1".into(), 1).unwrap();
    // Another writer holds the write lock longer than the busy timeout (2 s a change).
    let blocker = Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    assert_eq!(
        book.insert(&nick("bob"), "hash".into(), 2),
        Err(Refused::Store)
    );
    assert_eq!(
        book.replace_hash(&nick("alice"), "hash-1", "hash-2".into()),
        Err(Refused::Store)
    );
    blocker.execute_batch("ROLLBACK").unwrap();
    assert!(!book.contains(&nick("bob").key()));
    assert_eq!(*book.get(&nick("alice")).unwrap().hash, *"hash-1");
    assert_eq!(reopened(dir.path()), [("alice".into(), "hash-1".into(), 1)]);
    // Once the lock is gone, changes go through again.
    book.insert(&nick("bob"), "hash".into(), 2).unwrap();
}

#[test]
fn a_book_in_memory_keeps_every_rule_and_nothing_on_disk() {
    let book = Book::in_memory();
    book.insert(&nick("alice"), "hash-1".into(), 1).unwrap();
    assert_eq!(
        book.insert(&nick("Alice"), "x".into(), 2),
        Err(Refused::Taken(nick("alice")))
    );
    book.replace_hash(&nick("alice"), "hash-1", "hash-2".into())
        .unwrap();
    assert_eq!(book.remove(&nick("alice"), "hash-1"), Err(Refused::Changed));
    assert_eq!(book.remove(&nick("alice"), "hash-2"), Ok(nick("alice")));
    assert_eq!(book.len(), 0);
}
