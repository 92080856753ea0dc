//! Unit tests of the history store's settings (issue 15): `--data-dir`, `--ephemeral`,
//! `--history-lines`, `--history-days` and `--history-flush-ms`, their file keys, the merge
//! and the checks. Out of scope: what the store does with them (the server's tests).

use super::*;

#[test]
fn issue_15_the_history_defaults_are_the_documented_ones() {
    let config = args(&[]).settings().unwrap().config;
    assert_eq!(config.data_dir, Path::new("chatd-data"));
    assert!(!config.ephemeral);
    assert_eq!((config.history_lines, config.history_days), (10_000, 90));
    assert_eq!(config.history_flush, Duration::from_millis(100));
}

#[test]
fn issue_15_each_history_flag_is_parsed() {
    let config = config_of(
        &[
            "--data-dir",
            "/srv/chat",
            "--ephemeral",
            "--history-lines",
            "500",
            "--history-days",
            "7",
            "--history-flush-ms",
            "250",
        ],
        "",
    );
    let expected = Config {
        data_dir: "/srv/chat".into(),
        ephemeral: true,
        history_lines: 500,
        history_days: 7,
        history_flush: Duration::from_millis(250),
        ..Config::default()
    };
    assert_eq!(config, expected);
    // 0 turns history off, or its age limit; the flush window's bounds are allowed.
    let config = config_of(&["--history-lines", "0", "--history-days", "0"], "");
    assert_eq!((config.history_lines, config.history_days), (0, 0));
    for (ms, window) in [("1", 1), ("10000", 10_000)] {
        let config = config_of(&["--history-flush-ms", ms], "");
        assert_eq!(config.history_flush, Duration::from_millis(window));
    }
    // A window is whole milliseconds, and the switch takes no value.
    assert!(Args::try_parse_from(["chatd", "--history-flush-ms", "0.5"]).is_err());
    assert!(Args::try_parse_from(["chatd", "--ephemeral", "yes"]).is_err());
}

#[test]
fn issue_15_the_file_gives_the_history_settings() {
    let text = "data_dir = \"/var/lib/chatd\"\nephemeral = true\nhistory_lines = 20\n\
                history_days = 0\nhistory_flush_ms = 5\n";
    let expected = Config {
        data_dir: "/var/lib/chatd".into(),
        ephemeral: true,
        history_lines: 20,
        history_days: 0,
        history_flush: Duration::from_millis(5),
        ..Config::default()
    };
    assert_eq!(config_of(&[], text), expected);
    assert!(!config_of(&[], "ephemeral = false").ephemeral);
}

#[test]
fn issue_15_a_history_flag_wins_over_the_file() {
    let text = "data_dir = \"a\"\nephemeral = false\nhistory_lines = 20\nhistory_days = 3\n\
                history_flush_ms = 5\n";
    let flags = [
        "--data-dir",
        "b",
        "--ephemeral",
        "--history-lines",
        "30",
        "--history-days",
        "4",
        "--history-flush-ms",
        "6",
    ];
    let config = config_of(&flags, text);
    assert_eq!(config.data_dir, Path::new("b"));
    assert!(config.ephemeral);
    assert_eq!((config.history_lines, config.history_days), (30, 4));
    assert_eq!(config.history_flush, Duration::from_millis(6));
    // Without the switch, the file's `ephemeral` holds.
    assert!(config_of(&["--history-lines", "30"], "ephemeral = true").ephemeral);
}

#[test]
fn issue_15_bad_history_values_are_refused_with_their_flags() {
    for (flags, says) in [
        (&["--history-lines", "10000001"][..], "at most 10000000"),
        (&["--history-days", "36501"], "at most 36500"),
        (
            &["--history-flush-ms", "0"],
            "between 1 and 10000 milliseconds",
        ),
        (
            &["--history-flush-ms", "10001"],
            "between 1 and 10000 milliseconds",
        ),
    ] {
        let setting = Setting::ALL
            .into_iter()
            .find(|setting| setting.flag() == flags[0])
            .unwrap();
        let reason = refused(flags, "", setting);
        assert!(reason.starts_with(flags[0]), "{flags:?}: {reason}");
        assert!(reason.contains(says), "{flags:?}: {reason}");
    }
    // clap refuses an empty folder on the command line; the file's is checked below.
    assert!(Args::try_parse_from(["chatd", "--data-dir", ""]).is_err());
}

#[test]
fn issue_15_bad_history_values_in_the_file_name_their_key_and_line() {
    for (text, setting, says) in [
        ("history_lines = 10000001", Setting::HistoryLines, "at most"),
        (
            "history_days = 40000",
            Setting::HistoryDays,
            "at most 36500",
        ),
        ("history_flush_ms = 0", Setting::HistoryFlushMs, "between 1"),
        ("history_flush_ms = 60000", Setting::HistoryFlushMs, "10000"),
        ("data_dir = \"\"", Setting::DataDir, "with --ephemeral"),
    ] {
        let reason = refused(&[], &format!("# line 1\n{text}\n"), setting);
        let place = format!("{} at chatd.toml:2", setting.key());
        assert!(reason.starts_with(&place), "{text}: {reason}");
        assert!(reason.contains(says), "{text}: {reason}");
    }
    // A value of the wrong type is refused as the file is read, with its key.
    for text in ["ephemeral = \"yes\"", "history_flush_ms = 0.1"] {
        match ConfigFile::parse(Path::new("chatd.toml"), text.to_owned()) {
            Err(ConfigError::Malformed { key, .. }) => {
                assert_eq!(key.as_deref(), text.split(" = ").next(), "{text}");
            }
            other => panic!("{text}: expected a malformed file, got {other:?}"),
        }
    }
    // An ephemeral server never opens its folder, so an empty one is no mistake there.
    assert!(merged(&[], "ephemeral = true\ndata_dir = \"\"").is_ok());
}

#[test]
fn issue_15_help_says_the_flush_window_is_in_milliseconds_and_what_survives() {
    let help = Args::command().render_help().to_string();
    for shown in [
        "--data-dir <DIR>",
        "--ephemeral",
        "--history-lines <N>",
        "--history-days <DAYS>",
        "--history-flush-ms <MS>",
        "Milliseconds (not seconds",
        "A clean shutdown loses nothing",
        "0 turns history off",
        "0: no age limit",
    ] {
        assert!(help.contains(shown), "--help lacks {shown:?}:\n{help}");
    }
}
