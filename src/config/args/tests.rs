//! Unit tests of the command line, the merge with the configuration file, and the example file
//! `chatd.example.toml` (which must parse to the defaults and hold every flag's key).

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use clap::CommandFactory;

use super::*;
use crate::config::values::default_workers;

/// The example file shipped at the root of the repository.
const EXAMPLE: &str = include_str!("../../../chatd.example.toml");

fn args(flags: &[&str]) -> Args {
    Args::try_parse_from(std::iter::once("chatd").chain(flags.iter().copied()))
        .unwrap_or_else(|e| panic!("{flags:?}: {e}"))
}

fn file(text: &str) -> ConfigFile {
    ConfigFile::parse(Path::new("chatd.toml"), text.to_owned())
        .unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

/// `flags` over a file `chatd.toml` holding `text`.
fn merged(flags: &[&str], text: &str) -> Result<Settings, ConfigError> {
    args(flags).merge(&file(text))
}

fn config_of(flags: &[&str], text: &str) -> Config {
    merged(flags, text)
        .unwrap_or_else(|e| panic!("{flags:?} {text:?}: {e}"))
        .config
}

/// The error for `flags` over `text`, which must be an invalid value of `setting`.
fn refused(flags: &[&str], text: &str, setting: Setting) -> String {
    match merged(flags, text) {
        Err(ConfigError::Invalid {
            setting: refused,
            reason,
        }) => {
            assert_eq!(refused, setting, "{reason}");
            reason
        }
        other => panic!("{flags:?} {text:?}: expected {setting:?} refused, got {other:?}"),
    }
}

/// A loopback address and a remote one.
fn loopback_and_remote() -> (IpAddr, IpAddr) {
    ("127.0.0.1".parse().unwrap(), "192.0.2.7".parse().unwrap())
}

#[test]
fn defaults_are_the_documented_ones() {
    let settings = args(&[]).settings().unwrap();
    let config = &settings.config;
    assert_eq!(config.addr.to_string(), "127.0.0.1:7878");
    assert_eq!(config.max_clients, 10_000);
    assert_eq!(config.max_per_ip, 256);
    assert!(!config.max_per_ip_loopback);
    assert_eq!(config.connect_rate, 20);
    assert!(!config.connect_rate_loopback);
    assert_eq!(config.write_timeout, Duration::from_secs(30));
    assert_eq!(config.max_line, 4096);
    assert_eq!(config.send_queue, 1024 * 1024);
    assert_eq!(config.workers, default_workers());
    assert_eq!(config.drain_timeout, Duration::from_secs(5));
    assert_eq!(config.register_timeout, Duration::from_secs(30));
    assert_eq!(config.idle_timeout, Duration::from_secs(120));
    assert_eq!(config.max_rooms_per_client, 32);
    assert_eq!(config.max_room_members, 10_000);
    assert_eq!(config.max_rooms, 10_000);
    assert_eq!((config.max_topic, config.max_key), (390, 64));
    assert_eq!((config.rate, config.burst), (2_000, 4_000));
    assert_eq!((config.byte_rate, config.byte_burst), (4 << 20, 8 << 20));
    assert_eq!((config.ip_rate, config.ip_byte_rate), (20_000, 32 << 20));
    assert!(!config.ip_rate_loopback);
    assert_eq!(*config, Config::default());
    assert_eq!(settings.log_level, log::LevelFilter::Info);
    assert_eq!(settings.log_file, None);
}

#[test]
fn every_flag_is_a_setting_and_every_setting_a_flag() {
    let flags: Vec<String> = Args::command()
        .get_arguments()
        .filter_map(|arg| arg.get_long())
        .filter(|long| !["config", "help", "version"].contains(long))
        .map(|long| format!("--{long}"))
        .collect();
    let settings: Vec<&str> = Setting::ALL.iter().map(|s| s.flag()).collect();
    assert_eq!(flags, settings);
}

#[test]
fn help_mentions_the_configuration_file() {
    let help = Args::command().render_help().to_string();
    assert!(help.contains("--config <FILE>"), "{help}");
    assert!(help.contains("chatd.example.toml"), "{help}");
    assert!(help.contains("else from the --config file, else its default"));
}

#[test]
fn flags_alone_are_checked_as_before() {
    for flags in [
        &["--workers", "0"][..],
        &["--max-clients", "0"],
        &["--max-per-ip", "0"],
        &["--register-timeout", "0"],
        &["--idle-timeout=-1"],
        &["--idle-timeout", "NaN"],
        &["--write-timeout", "0"],
        &["--write-timeout=-3"],
        &["--max-rooms-per-client", "0"],
        &["--max-room-members", "0"],
        &["--max-line", "10"],
        &["--send-queue", "1K"],
        &["--drain-timeout=-1"],
        &["--drain-timeout", "1e300"],
        &["--burst", "0"],
        &["--byte-burst", "0"],
        &["--addr", "nowhere"],
    ] {
        let error = args(flags).settings().unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(flags[0].split('=').next().unwrap()),
            "{flags:?}: {error}"
        );
    }
    assert!(Args::try_parse_from(["chatd", "--log-level", "loud"]).is_err());
    assert!(Args::try_parse_from(["chatd", "--send-queue", "1X"]).is_err());
    assert!(args(&["--rate", "0", "--burst", "0"]).settings().is_ok());
    assert!(
        args(&["--rate", "0", "--byte-burst", "0"])
            .settings()
            .is_ok()
    );
    assert!(
        args(&["--byte-rate", "0", "--byte-burst", "0"])
            .settings()
            .is_ok()
    );
    assert!(
        args(&["--ip-rate", "0", "--ip-byte-rate", "0"])
            .settings()
            .is_ok()
    );
    assert!(Args::try_parse_from(["chatd", "--byte-rate", "4X"]).is_err());
    assert!(
        args(&["--workers", "3", "--max-line", "128"])
            .settings()
            .is_ok()
    );
    assert!(args(&["--drain-timeout", "0"]).settings().is_ok());
    assert_eq!(
        args(&["--send-queue", "8192", "--max-line", "4096"])
            .settings()
            .unwrap_err()
            .to_string(),
        "--send-queue (8192 bytes) must be at least 4 x --max-line (16384 bytes)"
    );
}

