//! HTTPS on the web listener (with `--tls-cert`): a listener for axum whose connections have
//! finished their TLS handshake.
//!
//! In scope: [`TlsListener`], which accepts TCP connections and runs each handshake in a task
//! of its own, at most [`MAX_HANDSHAKES`] at once and each within [`HANDSHAKE_TIMEOUT`], so a
//! client that stalls half-way holds nothing but its own task and is dropped on time. Out of
//! scope: the certificate and its reload (`tls`), HTTP itself (axum), and the core.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// Handshakes under way at once; more wait in the kernel's accept queue.
const MAX_HANDSHAKES: usize = 256;
/// A client's time to finish its handshake: a browser takes milliseconds.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections that completed their handshake, in the order they did.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl TlsListener {
    /// Starts accepting on `listener` (on the current runtime) with `config`.
    pub fn start(listener: TcpListener, config: Arc<rustls::ServerConfig>) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (done, ready) = mpsc::channel(MAX_HANDSHAKES);
        tokio::spawn(accept_all(listener, TlsAcceptor::from(config), done));
        Ok(TlsListener { ready, local_addr })
    }
}

async fn accept_all(
    mut listener: TcpListener,
    acceptor: TlsAcceptor,
    done: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = Arc::clone(&handshakes).acquire_owned().await else {
            return;
        };
        // axum's own accept: it logs and backs off from errors such as EMFILE.
        let (stream, peer) = Listener::accept(&mut listener).await;
        let (acceptor, done) = (acceptor.clone(), done.clone());
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
            match handshake.await {
                Ok(Ok(stream)) => {
                    drop(permit);
                    // Only fails once the server stopped serving: the client is dropped.
                    let _ = done.send((stream, peer)).await;
                }
                Ok(Err(error)) => log::debug!("{peer}: TLS handshake failed: {error}"),
                Err(_) => log::debug!("{peer}: TLS handshake not finished in time"),
            }
        });
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(ready) => ready,
            // The accepting task is gone (the runtime is ending): nothing comes any more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}
