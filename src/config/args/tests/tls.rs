//! Unit tests of the TLS settings (issue 18): `--tls-cert`, `--tls-key`, `--tls-addr` and
//! `--allow-plain-passwords`, their file keys and checks. Out of scope: reading the files and
//! serving TLS (the server's tests).

use super::*;

#[test]
fn issue_18_the_example_tls_keys_turn_tls_on_at_port_6697() {
    // The certificate and key go together; the example's files need not exist to parse.
    let tls = example_with("tls_cert").replace("# tls_key", "tls_key");
    let tls = merged(&[], &tls).unwrap().config;
    let (cert, key, tls_addr) = tls.tls_listener().expect("TLS on");
    assert_eq!(
        (cert, key),
        (Path::new("tls/cert.pem"), Path::new("tls/key.pem"))
    );
    assert_eq!(tls_addr, "127.0.0.1:6697".parse().unwrap());
    assert_eq!(tls.web_base().as_deref(), Some("https://127.0.0.1:8080"));
    let tls_addr = merged(&[], &example_with("tls_addr")).unwrap().config;
    assert_eq!(
        tls_addr.tls_listener(),
        None,
        "no TLS without a certificate"
    );
}

#[test]
fn issue_18_the_tls_port_follows_the_addr_host_unless_given() {
    let flags = [
        "--addr",
        "0.0.0.0:7000",
        "--tls-cert",
        "c.pem",
        "--tls-key",
        "k.pem",
    ];
    let config = config_of(&flags, "");
    assert_eq!(
        config.tls_listener().unwrap().2,
        "0.0.0.0:6697".parse().unwrap()
    );
    let config = config_of(
        &[&flags[..], &["--tls-addr", "127.0.0.1:7001"]].concat(),
        "",
    );
    assert_eq!(
        config.tls_listener().unwrap().2,
        "127.0.0.1:7001".parse().unwrap()
    );
    assert!(!config.allow_plain_passwords);
    assert!(config_of(&["--allow-plain-passwords"], "").allow_plain_passwords);
}

#[test]
fn issue_18_a_certificate_without_its_key_is_refused() {
    let error = Args::try_parse_from(["chatd", "--tls-cert", "c.pem"]).unwrap_err();
    assert_eq!(
        error.kind(),
        clap::error::ErrorKind::MissingRequiredArgument
    );
    let file_error = merged(&[], "tls_key = \"k.pem\"\n")
        .unwrap_err()
        .to_string();
    assert!(file_error.contains("needs --tls-cert"), "{file_error}");
}
