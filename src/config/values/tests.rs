//! Unit tests of the settings' values: their checks and parsers.

use super::*;

fn flag(setting: Setting) -> String {
    setting.flag().to_owned()
}

#[test]
fn sizes_take_units() {
    assert_eq!(parse_bytes("65536"), Ok(65536));
    assert_eq!(parse_bytes("64K"), Ok(65536));
    assert_eq!(parse_bytes("2m"), Ok(2 * 1024 * 1024));
    assert!(parse_bytes("12X").is_err());
    assert!(parse_bytes("K").is_err());
}

#[test]
fn issue_12_an_address_without_host_or_port_says_how_to_write_one() {
    for text in [
        "7878",
        ":7878",
        "localhost",
        "127.0.0.1",
        "127.0.0.1:99999",
        "::1",
        "",
    ] {
        assert_eq!(socket_addr(text), Err(ADDR_HINT.to_owned()), "{text:?}");
    }
    assert!(ADDR_HINT.contains("0.0.0.0:7878"));
    for text in ["127.0.0.1:7878", "0.0.0.0:0", "[::]:7878", "localhost:7878"] {
        assert!(socket_addr(text).is_ok(), "{text:?}");
    }
}

#[test]
fn log_levels_are_those_log_knows() {
    for level in LOG_LEVELS {
        assert_eq!(
            level
                .parse::<log::LevelFilter>()
                .map(|l| l.to_string().to_lowercase()),
            Ok(level.to_owned())
        );
    }
    let all: Vec<String> = log::LevelFilter::iter()
        .map(|l| l.to_string().to_lowercase())
        .collect();
    assert_eq!(all, LOG_LEVELS);
}

#[test]
fn seconds_are_finite_and_bounded() {
    let idle = |value, zero_allowed| seconds(Setting::IdleTimeout, value, zero_allowed, &flag);
    assert_eq!(idle(1.5, false), Ok(Duration::from_millis(1500)));
    assert_eq!(idle(0.0, true), Ok(Duration::ZERO));
    for (value, zero_allowed) in [
        (0.0, false),
        (-0.5, true),
        (f64::NAN, true),
        (f64::INFINITY, true),
        (1e9, true),
    ] {
        let Err(ConfigError::Invalid { setting, reason }) = idle(value, zero_allowed) else {
            panic!("{value} was taken");
        };
        assert_eq!(setting, Setting::IdleTimeout);
        assert!(reason.starts_with("--idle-timeout must be"), "{reason}");
    }
}

#[test]
fn validate_names_the_flags() {
    assert_eq!(Config::default().validate(), Ok(()));
    let config = Config {
        max_line: 10,
        ..Config::default()
    };
    assert_eq!(
        config.validate(),
        Err("--max-line must be between 64 and 1048576 bytes".to_owned())
    );
    let config = Config {
        idle_timeout: Duration::ZERO,
        ..Config::default()
    };
    assert_eq!(
        config.validate(),
        Err("--idle-timeout must be above 0".to_owned())
    );
    // A window set in code below the flag's unit is refused as the flag's 0 is.
    let config = Config {
        history_flush: Duration::from_micros(500),
        ..Config::default()
    };
    assert_eq!(
        config.validate(),
        Err("--history-flush-ms must be between 1 and 10000 milliseconds".to_owned())
    );
}

#[test]
fn issue_19_cluster_takes_nats_addresses_and_a_replica_count() {
    assert_eq!(
        cluster_urls(" nats://a:4222 ,nats://b:4223,, "),
        ["nats://a:4222", "nats://b:4223"]
    );
    for good in [
        "nats://127.0.0.1:4222",
        "nats://nats.example.org:14222",
        "nats://[::1]:4222",
    ] {
        assert!(is_nats_url(good), "{good}");
    }
    for bad in [
        "127.0.0.1:4222",
        "nats://:4222",
        "nats://host",
        "nats://host:0",
        "http://h:1",
        "nats://a/b:1",
    ] {
        assert!(!is_nats_url(bad), "{bad}");
    }
    let mut config = Config {
        cluster: vec!["tcp://x:1".to_owned()],
        ..Config::default()
    };
    assert!(config.validate().unwrap_err().contains("nats://HOST:PORT"));
    config.cluster = vec!["nats://x:1".to_owned()];
    config.cluster_replicas = 6;
    assert!(config.validate().unwrap_err().contains("1 to 5"));
    config.cluster_replicas = 3;
    assert_eq!(config.validate(), Ok(()));
}
