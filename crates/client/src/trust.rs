//! Which servers the client believes (issue 18): the certificate authorities it trusts, and
//! what a refused certificate is told as.
//!
//! In scope: the roots, either the system's (read once per process by
//! `rustls-native-certs`) or only the CA of `--ca` (a PEM file); the rustls configuration of
//! the chat connection and the one of the file threads (ureq), built from the same roots;
//! and a TLS failure in plain words (which host, why). Out of scope: sockets and handshakes
//! (`net`), HTTP (`transfer`).
//!
//! `--ca` replaces the system's roots rather than adding to them: a private CA is for a
//! private server, and a public CA (the system's list) must then not be able to vouch for
//! it; it also works on a machine with no list at all.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};

/// The roots the client trusts, and the chat connection's configuration built from them.
/// Cloning is cheap: both are shared.
#[derive(Clone)]
pub struct Trust {
    roots: Arc<Vec<CertificateDer<'static>>>,
    origin: Origin,
    chat: Arc<ClientConfig>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Origin {
    System,
    CaFile(PathBuf),
}

impl fmt::Debug for Trust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trust")
            .field("origin", &self.origin)
            .field("roots", &self.roots.len())
            .finish()
    }
}

impl Trust {
    /// The system's trusted roots. They are read once per process; a system without any
    /// yields a `Trust` that refuses every server, each refusal saying to give `--ca`.
    pub fn system() -> Trust {
        static SYSTEM: OnceLock<Trust> = OnceLock::new();
        SYSTEM
            .get_or_init(|| {
                let found = rustls_native_certs::load_native_certs();
                Trust::new(found.certs, Origin::System)
            })
            .clone()
    }

    /// Only the CA certificates of the PEM file at `path` (`--ca`): a private CA, or the
    /// self-signed certificate of `chatd tls self-signed` itself.
    pub fn ca_file(path: &Path) -> Result<Trust, String> {
        let why = |e: &dyn fmt::Display| format!("--ca {}: {e}", path.display());
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| why(&e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| why(&e))?;
        if certs.is_empty() {
            return Err(why(&"no certificate in it (PEM, BEGIN CERTIFICATE)"));
        }
        let trust = Trust::new(certs, Origin::CaFile(path.to_owned()));
        if trust.roots.is_empty() {
            return Err(why(&"no usable certificate in it"));
        }
        Ok(trust)
    }

    fn new(certs: Vec<CertificateDer<'static>>, origin: Origin) -> Trust {
        let mut store = RootCertStore::empty();
        // A system list may hold a few certificates webpki cannot use; they are left out.
        let mut usable = Vec::with_capacity(certs.len());
        for cert in certs {
            if store.add(cert.clone()).is_ok() {
                usable.push(cert);
            }
        }
        let chat = ClientConfig::builder_with_provider(crypto())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .expect("aws-lc-rs supports TLS 1.2 and 1.3")
            .with_root_certificates(store)
            .with_no_client_auth();
        Trust {
            roots: Arc::new(usable),
            origin,
            chat: Arc::new(chat),
        }
    }

    /// The chat connection's TLS configuration (no ALPN: the server offers none there).
    pub fn chat_config(&self) -> Arc<ClientConfig> {
        Arc::clone(&self.chat)
    }

