//! TLS (issue 18): the server's certificate and key, and the rustls configurations of the
//! chat listener (`--tls-addr`) and the web listener (HTTPS), which share them.
//!
//! In scope: reading `--tls-cert` (a PEM chain, the server's own certificate first) and
//! `--tls-key` (PEM), checking that they belong together, and re-reading them on a reload
//! (`SIGHUP`) without touching an open connection: a handshake picks the certificate in force
//! when it starts ([`Certificates`] is rustls's `ResolvesServerCert`). TLS 1.2 and 1.3 only,
//! with aws-lc-rs's cryptography. Its children: `wire`, a connection's TLS state and its reads
//! and writes; `self_signed`, the development certificate of `chatd tls self-signed`. Out of
//! scope: the listeners (`acceptor`, `web`).

pub mod self_signed;
pub mod wire;

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert, ServerConfig};
use rustls::sign::CertifiedKey;

/// The chat port's and the web port's TLS settings, and the certificate they present.
pub struct Tls {
    certificates: Arc<Certificates>,
    chat: Arc<ServerConfig>,
    web: Arc<ServerConfig>,
}

impl Tls {
    /// Reads the certificate chain and key; the error names the file and what is wrong.
    pub fn load(cert: &Path, key: &Path) -> io::Result<Tls> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let certificates = Arc::new(Certificates {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Arc::new(read_pair(cert, key, &provider)?)),
            provider: Arc::clone(&provider),
        });
        let config = |alpn: &[&[u8]]| -> io::Result<Arc<ServerConfig>> {
            let mut config = ServerConfig::builder_with_provider(Arc::clone(&provider))
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(invalid)?
                .with_no_client_auth()
                .with_cert_resolver(Arc::clone(&certificates) as Arc<dyn ResolvesServerCert>);
            config.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
            Ok(Arc::new(config))
        };
        Ok(Tls {
            chat: config(&[])?,
            web: config(&[b"http/1.1"])?,
            certificates,
        })
    }

    /// Reads the files again; the new pair serves every handshake from now on, and the old
    /// one stays if the new one is unreadable or inconsistent (the error says why).
    pub fn reload(&self) -> io::Result<()> {
        self.certificates.reload()
    }

    /// The chat port's configuration: no ALPN, the line protocol runs inside.
    pub fn chat(&self) -> &Arc<ServerConfig> {
        &self.chat
    }

    /// The web port's configuration: HTTP/1.1 over ALPN.
    pub fn web(&self) -> &Arc<ServerConfig> {
        &self.web
    }
}

/// The certificate and key in force, and where they are read from.
struct Certificates {
    cert: PathBuf,
    key: PathBuf,
    /// Read by every handshake (a clone of the `Arc`), written by a reload.
    current: RwLock<Arc<CertifiedKey>>,
    provider: Arc<CryptoProvider>,
}

impl Certificates {
    fn reload(&self) -> io::Result<()> {
        let pair = read_pair(&self.cert, &self.key, &self.provider)?;
        *self.current.write() = Arc::new(pair);
        Ok(())
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.current.read()))
    }
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

/// Reads a certificate chain and its key, and checks that the key is the certificate's.
fn read_pair(cert: &Path, key: &Path, provider: &CryptoProvider) -> io::Result<CertifiedKey> {
    let in_file = |path: &Path, what: String| invalid(format!("{}: {what}", path.display()));
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(|error| in_file(cert, pem_error(error)))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| in_file(cert, pem_error(error)))?;
    if chain.is_empty() {
        return Err(in_file(
            cert,
            "no certificate (PEM `CERTIFICATE`) in it".into(),
        ));
    }
    let private_key =
        PrivateKeyDer::from_pem_file(key).map_err(|error| in_file(key, pem_error(error)))?;
    CertifiedKey::from_der(chain, private_key, provider).map_err(|error| {
        let why = match error {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                "the key is not the certificate's".to_owned()
            }
            other => other.to_string(),
        };
        invalid(format!("{} and {}: {why}", cert.display(), key.display()))
    })
}

fn pem_error(error: rustls::pki_types::pem::Error) -> String {
    match error {
        rustls::pki_types::pem::Error::Io(error) => error.to_string(),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item of the expected kind".into(),
        other => format!("not a valid PEM file ({other:?})"),
    }
}

fn invalid(error: impl ToString) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, error.to_string())
}
