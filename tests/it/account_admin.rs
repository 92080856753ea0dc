//! `chatd account list|delete|reset-password` and the data folder's lock, against the
//! `chatd` binary (issue 16, point 8): an account registered over TCP is listed, given a new
//! password or deleted with the server stopped, and a restarted server sees the change;
//! every command is refused while a server holds the folder, and so is a second server.
//! Each test has a data folder of its own.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

use crate::account_support::PASSWORD;
use crate::support::{ChatdProcess, TestClient, chatd_output, registered_at, run_chatd_to_exit};

const NEW_PASSWORD: &str = "battery-staple";
/// `chatd`'s exit status for a command it refuses.
const REFUSED: i32 = 1;

/// A server keeping its data in `data`.
fn server(data: &str) -> ChatdProcess {
    ChatdProcess::spawn(&["--data-dir", data], None)
}

/// Stops `server` as an operator does (SIGTERM) and waits for it to exit.
fn stop(mut server: ChatdProcess) {
    server.signal(libc::SIGTERM);
    server.expect_log("stopped");
    assert!(server.wait().success());
}

/// Registers `nick` with [`PASSWORD`] on a server started on `data`, then stops it.
fn registered_in(data: &str, nick: &str) {
    let chatd = server(data);
    let mut client = registered_at(chatd.addr, nick, &[]);
    client.send(&format!("REGISTER {PASSWORD}"));
    client.expect(&format!("OK REGISTER {nick}"));
    stop(chatd);
}

/// Runs `chatd account args...` to its exit, within the deadline: status, stdout, stderr.
/// Its stdin is empty: a command that asked the terminal would fail, not wait.
fn account(args: &[&str]) -> (ExitStatus, String, String) {
    let output = chatd_output(&[&["account"], args].concat());
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap();
    (output.status, text(output.stdout), text(output.stderr))
}

/// `chatd account args...`, which must succeed: its stdout.
fn account_ok(args: &[&str]) -> String {
    let (status, stdout, stderr) = account(args);
    assert!(status.success(), "chatd account {args:?}: {stderr}");
    stdout
}

/// A file holding `text`, in `dir`.
fn file_in(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The answer to `LOGIN nick password` on a fresh connection to `chatd`.
fn login(chatd: &ChatdProcess, nick: &str, password: &str) -> String {
    let mut client = TestClient::connect_raw(chatd.addr);
    assert!(client.recv().starts_with("HELLO "));
    client.send(&format!("LOGIN {nick} {password}"));
    client.recv()
}

/// Each listed line: the nick, then the creation time in UTC (`2025-01-02T03:04:05.678Z`).
fn listed_nicks(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| {
            let (nick, created) = line.split_once(' ').expect("nick and time");
            assert_eq!(created.len(), 24, "{line:?}");
            assert!(
                created.ends_with('Z') && created.as_bytes()[10] == b'T',
                "{line:?}"
            );
            nick.to_owned()
        })
        .collect()
}

#[test]
fn issue_16_an_account_registered_over_tcp_is_listed_with_the_server_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    registered_in(data, "Zed");
    registered_in(data, "alice");
    let stdout = account_ok(&["list", "--data-dir", data]);
    assert_eq!(listed_nicks(&stdout), ["alice", "Zed"], "sorted: {stdout}");
    // The folder from the configuration file, as the server takes it; the flag may also
    // come before the command's word.
    let config = file_in(dir.path(), "chatd.toml", &format!("data_dir = {data:?}\n"));
    let from_file = account_ok(&["--config", &config, "list"]);
    assert_eq!(from_file, stdout);
}

#[test]
fn issue_16_reset_password_from_a_file_is_what_a_restarted_server_checks() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    registered_in(data, "alice");
    // The first line counts, without its line ending (CRLF too); the rest is ignored.
    let file = file_in(
        dir.path(),
        "password",
        &format!("{NEW_PASSWORD}\r\nnot this one\n"),
    );
    let (status, stdout, stderr) = account(&[
        "reset-password",
        "ALICE",
        "--password-file",
        &file,
        "--data-dir",
        data,
    ]);
    assert!(status.success(), "{stderr}");
    assert_eq!(stdout, "account alice: password reset\n");
    assert!(
        !stdout.contains(NEW_PASSWORD) && !stderr.contains(NEW_PASSWORD),
        "a password is never printed"
    );
    let chatd = server(data);
    assert_eq!(
        login(&chatd, "alice", PASSWORD),
        "ERR BAD_LOGIN wrong nick or password"
    );
    assert_eq!(login(&chatd, "alice", NEW_PASSWORD), "OK LOGIN alice");
}

#[test]
fn issue_16_a_weak_password_is_refused_and_the_old_one_still_works() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    registered_in(data, "alice");
    for (weak, fault) in [
        ("short1", "this one is too short"),
        ("two words", "this one has a space"),
        ("", "this one is too short"),
    ] {
        let file = file_in(dir.path(), "weak", &format!("{weak}\n"));
        let (status, stdout, stderr) = account(&[
            "reset-password",
            "alice",
            "--password-file",
            &file,
            "--data-dir",
            data,
        ]);
        assert_eq!(status.code(), Some(REFUSED), "{weak:?}: {stderr}");
        assert_eq!(stdout, "");
        assert_eq!(
            stderr,
            format!(
                "chatd: the new password is refused: a password has 8 to 128 bytes and no \
                 spaces; {fault}\n"
            )
        );
    }
    let chatd = server(data);
    assert_eq!(login(&chatd, "alice", PASSWORD), "OK LOGIN alice");
}

