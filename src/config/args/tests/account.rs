//! Unit tests of `chatd account` (issue 16, point 8): its words and flags, that the server's
//! flags do not mix with it, and how it finds the data folder (the flag, else the
//! configuration file, else the default, as the server does). Out of scope: what the
//! commands do (`server::accounts::admin` and the binary's integration tests).

use super::*;

fn account(flags: &[&str]) -> AccountArgs {
    match args(flags).command {
        Some(Command::Account(account)) => account,
        _ => panic!("{flags:?}: not the account subcommand"),
    }
}

/// A configuration file holding `text`, for as long as the returned folder lives.
fn config_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chatd.toml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

#[test]
fn issue_16_the_three_commands_and_their_arguments_are_parsed() {
    assert!(args(&[]).command.is_none(), "no word: the server");
    assert!(matches!(
        account(&["account", "list"]).action,
        AccountAction::List
    ));
    match account(&["account", "delete", "Alice"]).action {
        AccountAction::Delete { nick } => assert_eq!(nick, "Alice"),
        other => panic!("{other:?}"),
    }
    let reset = account(&[
        "account",
        "reset-password",
        "alice",
        "--password-file",
        "pw.txt",
    ]);
    match reset.action {
        AccountAction::ResetPassword {
            nick,
            password_file,
        } => {
            assert_eq!(nick, "alice");
            assert_eq!(password_file.as_deref(), Some(Path::new("pw.txt")));
        }
        other => panic!("{other:?}"),
    }
    // The folder's flags go before or after the command's word.
    for flags in [
        &["account", "--data-dir", "d", "--config", "c.toml", "list"][..],
        &["account", "list", "--data-dir", "d", "--config", "c.toml"][..],
    ] {
        let account = account(flags);
        assert_eq!(
            account.data_dir.as_deref(),
            Some(Path::new("d")),
            "{flags:?}"
        );
        assert_eq!(
            account.config.as_deref(),
            Some(Path::new("c.toml")),
            "{flags:?}"
        );
    }
}

#[test]
fn issue_16_the_servers_flags_and_the_account_commands_do_not_mix() {
    let parse = |flags: &[&str]| {
        Args::try_parse_from(std::iter::once("chatd").chain(flags.iter().copied()))
    };
    for flags in [
        &["--data-dir", "d", "account", "list"][..],
        &["--workers", "2", "account", "list"][..],
        &["account", "list", "--workers", "2"][..],
        &["account"][..],
        &["account", "delete"][..],
        &["account", "list", "alice"][..],
    ] {
        let error = parse(flags).expect_err("refused");
        assert_eq!(error.exit_code(), 2, "{flags:?}: a usage error");
    }
}

#[test]
fn issue_16_the_data_folder_is_found_as_the_server_finds_it() {
    let data_dir = |flags: &[&str]| {
        let mut all = vec!["account"];
        all.extend_from_slice(flags);
        all.push("list");
        account(&all).data_dir().unwrap()
    };
    assert_eq!(data_dir(&[]), Path::new("chatd-data"));
    assert_eq!(
        data_dir(&["--data-dir", "/srv/chat"]),
        Path::new("/srv/chat")
    );
    let (_dir, file) = config_file("addr = \"0.0.0.0:7878\"\ndata_dir = \"/var/chat\"\n");
    assert_eq!(data_dir(&["--config", &file]), Path::new("/var/chat"));
    assert_eq!(
        data_dir(&["--config", &file, "--data-dir", "/srv/chat"]),
        Path::new("/srv/chat"),
        "the flag wins over the file"
    );
}

#[test]
fn issue_16_a_configuration_the_server_would_refuse_is_refused_the_same_way() {
    let (_dir, file) = config_file("data_dir = \"/var/chat\"\nmax_line = 10\n");
    let refused = account(&["account", "--config", &file, "list"])
        .data_dir()
        .unwrap_err()
        .to_string();
    let server = args(&["--config", &file])
        .settings()
        .unwrap_err()
        .to_string();
    assert_eq!(refused, server);
    assert!(refused.contains("max_line"), "{refused}");
}

#[test]
fn issue_16_an_ephemeral_configuration_has_no_folder_unless_one_is_named() {
    let (_dir, file) = config_file("ephemeral = true\n");
    let refused = account(&["account", "--config", &file, "list"])
        .data_dir()
        .unwrap_err()
        .to_string();
    assert_eq!(
        refused,
        format!(
            "{file} sets ephemeral: that server keeps its accounts in memory, with no data \
             folder; give --data-dir to name one"
        )
    );
    let named = account(&["account", "--config", &file, "--data-dir", "d", "list"]);
    assert_eq!(named.data_dir().unwrap(), Path::new("d"));
}

#[test]
fn issue_19_a_node_s_configuration_makes_the_command_work_on_its_cluster() {
    let (_dir, file) = config_file(
        "data_dir = \"/var/chat\"\ncluster = \"nats://10.0.0.1:4222,nats://10.0.0.2:4222\"\n",
    );
    assert_eq!(
        account(&["account", "--config", &file, "list"])
            .accounts_at()
            .unwrap(),
        AccountsAt::Cluster(vec![
            "nats://10.0.0.1:4222".to_owned(),
            "nats://10.0.0.2:4222".to_owned()
        ]),
        "a node's accounts are its cluster's"
    );
    assert_eq!(
        account(&["account", "--config", &file, "--data-dir", "d", "list"])
            .accounts_at()
            .unwrap(),
        AccountsAt::Folder("d".into()),
        "a folder named on the command line is that folder"
    );
    let (_plain, single) = config_file("data_dir = \"/var/chat\"\n");
    assert_eq!(
        account(&["account", "--config", &single, "list"])
            .accounts_at()
            .unwrap(),
        AccountsAt::Folder("/var/chat".into())
    );
    assert_eq!(
        account(&["account", "--cluster", "nats://h:1", "list"])
            .accounts_at()
            .unwrap(),
        AccountsAt::Cluster(vec!["nats://h:1".to_owned()])
    );
}
