//! `GET /metrics`: the server's figures in the Prometheus text format, encoded by the
//! Prometheus project's own crate (`prometheus-client`) from one reading of [`Stats`].
//!
//! In scope: which figure is which metric, its type (counter or gauge), unit and help. Out of
//! scope: counting (the core's `metrics`, read as `STATS` reads it, no lock held to count)
//! and the web parts' own counts, which they hand over as [`WebCounts`].
//!
//! Why a registry per scrape: the figures live in the core's atomics already; copying them
//! into fresh metrics when someone asks keeps the hot path free of a second set of counters.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::server::admission::{Slots, Transport};
use crate::server::metrics::Stats;

/// The figures of the web parts that only they count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebCounts {
    /// Files whose upload completed and was delivered.
    pub uploads: u64,
    /// Bytes of those files.
    pub upload_bytes: u64,
    /// Files kept now, and their bytes.
    pub files_kept: u64,
    pub file_bytes_kept: u64,
}

/// Where a scrape reads from.
pub struct Sources {
    /// A reading of the core's figures, as `ServerHandle::stats` makes it.
    pub stats: Box<dyn Fn() -> Stats + Send + Sync>,
    /// The open connections by transport.
    pub slots: Arc<Slots>,
    /// The web parts' own counts.
    pub web: Box<dyn Fn() -> WebCounts + Send + Sync>,
}

/// The Prometheus text format's media type, version 0.0.4, plus OpenMetrics' `# EOF` the
/// crate writes, which Prometheus reads either way.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn serve(State(sources): State<Arc<Sources>>) -> Response {
    let text = tokio::task::spawn_blocking(move || render(&sources)).await;
    match text {
        Ok(Ok(text)) => {
            let mut response = text.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
            response
        }
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot encode the metrics\n",
        )
            .into_response(),
    }
}

/// The metrics as text.
pub fn render(sources: &Sources) -> Result<String, std::fmt::Error> {
    let stats = (sources.stats)();
    let load = stats.load;
    let web = (sources.web)();
    let mut registry = Registry::with_prefix("chatd");

    let connections = Family::<Vec<(&'static str, &'static str)>, Gauge>::default();
    for transport in Transport::ALL {
        connections
            .get_or_create(&vec![("transport", transport.name())])
            .set(gauge(sources.slots.open_by(transport) as u64));
    }
    registry.register(
        "connections",
        "Open connections (registered or not), by transport",
        connections,
    );

    let gauges: [(&str, &str, Option<Unit>, u64); 8] = [
        (
            "registered_clients",
            "Clients with a nick",
            None,
            load.registered as u64,
        ),
        (
            "rooms",
            "Rooms that exist, private ones included",
            None,
            load.rooms as u64,
        ),
        (
            "queued",
            "Bytes in all outbound queues, counted as --send-queue counts them",
            Some(Unit::Bytes),
            load.queued_bytes,
        ),
        (
            "queued_peak",
            "The most bytes the outbound queues have held since the start (sampled each second)",
            Some(Unit::Bytes),
            load.queued_bytes_peak,
        ),
        (
            "history_store_lag_lines",
            "Lines handed to the history store and not yet taken for writing (full chunks and direct lines; not the chunks still filling, taken each flush window)",
            None,
            load.history_backlog,
        ),
        (
            "writer_threads",
            "Writer threads not yet joined",
            None,
            stats.writer_threads as u64,
        ),
        (
            "files_kept",
            "Files that can be downloaded now",
            None,
            web.files_kept,
        ),
        (
            "files_kept",
            "Bytes of the files that can be downloaded now",
            Some(Unit::Bytes),
            web.file_bytes_kept,
        ),
    ];
    for (name, help, unit, value) in gauges {
        let metric = Gauge::<i64>::default();
        metric.set(gauge(value));
        match unit {
            Some(unit) => registry.register_with_unit(name, help, unit, metric),
            None => registry.register(name, help, metric),
        }
    }

    let latency = Family::<Vec<(&'static str, &'static str)>, Gauge<f64, AtomicU64>>::default();
    for (quantile, micros) in [
        ("0.5", load.fanout_latency_p50_us),
        ("0.99", load.fanout_latency_p99_us),
    ] {
        latency
            .get_or_create(&vec![("quantile", quantile)])
            .set(micros as f64 / 1e6);
    }
    registry.register_with_unit(
        "fanout_latency",
        "Time from a line's turn to its write to a recipient, percentiles since the start",
        Unit::Seconds,
        latency,
    );
    let uptime = Gauge::<f64, AtomicU64>::default();
    uptime.set(load.uptime.as_secs_f64());
    registry.register_with_unit("uptime", "Time since the start", Unit::Seconds, uptime);

    let counters: [(&str, &str, Option<Unit>, u64); 11] = [
        (
            "lines_in",
            "Lines read from clients and executed",
            None,
            load.lines_in,
        ),
        (
            "deliveries_out",
            "Lines queued for recipients, one per recipient",
            None,
            load.deliveries_out,
        ),
        (
            "slow_consumers_cut",
            "Clients cut because their queue was full",
            None,
            load.slow_consumers_cut,
        ),
        (
            "flood_pauses",
            "Times flood control paused a connection",
            None,
            load.flood_pauses,
        ),
        (
            "write_calls",
            "Write system calls to client sockets",
            None,
            load.write_calls,
        ),
        (
            "lines_written",
            "Lines written to client sockets",
            None,
            load.lines_written,
        ),
        (
            "history_stored_lines",
            "Lines of history written to the store",
            None,
            load.history_stored,
        ),
        (
            "history_unstored_lines",
            "Lines of history the store could not keep (a full channel or a failed write)",
            None,
            load.history_unstored,
        ),
        (
            "logins_failed",
            "Password checks that failed",
            None,
            load.logins_failed,
        ),
        ("uploads", "Files uploaded and delivered", None, web.uploads),
        (
            "uploaded",
            "Bytes of the files uploaded and delivered",
            Some(Unit::Bytes),
            web.upload_bytes,
        ),
    ];
    for (name, help, unit, value) in counters {
        let metric = Counter::<u64>::default();
        metric.inc_by(value);
        match unit {
            Some(unit) => registry.register_with_unit(name, help, unit, metric),
            None => registry.register(name, help, metric),
        }
    }

    let mut text = String::new();
    encode(&mut text, &registry)?;
    Ok(text)
}

/// A count as a gauge's value: they stay far below `i64::MAX`, and saturate if not.
fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}