#[test]
fn the_file_fills_what_the_flags_leave_out() {
    let text = "addr = \"127.0.0.1:9000\"\nworkers = 3\nmax_clients = 50\nsend_queue = \"64K\"\n\
                max_line = 512\ndrain_timeout = 0.5\nregister_timeout = 2\nidle_timeout = 7.5\n\
                max_rooms_per_client = 4\nmax_room_members = 9\nmax_rooms = 5\nmax_topic = 80\n\
                max_key = 8\nrate = 50\nburst = 200\n\
                byte_rate = \"64K\"\nbyte_burst = 1000\nip_rate = 300\nip_byte_rate = \"1M\"\n\
                log_level = \"debug\"\nlog_file = \"chatd.log\"\nconnect_rate = 5\n\
                write_timeout = 4\npresence_limit = 0\n";
    let settings = merged(&[], text).unwrap();
    let expected = Config {
        addr: "127.0.0.1:9000".parse().unwrap(),
        workers: 3,
        max_clients: 50,
        max_per_ip: values::DEFAULT_MAX_PER_IP,
        max_per_ip_loopback: false,
        connect_rate: 5,
        connect_rate_loopback: true,
        send_queue: 64 * 1024,
        max_line: 512,
        drain_timeout: Duration::from_millis(500),
        register_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_millis(7500),
        write_timeout: Duration::from_secs(4),
        max_rooms_per_client: 4,
        max_room_members: 9,
        max_rooms: 5,
        max_topic: 80,
        max_key: 8,
        presence_limit: 0,
        rate: 50,
        burst: 200,
        byte_rate: 64 * 1024,
        byte_burst: 1000,
        ip_rate: 300,
        ip_byte_rate: 1024 * 1024,
        ip_rate_loopback: true,
        ..Config::default()
    };
    assert_eq!(settings.config, expected);
    assert_eq!(settings.log_level, log::LevelFilter::Debug);
    assert_eq!(settings.log_file.as_deref(), Some(Path::new("chatd.log")));
}

