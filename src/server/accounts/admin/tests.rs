//! Tests of the account commands' side of the book against real SQLite files in a folder of
//! their own: what each command changes on disk, what it refuses, and that it creates
//! nothing where there is no database and works on nothing while the folder is locked.

use super::*;
use crate::server::data_lock::LOCK_FILE;

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

/// A database in `dir` holding `accounts` (nick, password, created), as a server leaves it.
fn with_accounts(dir: &Path, accounts: &[(&str, &str, u64)]) {
    let book = Book::open(dir, &dir.join(DATABASE_FILE)).unwrap();
    for (name, secret, created_ms) in accounts {
        let hash = password::hash(&Password::from((*secret).to_owned())).unwrap();
        book.insert(&nick(name), hash, *created_ms).unwrap();
    }
}

/// The hash the database holds for `name`, read by a book opened afresh.
fn stored_hash(dir: &Path, name: &str) -> Option<String> {
    let book = Book::open(dir, &dir.join(DATABASE_FILE)).unwrap();
    book.get(&nick(name))
        .map(|account| account.hash.to_string())
}

fn checks(dir: &Path, name: &str, secret: &str) -> bool {
    let hash = stored_hash(dir, name).expect("the account exists");
    password::verify(&Password::from(secret.to_owned()), &hash)
}

#[test]
fn the_list_is_sorted_without_regard_to_case_with_each_creation_time() {
    let dir = tempfile::tempdir().unwrap();
    with_accounts(
        dir.path(),
        &[
            ("carol", "password-c", 86_400_000),
            ("Alice", "password-a", 1_700_000_000_123),
            ("bob", "password-b", 0),
        ],
    );
    let admin = AccountAdmin::open(dir.path()).unwrap();
    let listed: Vec<String> = admin
        .list()
        .iter()
        .map(|account| format!("{} {}", account.nick, account.created))
        .collect();
    assert_eq!(
        listed,
        [
            "Alice 2023-11-14T22:13:20.123Z",
            "bob 1970-01-01T00:00:00.000Z",
            "carol 1970-01-02T00:00:00.000Z",
        ]
    );
}

#[test]
fn delete_removes_the_account_from_the_disk_in_any_case_and_only_that_one() {
    let dir = tempfile::tempdir().unwrap();
    with_accounts(
        dir.path(),
        &[("Alice", "password-a", 1), ("bob", "password-b", 2)],
    );
    let admin = AccountAdmin::open(dir.path()).unwrap();
    assert_eq!(admin.delete("ALICE").unwrap(), nick("Alice"));
    assert!(matches!(
        admin.delete("alice"),
        Err(AdminError::NoSuchAccount(_))
    ));
    drop(admin);
    assert_eq!(stored_hash(dir.path(), "alice"), None);
    assert!(checks(dir.path(), "bob", "password-b"));
}

#[test]
fn reset_password_stores_a_new_argon2id_hash_and_the_old_password_no_longer_checks() {
    let dir = tempfile::tempdir().unwrap();
    with_accounts(dir.path(), &[("alice", "old-password", 1)]);
    let admin = AccountAdmin::open(dir.path()).unwrap();
    let done = admin.reset_password("Alice", "new-password".to_owned());
    assert_eq!(done.unwrap(), nick("alice"));
    drop(admin);
    assert!(checks(dir.path(), "alice", "new-password"));
    assert!(!checks(dir.path(), "alice", "old-password"));
    let hash = stored_hash(dir.path(), "alice").unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
}

#[test]
fn a_password_that_breaks_the_protocols_rule_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    with_accounts(dir.path(), &[("alice", "old-password", 1)]);
    let admin = AccountAdmin::open(dir.path()).unwrap();
    for (weak, fault) in [
        ("short", PasswordFault::TooShort),
        ("has a space", PasswordFault::HasSpace),
        (&"x".repeat(129), PasswordFault::TooLong),
    ] {
        match admin.reset_password("alice", weak.to_owned()) {
            Err(AdminError::WeakPassword(refused)) => assert_eq!(refused, fault),
            other => panic!("{weak:?}: {other:?}"),
        }
    }
    let refusal = admin
        .reset_password("alice", "short".to_owned())
        .unwrap_err()
        .to_string();
    assert_eq!(
        refusal,
        "the new password is refused: a password has 8 to 128 bytes and no spaces; this one is \
         too short"
    );
    drop(admin);
    assert!(checks(dir.path(), "alice", "old-password"));
}

#[test]
fn a_name_that_is_not_a_nick_or_not_an_account_is_said_so() {
    let dir = tempfile::tempdir().unwrap();
    with_accounts(dir.path(), &[("alice", "old-password", 1)]);
    let admin = AccountAdmin::open(dir.path()).unwrap();
    assert_eq!(
        admin.account("9lives").unwrap_err().to_string(),
        "\"9lives\" is not a nick, so not an account: a nick starts with a letter"
    );
    assert_eq!(
        admin.delete("bob").unwrap_err().to_string(),
        "there is no account bob (chatd account list shows them)"
    );
    assert_eq!(admin.account("ALICE").unwrap(), nick("alice"));
}

#[test]
fn a_folder_without_a_database_is_refused_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let refusal = AccountAdmin::open(&missing).err().expect("refused");
    assert!(matches!(refusal, AdminError::NoDatabase(_)), "{refusal:?}");
    assert!(!missing.exists());
    // A folder that exists, but no server has kept anything in.
    let refusal = AccountAdmin::open(dir.path()).err().expect("refused");
    assert_eq!(
        refusal.to_string(),
        format!(
            "there is no database {}: no server has kept accounts in this data folder \
             (--data-dir, or data_dir in the --config file, names it); nothing was created",
            dir.path().join(DATABASE_FILE).display()
        )
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn nothing_is_done_while_another_process_holds_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    with_accounts(dir.path(), &[("alice", "old-password", 1)]);
    let server = DataLock::take(dir.path()).unwrap();
    let refusal = AccountAdmin::open(dir.path()).err().expect("refused");
    assert!(
        matches!(refusal, AdminError::ServerRunning(_)),
        "{refusal:?}"
    );
    assert!(
        refusal
            .to_string()
            .ends_with("stop the server first: a running chatd keeps accounts in memory"),
        "{refusal}"
    );
    drop(server);
    // And the other way round: a command holds the folder while it works.
    let admin = AccountAdmin::open(dir.path()).unwrap();
    assert!(matches!(
        DataLock::take(dir.path()),
        Err(LockError::Held { .. })
    ));
    drop(admin);
    assert!(dir.path().join(LOCK_FILE).exists());
    DataLock::take(dir.path()).unwrap();
}
