//! Unit tests of the web listener's settings (issue 17): `--http`, `--web-url` and the files'
//! limits, their defaults and checks. Out of scope: serving (the server's tests).

use super::*;

#[test]
fn issue_17_the_web_listener_is_on_by_default_and_off_takes_it_away() {
    let defaults = args(&[]).settings().unwrap().config;
    assert_eq!(defaults.http, Some("127.0.0.1:8080".parse().unwrap()));
    assert_eq!(
        args(&["--http", "off"]).settings().unwrap().config.http,
        None
    );
    assert_eq!(config_of(&[], "http = \"off\"\n").http, None);
    let wildcard = args(&["--http", "0.0.0.0:8081"]).settings().unwrap().config;
    assert_eq!(
        wildcard.web_base().as_deref(),
        Some("http://127.0.0.1:8081")
    );
    assert_eq!(
        args(&["--http", "8080"])
            .settings()
            .unwrap_err()
            .to_string(),
        "--http 8080: use host:port, e.g. 127.0.0.1:7878, 0.0.0.0:7878 or [::]:7878 (or off)"
    );
    for bad in ["ftp://x", "http://", "http://host/path", "http://a b"] {
        let error = args(&["--web-url", bad])
            .settings()
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("--web-url must be"), "{bad}: {error}");
    }
    let sized = args(&["--max-file-size", "2G", "--file-quota", "1G"]);
    assert_eq!(
        sized.settings().unwrap_err().to_string(),
        "--max-file-size must be at least 1 byte and at most --file-quota"
    );
    let fine = args(&[
        "--max-file-size",
        "10M",
        "--file-quota",
        "2G",
        "--file-days",
        "30",
    ]);
    let fine = fine.settings().unwrap().config;
    assert_eq!(
        (fine.max_file_size, fine.file_quota, fine.file_lifetime),
        (10 << 20, 2 << 30, Duration::from_secs(30 * 24 * 60 * 60))
    );
    assert!(args(&["--file-days", "0"]).settings().is_err());
}