#[test]
fn issue_16_a_deleted_accounts_nick_is_free_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    registered_in(data, "alice");
    registered_in(data, "bob");
    let stdout = account_ok(&["delete", "Alice", "--data-dir", data]);
    assert_eq!(stdout, "account alice deleted\n");
    let (status, _, stderr) = account(&["delete", "alice", "--data-dir", data]);
    assert_eq!(status.code(), Some(REFUSED));
    assert_eq!(
        stderr,
        "chatd: there is no account alice (chatd account list shows them)\n"
    );
    let stdout = account_ok(&["list", "--data-dir", data]);
    assert_eq!(listed_nicks(&stdout), ["bob"]);
    let chatd = server(data);
    let mut guest = TestClient::connect_raw(chatd.addr);
    assert!(guest.recv().starts_with("HELLO "));
    guest.send("NICK alice");
    guest.expect("OK NICK alice");
    // Only that one: bob is still protected.
    guest.send("NICK bob");
    guest.expect_err("NICK_REGISTERED");
}

#[test]
fn issue_16_every_account_command_is_refused_while_a_server_holds_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    registered_in(data, "alice");
    let file = file_in(dir.path(), "password", &format!("{NEW_PASSWORD}\n"));
    let chatd = server(data);
    let refusal = format!(
        "chatd: the data folder {data} is in use by another chatd (process {}): stop the \
         server first: a running chatd keeps accounts in memory\n",
        chatd.pid()
    );
    let commands: [&[&str]; 3] = [
        &["list"],
        &["delete", "alice"],
        &["reset-password", "alice", "--password-file", &file],
    ];
    for command in commands {
        let args = [command, &["--data-dir", data]].concat();
        let (status, stdout, stderr) = account(&args);
        assert_eq!(status.code(), Some(REFUSED), "{command:?}: {stderr}");
        assert_eq!(stdout, "", "{command:?}");
        assert_eq!(stderr, refusal, "{command:?}");
    }
    // Nothing changed: the running server and the next one know alice by her password.
    assert_eq!(login(&chatd, "alice", PASSWORD), "OK LOGIN alice");
    stop(chatd);
    let chatd = server(data);
    assert_eq!(login(&chatd, "alice", PASSWORD), "OK LOGIN alice");
}

#[test]
fn issue_16_a_second_server_on_the_same_folder_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let first = server(data);
    let (status, stderr) = run_chatd_to_exit(&["--addr", "127.0.0.1:0", "--data-dir", data]);
    assert_eq!(status.code(), Some(REFUSED), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "chatd: cannot start the server: the data folder {data} is in use by another chatd \
             (process {}): stop it first, or give this one another --data-dir\n",
            first.pid()
        )
    );
    // The first one serves on, and once it has stopped the folder is free again.
    let mut ann = registered_at(first.addr, "ann", &[]);
    ann.send(&format!("REGISTER {PASSWORD}"));
    ann.expect("OK REGISTER ann");
    stop(first);
    let second = server(data);
    assert_eq!(login(&second, "ann", PASSWORD), "OK LOGIN ann");
}

#[test]
fn issue_16_a_folder_without_a_database_is_said_so_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let missing = missing.to_str().unwrap();
    let (status, stdout, stderr) = account(&["list", "--data-dir", missing]);
    assert_eq!(status.code(), Some(REFUSED), "{stderr}");
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with(&format!(
            "chatd: there is no database {missing}/chatd.db: no server has kept accounts"
        )),
        "{stderr}"
    );
    assert!(stderr.ends_with("nothing was created\n"), "{stderr}");
    let (status, _, _) = account(&["delete", "alice", "--data-dir", missing]);
    assert_eq!(status.code(), Some(REFUSED));
    assert!(!Path::new(missing).exists(), "nothing is created");
}

#[test]
fn issue_16_help_shows_the_account_commands() {
    let help = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_chatd"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    let top = help(&["--help"]);
    assert!(top.contains("chatd <COMMAND>"), "{top}");
    assert!(
        top.contains("account  Look after the accounts of a data folder"),
        "{top}"
    );
    // The server's flags are all still there.
    assert!(
        top.contains("--data-dir <DIR>") && top.contains("--log-file"),
        "{top}"
    );
    let account = help(&["account", "--help"]);
    for line in [
        "  list            Print every account",
        "  delete          Delete an account",
        "  reset-password  Set a new password for an account",
        "--config <FILE>",
        "--data-dir <DIR>",
    ] {
        assert!(account.contains(line), "{line:?} in {account}");
    }
    let reset = help(&["account", "reset-password", "--help"]);
    assert!(reset.contains("--password-file <FILE>"), "{reset}");
}

#[test]
fn issue_16_a_deleted_accounts_waiting_messages_go_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    registered_in(data, "alice");
    let chatd = server(data);
    let mut bob = registered_at(chatd.addr, "bob", &[]);
    bob.send("MSG alice only for the first alice");
    bob.expect("OK STORED alice");
    drop(bob);
    stop(chatd);
    account_ok(&["delete", "alice", "--data-dir", data]);
    // Someone else takes the nick and registers it: the old account's mail is not theirs.
    registered_in(data, "alice");
    let chatd = server(data);
    let mut new_alice = TestClient::connect_raw(chatd.addr);
    assert!(new_alice.recv().starts_with("HELLO "));
    new_alice.send(&format!("LOGIN alice {PASSWORD}"));
    new_alice.expect("OK LOGIN alice");
    assert_eq!(new_alice.barrier(), Vec::<String>::new());
}