#[test]
fn a_flag_given_wins_over_the_file() {
    let text = "max_line = 512\nrate = 50\nsend_queue = 65536\nidle_timeout = 7\nlog_level = \"warn\"\n\
                log_file = \"a.log\"\naddr = \"127.0.0.1:9000\"\n";
    let flags = [
        "--max-line",
        "1024",
        "--send-queue",
        "1M",
        "--idle-timeout",
        "9",
        "--log-level",
        "trace",
        "--log-file",
        "b.log",
        "--addr",
        "127.0.0.1:9001",
    ];
    let settings = merged(&flags, text).unwrap();
    let config = &settings.config;
    assert_eq!(config.max_line, 1024);
    assert_eq!(config.send_queue, 1024 * 1024);
    assert_eq!(config.idle_timeout, Duration::from_secs(9));
    assert_eq!(config.addr.port(), 9001);
    assert_eq!(settings.log_level, log::LevelFilter::Trace);
    assert_eq!(settings.log_file.as_deref(), Some(Path::new("b.log")));
    // What no flag overrides still comes from the file.
    assert_eq!(config.rate, 50);
    // A flag given with the default's value is still a flag given.
    assert_eq!(config_of(&["--rate", "2000"], "rate = 50").rate, 2000);
}

#[test]
fn max_per_ip_from_the_flag_or_the_file_limits_loopback_too() {
    let (loopback, remote) = loopback_and_remote();
    let default = config_of(&[], "");
    assert_eq!(default.per_ip_limit(remote), Some(256));
    assert_eq!(default.per_ip_limit(loopback), None);
    assert_eq!(default.per_ip_limit("::1".parse().unwrap()), None);
    for (flags, text) in [
        (&["--max-per-ip", "256"][..], ""),
        (&[], "max_per_ip = 256"),
        (&["--max-per-ip", "256"], "max_per_ip = 16"),
    ] {
        let explicit = config_of(flags, text);
        assert_eq!(explicit.per_ip_limit(remote), Some(256), "{flags:?} {text}");
        assert_eq!(
            explicit.per_ip_limit(loopback),
            Some(256),
            "{flags:?} {text}"
        );
    }
    let from_file = config_of(&[], "max_per_ip = 16");
    assert_eq!(from_file.per_ip_limit(loopback), Some(16));
}

#[test]
fn an_invalid_value_in_the_file_names_its_key_file_and_line() {
    for (text, setting, says) in [
        ("workers = 0", Setting::Workers, "must be at least 1"),
        ("max_clients = 0", Setting::MaxClients, "must be at least 1"),
        ("max_per_ip = 0", Setting::MaxPerIp, "must be at least 1"),
        (
            "max_rooms_per_client = 0",
            Setting::MaxRoomsPerClient,
            "at least 1",
        ),
        (
            "max_room_members = 0",
            Setting::MaxRoomMembers,
            "at least 1",
        ),
        ("max_rooms = 0", Setting::MaxRooms, "at least 1"),
        ("max_topic = 0", Setting::MaxTopic, "at least 1"),
        ("max_key = 0", Setting::MaxKey, "at least 1"),
        (
            "max_line = 10",
            Setting::MaxLine,
            "between 64 and 1048576 bytes",
        ),
        (
            "max_line = 4096\nsend_queue = \"8K\"",
            Setting::SendQueue,
            "(8192 bytes)",
        ),
        ("register_timeout = 0", Setting::RegisterTimeout, "above 0"),
        ("idle_timeout = nan", Setting::IdleTimeout, "above 0"),
        ("idle_timeout = inf", Setting::IdleTimeout, "below 1e9"),
        ("write_timeout = 0", Setting::WriteTimeout, "above 0"),
        ("drain_timeout = -1", Setting::DrainTimeout, "0 or more"),
        ("drain_timeout = 1e12", Setting::DrainTimeout, "below 1e9"),
        (
            "burst = 0",
            Setting::Burst,
            "or turn flood control off with --rate 0",
        ),
        (
            "byte_burst = 0",
            Setting::ByteBurst,
            "or turn the byte limit off with --byte-rate 0",
        ),
        ("log_level = \"loud\"", Setting::LogLevel, "not \"loud\""),
        ("addr = \"nowhere\"", Setting::Addr, "nowhere"),
    ] {
        let text = format!("# line 1\n{text}\n");
        let line = text.lines().count();
        let reason = refused(&[], &text, setting);
        let place = format!("{} at chatd.toml:{line}", setting.key());
        assert!(reason.starts_with(&place), "{text}: {reason}");
        assert!(reason.contains(says), "{text}: {reason}");
    }
    // No burst is fine once flood control is off.
    assert!(merged(&[], "rate = 0\nburst = 0").is_ok());
}

