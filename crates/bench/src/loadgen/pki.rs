//! The certificates of a TLS run: for a server the benchmark starts, a certificate authority
//! and a server certificate made at start (rcgen), the server's files in a folder removed
//! after; for a server someone else runs, what `--ca` names or the system's roots.
//!
//! In scope: making and writing those, and the rustls client configuration that trusts
//! them. Out of scope: the handshake and the records (`tls`), passing the files to a server
//! (`target`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tempfile::TempDir;

/// The names the certificate of a server the benchmark starts is good for: it listens on
/// loopback.
const SERVER_NAMES: [&str; 2] = ["127.0.0.1", "localhost"];

/// A certificate authority and a server certificate it signed, for one server of a run.
pub struct RunPki {
    /// Holds `cert.pem`, `key.pem` and `ca.pem`; removed when the server is done with them.
    dir: TempDir,
    /// The authority's certificate, the one thing the clients trust.
    authority: CertificateDer<'static>,
}

impl RunPki {
    /// Makes a fresh authority and server certificate (ECDSA P-256) and writes the server's
    /// certificate and key to a folder of their own.
    pub fn new() -> io::Result<RunPki> {
        let made = make().map_err(|e| io::Error::other(format!("making a certificate: {e}")))?;
        let dir = tempfile::Builder::new()
            .prefix("chatd-bench-tls-")
            .tempdir()?;
        fs::write(dir.path().join("cert.pem"), made.cert_pem)?;
        fs::write(dir.path().join("key.pem"), made.key_pem)?;
        fs::write(dir.path().join("ca.pem"), made.authority_pem)?;
        Ok(RunPki {
            dir,
            authority: made.authority,
        })
    }

    /// The server's certificate, PEM (`--tls-cert`).
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }

    /// The server's private key, PEM (`--tls-key`).
    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// The authority's certificate, PEM: what a client given `--ca` trusts.
    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// A client configuration that trusts this authority alone.
    pub fn client_config(&self) -> io::Result<Arc<ClientConfig>> {
        let mut roots = RootCertStore::empty();
        roots
            .add(self.authority.clone())
            .map_err(|e| io::Error::other(format!("the run's own authority: {e}")))?;
        client_config(roots)
    }
}

struct Made {
    cert_pem: String,
    key_pem: String,
    authority_pem: String,
    authority: CertificateDer<'static>,
}

fn make() -> Result<Made, rcgen::Error> {
    let mut authority = CertificateParams::new(Vec::<String>::new())?;
    authority.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    authority.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    authority
        .distinguished_name
        .push(DnType::CommonName, "chatd-bench test authority");
    let authority = CertifiedIssuer::self_signed(authority, KeyPair::generate()?)?;
    let names: Vec<String> = SERVER_NAMES.iter().map(|&n| n.to_owned()).collect();
    let mut server = CertificateParams::new(names)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "chatd-bench server");
    let key = KeyPair::generate()?;
    let cert = server.signed_by(&key, &authority)?;
    Ok(Made {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        authority_pem: authority.pem(),
        authority: authority.der().clone(),
    })
}

/// A client configuration that trusts the certificates in the PEM file at `ca` (`--ca`), or
/// without one the system's roots.
pub fn trusting(ca: Option<&Path>) -> io::Result<Arc<ClientConfig>> {
    let mut roots = RootCertStore::empty();
    match ca {
        Some(path) => {
            let named = |e: &dyn std::fmt::Display| {
                io::Error::other(format!("--ca {}: {e}", path.display()))
            };
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| named(&e))? {
                roots
                    .add(cert.map_err(|e| named(&e))?)
                    .map_err(|e| named(&e))?;
            }
            if roots.is_empty() {
                return Err(named(&"no certificate in the file"));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(io::Error::other(
                    "no trusted root certificates on this system: give --ca FILE",
                ));
            }
        }
    }
    client_config(roots)
}

/// TLS 1.3 and 1.2, as the server speaks, with the cryptography the workspace builds rustls
/// with (the server's), trusting `roots`; no client certificate.
fn client_config(roots: RootCertStore) -> io::Result<Arc<ClientConfig>> {
    let config = ClientConfig::builder_with_protocol_versions(&[
        &rustls::version::TLS13,
        &rustls::version::TLS12,
    ])
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name a server's certificate must carry when it is reached as `host` (an address or a
/// DNS name, as given to `--tls-addr`).
pub fn server_name(host: &str) -> io::Result<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned())
        .map_err(|e| io::Error::other(format!("{host} cannot name a TLS server: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_s_certificate_is_written_and_trusted() {
        let pki = RunPki::new().unwrap();
        let cert = fs::read_to_string(pki.cert_path()).unwrap();
        assert!(cert.starts_with("-----BEGIN CERTIFICATE-----"), "{cert}");
        let key = fs::read_to_string(pki.key_path()).unwrap();
        assert!(key.contains("PRIVATE KEY-----"), "{key}");
        assert!(pki.client_config().is_ok());
        // The authority's file is what --ca reads.
        assert!(trusting(Some(&pki.ca_path())).is_ok());
        // A --ca file that cannot be read is named in the error.
        let missing = trusting(Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(missing.to_string().starts_with("--ca /nonexistent/ca.pem"));
    }

    #[test]
    fn addresses_and_names_are_server_names() {
        assert!(matches!(
            server_name("127.0.0.1").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("chat.example").unwrap(),
            ServerName::DnsName(_)
        ));
        assert!(server_name("not a name").is_err());
    }
}
