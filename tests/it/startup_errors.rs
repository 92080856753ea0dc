//! The `chatd` binary refusing to start (issue 12, point 7): each bad value is named with what
//! to write instead, on stderr, with a non-zero exit status and before anything listens. The
//! messages themselves are unit-tested in `src/config` and `src/logging.rs`; these tests show
//! that the binary prints them.

use chatd_testkit::TestPki;

use crate::support::{TempFile, run_chatd_to_exit};

/// clap's exit status for a flag it refuses.
const USAGE_ERROR: i32 = 2;
/// `chatd`'s exit status for settings it refuses.
const SETTINGS_ERROR: i32 = 1;

#[test]
fn issue_12_an_unknown_log_level_lists_the_levels() {
    let (status, stderr) = run_chatd_to_exit(&["--addr", "127.0.0.1:0", "--log-level", "verbose"]);
    assert_eq!(status.code(), Some(USAGE_ERROR), "{stderr}");
    assert!(
        stderr.contains("invalid value 'verbose' for '--log-level <LOG_LEVEL>'"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[possible values: off, error, warn, info, debug, trace]"),
        "{stderr}"
    );
    let file = TempFile::new("level.toml", "log_level = \"verbose\"\n");
    let (status, stderr) = run_chatd_to_exit(&["--addr", "127.0.0.1:0", "--config", file.path()]);
    assert_eq!(status.code(), Some(SETTINGS_ERROR), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "chatd: log_level at {}:1 must be one of off, error, warn, info, debug, trace, \
             not \"verbose\"\n",
            file.path()
        )
    );
}

#[test]
fn issue_12_a_log_file_that_cannot_be_opened_is_named() {
    let missing = std::env::temp_dir()
        .join(format!("chatd-it-{}-no-such-dir", std::process::id()))
        .join("chatd.log");
    let missing = missing.to_str().unwrap();
    let (status, stderr) = run_chatd_to_exit(&["--addr", "127.0.0.1:0", "--log-file", missing]);
    assert_eq!(status.code(), Some(SETTINGS_ERROR), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "chatd: cannot open the log file {missing}: No such file or directory (os error 2)\n"
        )
    );
    // Given in the configuration file, the path is named the same way.
    let file = TempFile::new("log.toml", &format!("log_file = \"{missing}\"\n"));
    let (status, stderr) = run_chatd_to_exit(&["--addr", "127.0.0.1:0", "--config", file.path()]);
    assert_eq!(status.code(), Some(SETTINGS_ERROR), "{stderr}");
    assert!(
        stderr.starts_with(&format!("chatd: cannot open the log file {missing}: ")),
        "{stderr}"
    );
}

#[test]
fn issue_12_an_address_without_a_host_is_shown_the_form() {
    let (status, stderr) = run_chatd_to_exit(&["--addr", "7878"]);
    assert_eq!(status.code(), Some(SETTINGS_ERROR), "{stderr}");
    assert_eq!(
        stderr,
        "chatd: --addr 7878: use host:port, e.g. 127.0.0.1:7878, 0.0.0.0:7878 or [::]:7878\n"
    );
    let file = TempFile::new("addr.toml", "addr = \"7878\"\n");
    let (status, stderr) = run_chatd_to_exit(&["--config", file.path()]);
    assert_eq!(status.code(), Some(SETTINGS_ERROR), "{stderr}");
    assert_eq!(
        stderr,
        format!(
            "chatd: addr at {}:1 7878: use host:port, e.g. 127.0.0.1:7878, 0.0.0.0:7878 or \
             [::]:7878\n",
            file.path()
        )
    );
}

#[test]
fn issue_18_a_certificate_and_a_key_that_do_not_belong_together_stop_the_start() {
    let (pki, other) = (TestPki::new(), TestPki::new());
    let (cert, key) = (pki.cert_path(), other.key_path());
    let args = [
        "--addr",
        "127.0.0.1:0",
        "--http",
        "off",
        "--ephemeral",
        "--tls-addr",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    let (status, stderr) = run_chatd_to_exit(&args);
    assert!(!status.success());
    assert!(
        stderr.contains("the TLS certificate: ")
            && stderr.contains("the key is not the certificate's"),
        "{stderr}"
    );
    let missing = args.map(|arg| {
        if arg == cert.to_str().unwrap() {
            "/nonexistent/cert.pem"
        } else {
            arg
        }
    });
    let (status, stderr) = run_chatd_to_exit(&missing);
    assert!(!status.success());
    assert!(
        stderr.contains("/nonexistent/cert.pem: No such file"),
        "{stderr}"
    );
}
