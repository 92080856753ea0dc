//! The web listener (`--http`): the page at `/`, the line protocol over WebSocket at `/ws`,
//! `/healthz`, and the routes of the other web parts, served by axum on a small tokio
//! runtime of its own (`chatd-web` threads).
//!
//! In reading order:
//! - `ws`: `/ws`, one WebSocket client relayed to the core as lines;
//! - `bridge`: the seam where such a client becomes an ordinary connection of the core;
//! - `https`: with `--tls-cert`, the listener whose connections finished a TLS handshake;
//! - `page`: the page's embedded files and the headers every response carries;
//! - `files`: `PUT /upload/<token>`, `GET /files/<token>/<name>`, and the sweep of expired
//!   files;
//! - `metrics_page`: `/metrics`, the core's figures in the Prometheus text format.
//!
//! Out of scope: the chat itself. Nothing here parses or formats a line of the protocol; the
//! core sees a WebSocket client as a connection like any other, with its own address.
//!
//! Why tokio here and threads in the core: HTTP and WebSocket are what axum (hyper,
//! tungstenite) does well, and a browser's keep-alive and upgrade dance is async by nature.
//! The core keeps its shape: the runtime never holds a lock of the core, and only the bridge
//! (admission, a pool job) and the files reach into it, from blocking tasks.

mod bridge;
mod files;
mod https;
mod metrics_page;
mod page;
mod ws;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::serve::{Listener, ListenerExt};
use tokio::sync::oneshot;

use crate::config::Config;
use crate::server::acceptor::Admission;
use crate::server::files::{FILES_PATH, UPLOAD_PATH};
use crate::server::vital::Vital;
use bridge::Bridge;
pub use files::FileRoutes;
pub use metrics_page::{Sources, WebCounts};
use ws::Relays;

/// Threads of the web runtime: the web side's work is framing and copying, a fraction of the
/// core's, and a second thread keeps one slow request from holding the rest.
const WEB_THREADS: usize = 2;
/// How long the relays get, at the end of a shutdown, to pass the core's last lines on.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// What the web listener reaches of the server.
pub struct WebParts {
    pub admission: Arc<Admission>,
    pub vital: Arc<Vital>,
    /// What `/metrics` reads (its `web` counts are filled in here).
    pub stats: Box<dyn Fn() -> crate::server::metrics::Stats + Send + Sync>,
    /// The files sent with `UPLOAD` and the registry their `FILE` lines go through.
    pub files: FileRoutes,
}

/// The running web listener.
pub struct Web {
    runtime: Option<tokio::runtime::Runtime>,
    /// Sent (or dropped) to stop accepting.
    stop_accepting: Option<oneshot::Sender<()>>,
}

/// Binds the web listener, so that a taken port is an error at start like `--addr`'s.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

impl Web {
    /// Serves on `listener` until [`Web::stop_accepting`] and [`Web::finish`]; HTTPS only
    /// with `tls`.
    pub fn start(
        listener: TcpListener,
        tls: Option<Arc<rustls::ServerConfig>>,
        config: &Config,
        parts: WebParts,
    ) -> io::Result<Web> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WEB_THREADS)
            .max_blocking_threads(16)
            .thread_name("chatd-web")
            .enable_all()
            .build()?;
        let relays = Arc::new(Relays {
            bridge: Bridge::new(Arc::clone(&parts.admission))?,
            max_frame: config.max_line + ws::FRAME_SLACK,
            write_timeout: config.write_timeout,
        });
        let files = Arc::new(parts.files);
        let counted = files.files.clone();
        let sources = Arc::new(Sources {
            stats: parts.stats,
            slots: Arc::clone(&parts.admission.slots),
            web: Box::new(move || {
                let counts = counted.counts();
                WebCounts {
                    uploads: counts.uploads,
                    upload_bytes: counts.uploaded_bytes,
                    files_kept: counts.kept,
                    file_bytes_kept: counts.kept_bytes,
                }
            }),
        });
        let file_routes = Router::new()
            .route(&format!("{UPLOAD_PATH}{{token}}"), put(files::upload))
            .route(&format!("{FILES_PATH}{{token}}"), get(files::download))
            .route(
                &format!("{FILES_PATH}{{token}}/{{*name}}"),
                get(files::download_named),
            )
            .with_state(Arc::clone(&files));
        runtime.spawn(files::sweep(files));
        let app = Router::new()
            .merge(file_routes)
            .route("/metrics", get(metrics_page::serve).with_state(sources))
            .route("/ws", get(ws::upgrade).with_state(relays))
            .route(
                "/healthz",
                get(healthz).with_state(Arc::clone(&parts.vital)),
            )
            .fallback(get(page::serve))
            .layer(axum::middleware::map_response(secure));
        let (stop_accepting, stop) = oneshot::channel::<()>();
        let stop = async move {
            let _ = stop.await;
        };
        let _entered = runtime.enter();
        let listener = tokio::net::TcpListener::from_std(listener)?;
        match tls {
            None => runtime.spawn(serve(listener, app, stop)),
            Some(tls) => runtime.spawn(serve(https::TlsListener::start(listener, tls)?, app, stop)),
        };
        Ok(Web {
            runtime: Some(runtime),
            stop_accepting: Some(stop_accepting),
        })
    }

    /// Stops taking new HTTP connections and WebSocket clients; those open go on.
    pub fn stop_accepting(&mut self) {
        self.stop_accepting.take();
    }

    /// Ends the runtime, after a grace for the relays to pass on what the core wrote last:
    /// called once the core has ended every connection.
    pub fn finish(&mut self) {
        self.stop_accepting();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(CLOSE_GRACE);
        }
    }
}

impl Drop for Web {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Serves `app` on `listener` until `stop`. (`tap_io` only gives the listener axum's
/// connection info, the peer's address, which a listener of its own does not have.)
async fn serve<L>(listener: L, app: Router, stop: impl Future<Output = ()> + Send + 'static)
where
    L: Listener<Addr = SocketAddr>,
{
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener.tap_io(|_| {}), service)
        .with_graceful_shutdown(stop)
        .await;
    if let Err(error) = served {
        log::error!("the web listener failed: {error}");
    }
}

/// Every response gets the security headers (`page::secure`); one that set a policy of its
/// own (a download's, stricter) keeps it.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let own = headers.remove(header::CONTENT_SECURITY_POLICY);
    page::secure(headers);
    if let Some(own) = own {
        headers.insert(header::CONTENT_SECURITY_POLICY, own);
    }
    response
}

/// `GET /healthz`: 200 `ok` while every thread the server cannot run without is alive, 503
/// and the failure once one died.
async fn healthz(State(vital): State<Arc<Vital>>) -> Response {
    match vital.failure() {
        None => (StatusCode::OK, "ok\n").into_response(),
        Some(failure) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("failed: {failure}\n"),
        )
            .into_response(),
    }
}
