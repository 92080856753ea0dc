//! Tests of [`Accounts`] as the server uses it: jobs answered on the verification threads, a
//! real database in a folder of its own read back after a restart, and the two ways of
//! running without one (`--ephemeral`, a folder that cannot be opened).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use chatd_proto::Nick;

use super::*;
use crate::server::admission::AddressGroup;

/// Long enough for a hash on a loaded machine, short enough to fail a test that hangs.
const DEADLINE: Duration = Duration::from_secs(30);

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

fn secret(text: &str) -> Password {
    Password::from(text.to_owned())
}

fn from() -> AddressGroup {
    AddressGroup::of(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
}

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        ephemeral: false,
        ..Config::default()
    }
}

/// Submits `job` and waits for its outcome, checking that it comes on a verification thread.
fn ask(accounts: &Accounts, job: Job) -> Outcome {
    let (sender, answers) = crossbeam_channel::bounded(1);
    let done = Box::new(move |answer: Answer| {
        let thread = std::thread::current().name().map(str::to_owned);
        sender.send((answer, thread)).unwrap();
    });
    accounts.submit(job, done).unwrap();
    let (answer, thread) = answers.recv_timeout(DEADLINE).expect("an answer in time");
    let thread = thread.unwrap();
    assert!(thread.starts_with("chatd-auth-"), "{thread}");
    answer.outcome
}

fn register(accounts: &Accounts, name: &str, password: &str) -> Outcome {
    ask(
        accounts,
        Job::Register {
            nick: nick(name),
            password: secret(password),
        },
    )
}

fn login(accounts: &Accounts, name: &str, password: &str) -> Outcome {
    ask(
        accounts,
        Job::Login {
            nick: nick(name),
            password: secret(password),
            from: from(),
            budget: usize::MAX,
        },
    )
}

fn registered(accounts: &Accounts, name: &str) -> bool {
    accounts.is_registered(&nick(name).key())
}

#[test]
fn accounts_and_their_changes_outlive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let accounts = Accounts::open(&config(dir.path())).unwrap();
    assert!(!registered(&accounts, "alice"));
    assert_eq!(
        register(&accounts, "Alice", "password1"),
        Outcome::Registered(nick("Alice"))
    );
    assert_eq!(
        register(&accounts, "bob", "password2"),
        Outcome::Registered(nick("bob"))
    );
    assert!(registered(&accounts, "ALICE"));
    accounts.close();

    let accounts = Accounts::open(&config(dir.path())).unwrap();
    assert!(registered(&accounts, "alice") && registered(&accounts, "bob"));
    assert_eq!(
        login(&accounts, "alice", "password1"),
        Outcome::LoggedIn(nick("Alice"))
    );
    let changed = ask(
        &accounts,
        Job::ChangePassword {
            nick: nick("alice"),
            old: secret("password1"),
            new: secret("password3"),
            from: from(),
        },
    );
    assert_eq!(changed, Outcome::PasswordChanged);
    let unregistered = ask(
        &accounts,
        Job::Unregister {
            nick: nick("bob"),
            password: secret("password2"),
            from: from(),
        },
    );
    assert_eq!(unregistered, Outcome::Unregistered(nick("bob")));
    accounts.close();

    let accounts = Accounts::open(&config(dir.path())).unwrap();
    assert!(registered(&accounts, "alice"));
    assert!(!registered(&accounts, "bob"), "the unregister survived");
    assert_eq!(login(&accounts, "alice", "password1"), Outcome::BadLogin);
    assert_eq!(
        login(&accounts, "alice", "password3"),
        Outcome::LoggedIn(nick("Alice")),
        "the new password survived"
    );
    accounts.close();
}

#[test]
fn ephemeral_accounts_keep_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = Config {
        ephemeral: true,
        ..config(&data)
    };
    let accounts = Accounts::open(&config).unwrap();
    assert_eq!(
        register(&accounts, "alice", "password1"),
        Outcome::Registered(nick("alice"))
    );
    assert_eq!(
        login(&accounts, "alice", "password1"),
        Outcome::LoggedIn(nick("alice"))
    );
    accounts.close();
    assert!(!data.exists(), "no folder, no database");
    let accounts = Accounts::open(&config).unwrap();
    assert!(!registered(&accounts, "alice"));
    accounts.close();
}

#[test]
fn a_folder_that_cannot_be_opened_leaves_accounts_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the data folder should be: it cannot be created.
    let data = dir.path().join("data");
    std::fs::write(&data, "not a folder").unwrap();
    let accounts = Accounts::open(&config(&data)).unwrap();
    assert_eq!(
        register(&accounts, "alice", "password1"),
        Outcome::Registered(nick("alice"))
    );
    assert!(registered(&accounts, "alice"));
    accounts.close();
}

#[test]
fn after_close_jobs_are_busy() {
    let config = Config {
        ephemeral: true,
        ..Config::default()
    };
    let accounts = Accounts::open(&config).unwrap();
    let clone = accounts.clone();
    accounts.close();
    let job = Job::Register {
        nick: nick("alice"),
        password: secret("password1"),
    };
    assert_eq!(clone.submit(job, Box::new(|_| panic!("never"))), Err(Busy));
    clone.close();
}