#[test]
fn the_merged_result_is_checked_as_a_whole() {
    // Each half is fine alone; together the queue cannot hold four longest lines.
    let reason = refused(
        &["--send-queue", "16K"],
        "max_line = 8192",
        Setting::SendQueue,
    );
    assert_eq!(
        reason,
        "--send-queue (16384 bytes) must be at least 4 x max_line at chatd.toml:1 (32768 bytes)"
    );
    let reason = refused(
        &["--max-line", "8192"],
        "\nsend_queue = \"16K\"",
        Setting::SendQueue,
    );
    assert_eq!(
        reason,
        "send_queue at chatd.toml:2 (16384 bytes) must be at least 4 x --max-line (32768 bytes)"
    );
    let reason = refused(&[], "rate = 10\nburst = 0", Setting::Burst);
    assert!(reason.ends_with("with rate at chatd.toml:1 0)"), "{reason}");
    // A flag that replaces a bad value of the file leaves nothing to refuse.
    assert_eq!(
        config_of(&["--max-line", "100"], "max_line = 10").max_line,
        100
    );
    assert_eq!(config_of(&["--burst", "5"], "burst = 0").burst, 5);
}

#[test]
fn config_reads_the_file_it_names() {
    let path = std::env::temp_dir().join(format!("chatd-config-{}.toml", std::process::id()));
    std::fs::write(&path, "max_line = 512\nrate = 50\n").unwrap();
    let path_text = path.to_str().unwrap();
    let settings = args(&["--config", path_text, "--rate", "7"]).settings();
    let missing = args(&["--config", "/nonexistent/chatd.toml"]).settings();
    let unknown = {
        std::fs::write(&path, "rate = 50\nmax_lines = 512\n").unwrap();
        args(&["--config", path_text]).settings()
    };
    std::fs::remove_file(&path).unwrap();
    let config = settings.unwrap().config;
    assert_eq!((config.max_line, config.rate), (512, 7));
    assert!(matches!(missing, Err(ConfigError::Unreadable { .. })));
    let unknown = unknown.unwrap_err().to_string();
    assert!(
        unknown.starts_with(&format!("{path_text}:2: unknown key `max_lines`")),
        "{unknown}"
    );
    // The text form, for callers that only show it.
    let error = args(&["--config", "/nonexistent/chatd.toml"])
        .into_config()
        .unwrap_err();
    assert!(
        error.starts_with("cannot read the configuration file /nonexistent/chatd.toml: "),
        "{error}"
    );
}

/// The example with the commented-out `# key = value` line of `key` made active.
fn example_with(key: &str) -> String {
    let commented = format!("# {key} = ");
    assert_eq!(EXAMPLE.matches(&commented).count(), 1, "{key}");
    EXAMPLE.replace(&commented, &format!("{key} = "))
}

/// The value the example gives `key`, as written there (quotes removed), whether active or not.
fn example_value(key: &str) -> String {
    let line = EXAMPLE
        .lines()
        .map(|line| line.trim_start_matches("# "))
        .find(|line| line.starts_with(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("chatd.example.toml has no key {key}"));
    line[key.len() + 3..].trim_matches('"').to_owned()
}

#[test]
fn the_example_file_parses_to_the_defaults() {
    let example = merged(&[], EXAMPLE).unwrap();
    assert_eq!(example, args(&[]).settings().unwrap());
    assert_eq!(example.config, Config::default());
}

#[test]
fn the_example_file_has_every_flag_as_a_key() {
    for arg in Args::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if ["config", "help", "version"].contains(&long) {
            continue;
        }
        example_value(&long.replace('-', "_"));
    }
}