    /// The same roots for ureq, the file threads' HTTPS.
    pub fn files_config(&self) -> ureq::tls::TlsConfig {
        let roots = self
            .roots
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der).to_owned());
        ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::new_with_certs(
                &roots.collect::<Vec<_>>(),
            ))
            .unversioned_rustls_crypto_provider(crypto())
            .build()
    }

    /// What a TLS failure with `host` means, for the user: which host and why, and what to
    /// do about a certificate refused.
    pub fn explain(&self, host: &str, error: &rustls::Error) -> String {
        let trusted = match &self.origin {
            Origin::System => "the system's trusted roots".to_owned(),
            Origin::CaFile(path) => format!("the CA of --ca {}", path.display()),
        };
        let hint = match &self.origin {
            Origin::System if self.roots.is_empty() => {
                "; this system has no trusted roots: give the server's CA with --ca FILE"
            }
            Origin::System => "; for a private or self-signed certificate, give it with --ca FILE",
            Origin::CaFile(_) => "",
        };
        let why = match error {
            rustls::Error::InvalidCertificate(problem) => match problem {
                CertificateError::UnknownIssuer => {
                    return format!(
                        "the TLS certificate of {host} is refused: unknown issuer (not signed \
                         by {trusted}){hint}"
                    );
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "it has expired".to_owned()
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "it is not valid yet (is this machine's clock right?)".to_owned()
                }
                CertificateError::NotValidForName => {
                    format!("name mismatch: it is not valid for the name {host}")
                }
                // rustls's words list the names it is valid for.
                CertificateError::NotValidForNameContext { .. } => {
                    format!("name mismatch: it is not valid for the name {host} ({error})")
                }
                // As a CA of the same name as one trusted would sign it.
                CertificateError::BadSignature => {
                    format!("bad signature (not signed by {trusted}){hint}")
                }
                CertificateError::Revoked => "it was revoked".to_owned(),
                CertificateError::InvalidPurpose
                | CertificateError::InvalidPurposeContext { .. } => {
                    "it is not a server's certificate".to_owned()
                }
                other => format!("{other:?}"),
            },
            rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. } => {
                return format!(
                    "{host} does not speak TLS there (is it the server's plain port? chatd's \
                     TLS port is 6697 by default): {error}"
                );
            }
            other => return format!("the TLS handshake with {host} failed: {other}"),
        };
        format!("the TLS certificate of {host} is refused: {why}")
    }
}

/// rustls's cryptography: aws-lc-rs, the workspace's choice (see Cargo.toml).
fn crypto() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Whether `error` is a TLS failure (the handshake refused): connecting again at once would
/// fail the same way.
pub fn tls_error(error: &std::io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

/// The name the server's certificate must hold: the host part of `addr` (`host:port`,
/// `[v6]:port`), a DNS name or an IP address (an IP SAN).
pub fn server_name(addr: &str) -> Result<ServerName<'static>, String> {
    let host = crate::address::host(addr);
    ServerName::try_from(host.to_owned())
        .map_err(|_| format!("{host:?} is neither a host name nor an IP address"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_name_is_the_host_part_dns_or_ip() {
        let dns = server_name("chat.example.org:6697").unwrap();
        assert_eq!(dns.to_str(), "chat.example.org");
        assert!(matches!(dns, ServerName::DnsName(_)));
        assert!(matches!(
            server_name("127.0.0.1:6697").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(matches!(
            server_name("[::1]:6697").unwrap(),
            ServerName::IpAddress(_)
        ));
        assert!(server_name("bad_name!:6697").is_err());
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_naming_the_file() {
        let folder = tempfile::tempdir().unwrap();
        let empty = folder.path().join("empty.pem");
        std::fs::write(&empty, "nothing here\n").unwrap();
        let error = Trust::ca_file(&empty).unwrap_err();
        assert!(
            error.contains("--ca") && error.contains("empty.pem"),
            "{error}"
        );
        let missing = folder.path().join("missing.pem");
        assert!(
            Trust::ca_file(&missing)
                .unwrap_err()
                .contains("missing.pem")
        );
    }

    #[test]
    fn a_refused_certificate_is_told_with_its_host_and_why() {
        let trust = Trust::new(Vec::new(), Origin::CaFile(PathBuf::from("ca.pem")));
        let told = |problem| {
            trust.explain(
                "chat.example.org",
                &rustls::Error::InvalidCertificate(problem),
            )
        };
        let unknown = told(CertificateError::UnknownIssuer);
        assert!(unknown.contains("chat.example.org"), "{unknown}");
        assert!(unknown.contains("unknown issuer"), "{unknown}");
        assert!(unknown.contains("--ca ca.pem"), "{unknown}");
        assert!(told(CertificateError::Expired).contains("expired"));
        assert!(told(CertificateError::NotValidForName).contains("name mismatch"));
        let system = Trust::new(Vec::new(), Origin::System);
        let hint = system.explain(
            "h",
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        assert!(hint.contains("--ca FILE"), "{hint}");
    }
}
