//! `chatd tls self-signed` (issue 18), against the `chatd` binary: it writes `cert.pem` and
//! `key.pem` (the key for its owner only) and says how to use them, refuses to replace them
//! without `--force`, and what it wrote works as a server's certificate and key and, the
//! same certificate, as a client's `--ca`: rustls's verifier completes a handshake for each
//! name the certificate is for, and refuses any other name.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;
use std::sync::Arc;
use std::thread;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

use crate::support::{DEADLINE, chatd_output};

/// Runs `chatd tls self-signed` with `args`; fails the test after the deadline.
fn self_signed(args: &[&str]) -> Output {
    chatd_output(&[&["tls", "self-signed"], args].concat())
}

/// The workspace's cryptography, as the server's.
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A server config with the written certificate and key, as `--tls-cert`/`--tls-key`.
fn server_config(dir: &Path) -> Arc<ServerConfig> {
    let chain = CertificateDer::pem_file_iter(dir.join("cert.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("key.pem")).unwrap();
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}

/// A client config trusting only the written certificate, as `chat --ca DIR/cert.pem`.
fn client_config(dir: &Path) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(dir.join("cert.pem")).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TLS handshake over loopback between the written certificate's server and a client
/// trusting it, which checks the name `name`; then a line each way. The client's error if
/// the handshake fails.
fn handshake(dir: &Path, name: &str) -> Result<(), rustls::Error> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server_config = server_config(dir);
    let server = thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        tcp.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut session = ServerConnection::new(server_config).unwrap();
        let mut tcp_ref = &tcp;
        let mut stream = rustls::Stream::new(&mut session, &mut tcp_ref);
        let mut line = String::new();
        // A refused handshake ends here with the client's alert.
        if BufReader::new(&mut stream).read_line(&mut line).is_ok() {
            let _ = stream.write_all(format!("echo {line}").as_bytes());
        }
    });
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(DEADLINE)).unwrap();
    let name = ServerName::try_from(name.to_owned()).unwrap();
    let mut session = ClientConnection::new(client_config(dir), name).unwrap();
    let mut tcp_ref = &tcp;
    let result = (|| {
        while session.is_handshaking() {
            session.complete_io(&mut tcp_ref)?;
        }
        let mut stream = rustls::Stream::new(&mut session, &mut tcp_ref);
        stream.write_all(b"PING over-tls\n")?;
        let mut line = String::new();
        BufReader::new(&mut stream).read_line(&mut line)?;
        assert_eq!(line, "echo PING over-tls\n");
        Ok::<(), std::io::Error>(())
    })();
    drop(tcp);
    server.join().unwrap();
    result.map_err(|error| {
        error
            .into_inner()
            .and_then(|inner| inner.downcast::<rustls::Error>().ok())
            .map_or_else(
                || panic!("the handshake failed, not for TLS"),
                |error| *error,
            )
    })
}

#[test]
fn issue_18_self_signed_writes_a_cert_that_serves_and_is_its_own_ca() {
    let folder = tempfile::tempdir().unwrap();
    // A folder that is not there yet is made.
    let dir = folder.path().join("tls");
    let dir_arg = dir.to_str().unwrap();
    let output = self_signed(&[
        "--out",
        dir_arg,
        "--name",
        "chat.example.org",
        "--name",
        "10.1.2.3",
    ]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(output.status.success(), "{stderr}");
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    for next_step in [
        format!(
            "chatd --tls-cert {} --tls-key {}",
            cert.display(),
            key.display()
        ),
        format!("chat --tls --ca {}", cert.display()),
    ] {
        assert!(stdout.contains(&next_step), "{next_step:?} in {stdout}");
    }
    let key_mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(key_mode, 0o600, "{key_mode:o}");

    for name in [
        "localhost",
        "127.0.0.1",
        "::1",
        "chat.example.org",
        "10.1.2.3",
    ] {
        handshake(&dir, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // The client really checks: a name the certificate is not for is refused.
    let refused = handshake(&dir, "other.example.org").unwrap_err();
    assert!(
        matches!(
            refused,
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. }
            )
        ),
        "{refused:?}"
    );
}

#[test]
fn issue_18_self_signed_refuses_to_replace_its_files_without_force() {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path().to_str().unwrap();
    assert!(self_signed(&["--out", dir]).status.success());
    let cert = std::fs::read_to_string(folder.path().join("cert.pem")).unwrap();
    let key = std::fs::read_to_string(folder.path().join("key.pem")).unwrap();

    let again = self_signed(&["--out", dir]);
    assert!(!again.status.success());
    let stderr = String::from_utf8(again.stderr).unwrap();
    assert!(
        stderr.contains("cert.pem") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(folder.path().join("cert.pem")).unwrap(),
        cert
    );
    assert_eq!(
        std::fs::read_to_string(folder.path().join("key.pem")).unwrap(),
        key
    );

    let forced = self_signed(&["--out", dir, "--force"]);
    assert!(forced.status.success());
    assert_ne!(
        std::fs::read_to_string(folder.path().join("key.pem")).unwrap(),
        key
    );
    handshake(folder.path(), "localhost").unwrap();
}