#[test]
fn the_keys_left_out_of_the_example_are_sound_when_set() {
    let active: Vec<&str> = EXAMPLE
        .lines()
        .filter_map(|line| line.split_once(" = ").map(|(key, _)| key))
        .collect();
    assert!(
        !active
            .iter()
            .any(|key| key.starts_with('#') && !key.starts_with("# "))
    );
    let commented: Vec<&str> = active
        .iter()
        .filter_map(|key| key.strip_prefix("# "))
        .collect();
    assert_eq!(
        commented,
        [
            "workers",
            "max_per_ip",
            "connect_rate",
            "ip_rate",
            "ip_byte_rate",
            "web_url",
            "tls_cert",
            "tls_key",
            "tls_addr",
            "cluster",
            "cluster_replicas",
            "log_file"
        ]
    );
    let cluster = merged(&[], &example_with("cluster")).unwrap().config;
    assert_eq!(cluster.cluster, ["nats://127.0.0.1:4222"]);
    let replicas = merged(&[], &example_with("cluster_replicas"))
        .unwrap()
        .config;
    assert_eq!(replicas.cluster_replicas, 1);
    let defaults = Config::default();
    let web_url = merged(&[], &example_with("web_url")).unwrap().config;
    assert_eq!(
        web_url.web_base().as_deref(),
        Some("http://chat.example.org:8080")
    );
    assert_eq!(
        defaults.web_base().as_deref(),
        Some("http://127.0.0.1:8080")
    );
    let workers = merged(&[], &example_with("workers")).unwrap();
    assert_eq!(workers.config.workers, 4);
    let log_file = merged(&[], &example_with("log_file")).unwrap();
    assert_eq!(log_file.log_file.as_deref(), Some(Path::new("chatd.log")));
    // The one that changes behaviour at its default value: loopback becomes limited.
    let (loopback, remote) = loopback_and_remote();
    let max_per_ip = merged(&[], &example_with("max_per_ip")).unwrap().config;
    assert_eq!(max_per_ip.max_per_ip, defaults.max_per_ip);
    assert_eq!(
        max_per_ip.per_ip_limit(remote),
        defaults.per_ip_limit(remote)
    );
    assert_eq!(defaults.per_ip_limit(loopback), None);
    assert_eq!(max_per_ip.per_ip_limit(loopback), Some(256));
    assert_eq!(
        Config {
            max_per_ip_loopback: false,
            ..max_per_ip
        },
        defaults
    );
    // So does connect_rate's.
    let connect_rate = merged(&[], &example_with("connect_rate")).unwrap().config;
    assert_eq!(connect_rate.connect_rate, defaults.connect_rate);
    assert_eq!(defaults.connect_rate_limit(loopback), None);
    assert_eq!(connect_rate.connect_rate_limit(loopback), Some(20));
    assert_eq!(
        Config {
            connect_rate_loopback: false,
            ..connect_rate
        },
        defaults
    );
    // Likewise for the address budgets: only loopback changes.
    for key in ["ip_rate", "ip_byte_rate"] {
        let budget = merged(&[], &example_with(key)).unwrap().config;
        assert!(budget.address_budget_applies(loopback), "{key}");
        assert_eq!(
            Config {
                ip_rate_loopback: false,
                ..budget
            },
            defaults,
            "{key}"
        );
    }
}

#[test]
fn issue_13_connect_rate_limits_loopback_only_when_given_and_0_turns_it_off() {
    let (loopback, remote) = loopback_and_remote();
    let default = config_of(&[], "");
    assert_eq!(default.connect_rate_limit(remote), Some(20));
    assert_eq!(default.connect_rate_limit(loopback), None);
    for (flags, text) in [
        (&["--connect-rate", "5"][..], ""),
        (&[], "connect_rate = 5"),
    ] {
        let given = config_of(flags, text);
        assert_eq!(
            given.connect_rate_limit(remote),
            Some(5),
            "{flags:?} {text}"
        );
        assert_eq!(
            given.connect_rate_limit(loopback),
            Some(5),
            "{flags:?} {text}"
        );
    }
    let off = config_of(&["--connect-rate", "0"], "");
    assert_eq!(off.connect_rate_limit(remote), None);
    assert_eq!(off.connect_rate_limit(loopback), None);
}

