//! TLS for the client's tests (issue 18): [`TestCa`], a CA and a server certificate for
//! `localhost` and `127.0.0.1` made with rcgen and written as PEM files (the CA as `--ca`
//! takes it); and [`TlsFront`], a TLS listener that relays each connection's plaintext to a
//! plain test server, as a server with `--tls-cert` would speak.
//!
//! Out of scope: the tests (`tls.rs`), the server itself (`chatd-testkit`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::oneshot;

/// A CA, and a server certificate it signed, in a temporary folder.
pub struct TestCa {
    folder: tempfile::TempDir,
    server: Arc<ServerConfig>,
}

impl TestCa {
    pub fn new() -> TestCa {
        let folder = tempfile::tempdir().unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        // A name of its own: a CA of the same name would be another case (a wrong signature).
        static MADE: AtomicU32 = AtomicU32::new(0);
        let number = MADE.fetch_add(1, Ordering::Relaxed);
        ca.distinguished_name.push(
            DnType::CommonName,
            format!("chatd client tests CA {number}"),
        );
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        std::fs::write(folder.path().join("ca.pem"), ca_cert.pem()).unwrap();
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().unwrap();
        let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let leaf = CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        let chain = vec![CertificateDer::from(leaf.der().to_vec())];
        let key = PrivateKeyDer::from_pem_slice(key.serialize_pem().as_bytes()).unwrap();
        let server = ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
        TestCa {
            folder,
            server: Arc::new(server),
        }
    }

    /// The CA certificate's PEM file, for `--ca`.
    pub fn ca_pem_path(&self) -> PathBuf {
        self.folder.path().join("ca.pem")
    }
}

/// A TLS listener on `127.0.0.1:0` whose connections are relayed, decrypted, to `upstream`.
pub struct TlsFront {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TlsFront {
    pub fn start(upstream: SocketAddr, ca: &TestCa) -> TlsFront {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::clone(&ca.server));
        let (stop, stopped) = oneshot::channel::<()>();
        runtime.spawn(async move {
            let accepting = async {
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        // A client that refuses the certificate ends here.
                        let Ok(mut tls) = acceptor.accept(tcp).await else {
                            return;
                        };
                        let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                            return;
                        };
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                    });
                }
            };
            tokio::select! {
                () = accepting => {}
                _ = stopped => {}
            }
        });
        TlsFront {
            addr,
            stop: Some(stop),
            runtime: Some(runtime),
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(chatd_testkit::DEADLINE);
        }
    }
}
