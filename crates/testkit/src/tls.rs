//! TLS for tests (issue 18): certificates made at run time with rcgen ([`TestPki`]: a CA and
//! a server certificate it signed, written to a temporary folder as a server reads them), and
//! [`TlsClient`], the `TestClient` of the TLS port (`TestServer::with_tls` starts a server
//! with it).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

use crate::lines;

/// As the crate's `DEADLINE` (a file of its own imports nothing from the crate root).
const DEADLINE: Duration = Duration::from_secs(10);

/// A CA and a server certificate for `localhost` and `127.0.0.1` signed by it, in files.
pub struct TestPki {
    folder: tempfile::TempDir,
    ca: CertifiedIssuer<'static, KeyPair>,
    /// The server certificate now in the files.
    server_cert: CertificateDer<'static>,
}

/// How long a test certificate is valid for, counted from yesterday (clocks differ).
pub enum Validity {
    Current,
    /// Expired last year.
    Expired,
}

impl TestPki {
    /// A new CA and a current server certificate.
    pub fn new() -> TestPki {
        TestPki::with_server_cert(Validity::Current)
    }

    pub fn with_server_cert(validity: Validity) -> TestPki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        // A name of its own, so that another test CA is an unknown issuer, not a bad signature.
        static CAS: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "chatd test CA {} {}",
            std::process::id(),
            CAS.fetch_add(1, Ordering::Relaxed)
        );
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let folder = tempfile::tempdir().unwrap();
        std::fs::write(folder.path().join("ca.pem"), ca.pem()).unwrap();
        let mut pki = TestPki {
            folder,
            ca,
            server_cert: CertificateDer::from(Vec::new()),
        };
        pki.issue(validity);
        pki
    }

    /// Writes a new server certificate and key over the files (as a renewal does), and
    /// returns the certificate.
    pub fn issue(&mut self, validity: Validity) -> CertificateDer<'static> {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "chatd test server");
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        let now = rcgen::date_time_ymd(1970, 1, 1) + since_epoch;
        let day = Duration::from_secs(24 * 60 * 60);
        match validity {
            Validity::Current => {
                params.not_before = now - day;
                params.not_after = now + day * 30;
            }
            Validity::Expired => {
                params.not_before = now - day * 400;
                params.not_after = now - day * 365;
            }
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca).unwrap();
        std::fs::write(self.cert_path(), cert.pem()).unwrap();
        std::fs::write(self.key_path(), key.serialize_pem()).unwrap();
        self.server_cert = cert.der().clone();
        self.server_cert.clone()
    }

    /// The server certificate now in the files.
    pub fn server_cert(&self) -> &CertificateDer<'static> {
        &self.server_cert
    }

    pub fn ca_pem_path(&self) -> PathBuf {
        self.folder.path().join("ca.pem")
    }

    pub fn cert_path(&self) -> PathBuf {
        self.folder.path().join("cert.pem")
    }

    pub fn key_path(&self) -> PathBuf {
        self.folder.path().join("key.pem")
    }

    pub fn folder(&self) -> &Path {
        self.folder.path()
    }

    /// A client configuration that trusts this CA only.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Arc::new(config)
    }
}

impl Default for TestPki {
    fn default() -> TestPki {
        TestPki::new()
    }
}

/// A line client over TLS whose every wait has a deadline, as `TestClient`.
pub struct TlsClient {
    stream: StreamOwned<ClientConnection, TcpStream>,
    /// Bytes read past the last line handed out.
    pending: Vec<u8>,
    deadline: Duration,
}

impl TlsClient {
    /// Connects and completes the handshake (or fails the test), nothing read yet.
    pub fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> TlsClient {
        TlsClient::try_connect(addr, config).unwrap_or_else(|e| panic!("TLS handshake: {e}"))
    }

    /// Connects and runs the handshake: the error of a refused one (a certificate not
    /// trusted, an expired one).
    pub fn try_connect(addr: SocketAddr, config: Arc<ClientConfig>) -> io::Result<TlsClient> {
        TlsClient::try_connect_as(addr, ServerName::IpAddress(addr.ip().into()), config)
    }

    /// Connects to `addr` expecting a certificate for `name` (an address that is not in the
    /// test certificate, such as this machine's non-loopback one).
    pub fn connect_as(addr: SocketAddr, name: &str, config: Arc<ClientConfig>) -> TlsClient {
        let name = ServerName::try_from(name.to_owned()).unwrap();
        TlsClient::try_connect_as(addr, name, config).unwrap_or_else(|e| panic!("TLS: {e}"))
    }

    fn try_connect_as(
        addr: SocketAddr,
        name: ServerName<'static>,
        config: Arc<ClientConfig>,
    ) -> io::Result<TlsClient> {
        TlsClient::over(TcpStream::connect(addr)?, name, config)
    }

    /// A TLS client over `tcp`, a connection the test made (with a small receive buffer,
    /// say), once its handshake is done.
    pub fn over(
        tcp: TcpStream,
        name: ServerName<'static>,
        config: Arc<ClientConfig>,
    ) -> io::Result<TlsClient> {
        tcp.set_nodelay(true)?;
        tcp.set_write_timeout(Some(DEADLINE))?;
        tcp.set_read_timeout(Some(DEADLINE))?;
        let conn = ClientConnection::new(config, name).map_err(io::Error::other)?;
        let mut stream = StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(TlsClient {
            stream,
            pending: Vec::new(),
            deadline: DEADLINE,
        })
    }

    /// The certificate the server presented.
    pub fn server_cert(&self) -> CertificateDer<'static> {
        self.stream
            .conn
            .peer_certificates()
            .expect("a handshake done")[0]
            .clone()
    }

    pub fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\n").as_bytes());
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
        self.stream.flush().unwrap();
    }

    /// The next line, without its `\n`; `None` at the end of the stream. Fails the test at
    /// the deadline.
    pub fn try_recv(&mut self) -> Option<String> {
        let end = Instant::now() + self.deadline;
        loop {
            if let Some(at) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=at).collect();
                let text = String::from_utf8(line[..at].to_vec()).expect("UTF-8 from the server");
                return Some(text);
            }
            let left = end.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "no complete line within {:?}",
                self.deadline
            );
            self.stream.sock.set_read_timeout(Some(left)).unwrap();
            let mut buf = [0u8; 16 * 1024];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    assert!(self.pending.is_empty(), "stream ended inside a line");
                    return None;
                }
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                // The server closed without close_notify: an end all the same.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => return None,
                Err(e) => panic!("read failed: {e}"),
            }
        }
    }

    pub fn recv(&mut self) -> String {
        self.try_recv().expect("the server closed the connection")
    }

    pub fn expect(&mut self, expected: &str) {
        assert_eq!(self.recv(), expected);
    }

    /// Expects `ERR <code> <some text>`.
    pub fn expect_err(&mut self, code: &str) {
        lines::assert_err(&self.recv(), code);
    }

    /// `PING <token>`, then every line received before `PONG <token>`.
    pub fn barrier(&mut self) -> Vec<String> {
        let barrier = lines::Barrier::new();
        self.send(&barrier.ping);
        barrier.lines_before(|| self.recv())
    }

    /// Expects the end of the stream next.
    pub fn expect_closed(&mut self) {
        if let Some(line) = self.try_recv() {
            panic!("expected the connection to close, got {line:?}");
        }
    }
}