#[test]
fn issue_13_an_address_budget_given_anywhere_limits_loopback_too() {
    let (loopback, remote) = loopback_and_remote();
    let default = config_of(&[], "");
    assert!(default.address_budget_applies(remote));
    assert!(!default.address_budget_applies(loopback));
    assert!(!default.address_budget_applies("::1".parse().unwrap()));
    for (flags, text) in [
        (&["--ip-rate", "20000"][..], ""),
        (&["--ip-byte-rate", "32M"], ""),
        (&[], "ip_rate = 100"),
        (&[], "ip_byte_rate = \"1M\""),
    ] {
        let explicit = config_of(flags, text);
        assert!(
            explicit.address_budget_applies(loopback),
            "{flags:?} {text}"
        );
        assert!(explicit.address_budget_applies(remote), "{flags:?} {text}");
    }
    // --rate 0 turns all flood control off, the address budgets included; both at 0 too.
    for flags in [
        &["--rate", "0", "--ip-rate", "5"][..],
        &["--ip-rate", "0", "--ip-byte-rate", "0"],
    ] {
        let off = config_of(flags, "");
        assert!(!off.address_budget_applies(remote), "{flags:?}");
        assert!(!off.address_budget_applies(loopback), "{flags:?}");
    }
    assert!(config_of(&["--ip-rate", "0"], "").address_budget_applies(remote));
}

#[test]
fn help_shows_the_defaults_the_example_holds() {
    for arg in Args::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if ["config", "help", "version"].contains(&long) {
            continue;
        }
        let key = long.replace('-', "_");
        let help = arg
            .get_help()
            .expect("every flag has a help text")
            .to_string();
        let shown = match key.as_str() {
            "workers" => "number of cores".to_owned(),
            "log_file" => "none".to_owned(),
            "web_url" => "http:// (https:// with --tls-cert) and the --http address".to_owned(),
            "tls_cert" | "tls_key" => "none".to_owned(),
            "tls_addr" => "the --addr host, port 6697".to_owned(),
            "cluster" => "none".to_owned(),
            _ => example_value(&key),
        };
        assert!(
            help.ends_with(&format!("[default: {shown}]")),
            "--{long}: {help:?} against the example's {shown}"
        );
    }
}

#[test]
fn issue_12_an_unknown_log_level_is_told_the_levels() {
    let error = Args::try_parse_from(["chatd", "--log-level", "verbose"]).unwrap_err();
    assert_eq!(error.kind(), clap::error::ErrorKind::InvalidValue);
    let text = error.render().to_string();
    assert!(
        text.contains("invalid value 'verbose' for '--log-level"),
        "{text}"
    );
    assert!(
        text.contains("[possible values: off, error, warn, info, debug, trace]"),
        "{text}"
    );
    // The levels keep the spellings `log` accepts.
    for (given, level) in [
        ("trace", log::LevelFilter::Trace),
        ("WARN", log::LevelFilter::Warn),
        ("Off", log::LevelFilter::Off),
    ] {
        assert_eq!(args(&["--log-level", given]).log_level, Some(level));
    }
    // Listed once in --help: the help text names them already.
    let help = Args::command().render_help().to_string();
    assert!(!help.contains("possible values"), "{help}");
    let reason = refused(&[], "log_level = \"verbose\"", Setting::LogLevel);
    assert_eq!(
        reason,
        "log_level at chatd.toml:1 must be one of off, error, warn, info, debug, trace, \
         not \"verbose\""
    );
}

#[test]
fn issue_12_an_address_without_a_port_is_shown_the_form() {
    let error = args(&["--addr", "7878"]).settings().unwrap_err();
    assert_eq!(
        error.to_string(),
        "--addr 7878: use host:port, e.g. 127.0.0.1:7878, 0.0.0.0:7878 or [::]:7878"
    );
    let reason = refused(&[], "addr = \"7878\"", Setting::Addr);
    assert_eq!(
        reason,
        "addr at chatd.toml:1 7878: use host:port, e.g. 127.0.0.1:7878, 0.0.0.0:7878 or [::]:7878"
    );
    let every_interface = ["0.0.0.0:7878", "[::]:7878"];
    for addr in every_interface {
        assert_eq!(
            args(&["--addr", addr]).settings().unwrap().config.addr,
            addr.parse().unwrap()
        );
    }
}

mod account;
mod history;
mod tls;
mod web;
