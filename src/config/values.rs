//! The validated [`Config`] the server takes: its fields, their defaults and the checks that
//! make one sound.
//!
//! In scope: default values, the rules between fields, seconds and sizes as the flags and the
//! file spell them. Out of scope: where a value comes from (the command line or the file,
//! [`super::args`]) and how a setting is named in an error ([`super::setting`]).

use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::setting::{ConfigError, Setting};

/// Everything the server needs to run, already validated. Build one with
/// [`Args::settings`](super::Args::settings) or start from [`Config::default`] and change
/// fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub addr: SocketAddr,
    /// Threads in the worker pool that execute commands.
    pub workers: usize,
    /// Open connections (registered or not) beyond which a newcomer gets `ERR SERVER_FULL`.
    pub max_clients: usize,
    /// Open connections from one address beyond which a newcomer from it gets
    /// `ERR TOO_MANY_CONNECTIONS`; see [`Config::per_ip_limit`] for loopback addresses.
    pub max_per_ip: usize,
    /// Whether `max_per_ip` also holds for loopback addresses. Off by default: clients on the
    /// server's own machine (load tests, bridges, gateways) are not limited as a group unless
    /// the operator sets `--max-per-ip` explicitly.
    pub max_per_ip_loopback: bool,
    /// New connections one address group (an IPv4 address, an IPv6 /64) may open per second,
    /// in bursts of twice that; one more gets `ERR TOO_MANY_CONNECTIONS` and is closed. 0
    /// turns the limit off. See [`Config::connect_rate_limit`] for loopback addresses.
    pub connect_rate: u32,
    /// Whether `connect_rate` also holds for loopback addresses, as `max_per_ip_loopback`.
    pub connect_rate_loopback: bool,
    /// Bytes a client's outbound queue may hold before it is dropped as a slow consumer, each
    /// line counted as the memory it takes (`outbox::footprint`), not its text alone.
    pub send_queue: usize,
    /// Longest accepted client line in bytes, its ending included.
    pub max_line: usize,
    /// On shutdown, how long writers may take to flush their queues before sockets are cut.
    pub drain_timeout: Duration,
    /// A connection without a nick this long after it connected is closed.
    pub register_timeout: Duration,
    /// After this long without a line from a client the server sends `PING`; after as long
    /// again without one, the connection is closed with `ping timeout`.
    pub idle_timeout: Duration,
    /// A connection whose writer could not write anything to its socket for this long (its
    /// client reads nothing) is cut, and its descriptor and thread are freed.
    pub write_timeout: Duration,
    /// Rooms one client may be in at once; one more `JOIN` gets `ERR TOO_MANY_ROOMS`.
    pub max_rooms_per_client: usize,
    /// Members one room may hold; one more `JOIN` gets `ERR ROOM_FULL`.
    pub max_room_members: usize,
    /// Rooms on the server at once; a `JOIN` that would create one more gets
    /// `ERR NO_MORE_ROOMS`. Bounds the memory rooms take and the size of a `ROOMS` answer.
    pub max_rooms: usize,
    /// Longest topic, in bytes; a longer one gets `ERR TOO_LONG`.
    pub max_topic: usize,
    /// Longest room key, in bytes; a longer one gets `ERR TOO_LONG`.
    pub max_key: usize,
    /// Registered clients above which the lobby's `JOIN`, `NICK` and `QUIT` are no longer
    /// announced (clients with `CAP presence` get the count instead); 0: always announced.
    pub presence_limit: usize,
    /// Flood control: lines per second one client may have executed, on average; a client
    /// over it is read more slowly, never dropped. 0 turns flood control off.
    pub rate: u32,
    /// Flood control: lines one client may send at once before `rate` applies.
    pub burst: u32,
    /// Flood control: bytes per second one client may cost, on average: the bytes it sends,
    /// and the bytes of the answers to its own commands (a 4-byte `WHO` costs what its list
    /// of every nick costs). 0: no byte limit per client.
    pub byte_rate: usize,
    /// Flood control: bytes one client may cost at once before `byte_rate` applies.
    pub byte_burst: usize,
    /// Flood control shared by every connection from one address group (an IPv4 address, an
    /// IPv6 /64): lines per second, with a burst of twice as many; see
    /// [`Config::address_budget_applies`] for loopback addresses. 0: no such limit.
    pub ip_rate: u32,
    /// The same for bytes per second, counted as for `byte_rate`. 0: no such limit.
    pub ip_byte_rate: usize,
    /// Whether `ip_rate` and `ip_byte_rate` also hold for loopback addresses. Off by default,
    /// as for `max_per_ip`: a load test or a gateway on the server's own machine speaks for
    /// many people. Set when either is given explicitly.
    pub ip_rate_loopback: bool,
    /// The folder of the history store's database (`chatd.db` and its write-ahead log).
    /// Created when missing. Unused when `ephemeral`.
    pub data_dir: PathBuf,
    /// History in memory only: nothing is written to disk and a restart forgets it.
    pub ephemeral: bool,
    /// Lines of history kept per conversation (the lobby, each room); older ones are deleted
    /// in the background. 0 turns history off: `HISTORY` answers nothing and nothing is kept.
    pub history_lines: usize,
    /// Days a line of history is kept; older ones are deleted in the background. 0 keeps
    /// lines until `history_lines` pushes them out.
    pub history_days: u32,
    /// How long the store collects lines before writing them in one transaction: what a
    /// crash (`kill -9`, a power cut) may lose at most. A clean shutdown loses nothing.
    pub history_flush: Duration,
    /// Where the web listener (the page, `/ws`, files, `/metrics`) listens; `None`: no web
    /// listener (`--http off`).
    pub http: Option<SocketAddr>,
    /// The web listener's address as clients reach it, for the links of files (`OK UPLOAD`,
    /// `FILE`): `http://host:port` or `https://...`, without a path. `None`: `http://` and
    /// the `http` address (a wildcard address as `127.0.0.1`); see [`Config::web_base`].
    pub web_url: Option<String>,
    /// Largest file one `UPLOAD` may announce; a larger one gets `ERR FILE_TOO_LARGE`.
    pub max_file_size: usize,
    /// Bytes all stored files (and uploads under way) may take together in the data folder;
    /// an `UPLOAD` that would pass it gets `ERR QUOTA`.
    pub file_quota: usize,
    /// How long a file can be downloaded (`--file-days`); then it is deleted in the
    /// background. A duration, not days, so that a test can watch a file expire.
    pub file_lifetime: Duration,
    /// The server's TLS certificate (a PEM chain) and key: with both, the line protocol is
    /// also served over TLS (`tls_addr`) and the web listener speaks HTTPS only.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Where the TLS listener listens; `None`: `addr`'s host, port [`DEFAULT_TLS_PORT`]. See
    /// [`Config::tls_listener`].
    pub tls_addr: Option<SocketAddr>,
    /// Whether password commands are taken on a connection without TLS from another machine.
    pub allow_plain_passwords: bool,
    /// The NATS servers of the cluster this server is a node of (`nats://host:port`); empty:
    /// a server of its own.
    pub cluster: Vec<String>,
    /// Copies NATS keeps of the cluster's stream and buckets (1 to [`MAX_CLUSTER_REPLICAS`]).
    pub cluster_replicas: usize,
}

/// JetStream's most copies of a stream.
pub const MAX_CLUSTER_REPLICAS: usize = 5;

/// The servers of `--cluster`'s comma-separated list, blanks around each taken off.
pub fn cluster_urls(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The TLS listener's port when `--tls-addr` is not given: IRC's port for TLS, as the
/// servers of its kind use.
pub const DEFAULT_TLS_PORT: u16 = 6697;

pub const DEFAULT_ADDR: &str = "127.0.0.1:7878";
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;
/// Generous for a team behind one NAT address; small next to `--max-clients`, so one remote
/// host cannot take the whole server. Loopback addresses are exempt unless `--max-per-ip` is
/// given (see [`Config::max_per_ip_loopback`]).
pub const DEFAULT_MAX_PER_IP: usize = 256;
/// Enough for a team behind one NAT address to reconnect after a restart within seconds;
/// small enough that a churn of connects costs little. Loopback addresses are exempt unless
/// `--connect-rate` is given (see [`Config::connect_rate_loopback`]).
pub const DEFAULT_CONNECT_RATE: u32 = 20;
pub const DEFAULT_SEND_QUEUE: usize = 1024 * 1024;
pub const DEFAULT_MAX_LINE: usize = 4096;
pub const DEFAULT_DRAIN_TIMEOUT_SECS: f64 = 5.0;
pub const DEFAULT_REGISTER_TIMEOUT_SECS: f64 = 30.0;
pub const DEFAULT_IDLE_TIMEOUT_SECS: f64 = 120.0;
/// Long enough for a client on a bad mobile link; short enough that a peer that stops reading
/// (a zero receive window) cannot hold a descriptor and a thread for long (issue 13).
pub const DEFAULT_WRITE_TIMEOUT_SECS: f64 = 30.0;
pub const DEFAULT_MAX_ROOMS_PER_CLIENT: usize = 32;
pub const DEFAULT_MAX_ROOM_MEMBERS: usize = 10_000;
/// As many rooms as the default `--max-clients` has clients: with topics at their longest, a
/// `ROOMS` answer stays under 5 MB.
pub const DEFAULT_MAX_ROOMS: usize = 10_000;
/// IRC's usual topic limit: a line of text, not a document.
pub const DEFAULT_MAX_TOPIC: usize = 390;
/// A passphrase, not a document.
pub const DEFAULT_MAX_KEY: usize = 64;
/// Twitch's chat sends joins and parts only for channels under 1,000 users: beyond that a
/// member list is read by nobody, and each registration would cost a line per client.
pub const DEFAULT_PRESENCE_LIMIT: usize = 1000;
/// The contract's promise to a scripted client (`protocol-core.md`): at least 2,000 lines/s,
/// in bursts of 4,000, before it is slowed. Far above anyone typing; a public server may
/// lower both.
pub const DEFAULT_RATE: u32 = 2_000;
pub const DEFAULT_BURST: u32 = 4_000;
/// The contract's promise to a scripted client is 4 MiB/s; the burst is two seconds of it.
pub const DEFAULT_BYTE_RATE: usize = 4 * 1024 * 1024;
pub const DEFAULT_BYTE_BURST: usize = 8 * 1024 * 1024;
/// Ten scripted clients' worth behind one address (a team behind a NAT), and far below what
/// 256 connections of one address could cost at their own rates (512,000 lines/s, 1 GiB/s):
/// many connections from one place cannot drown everyone.
pub const DEFAULT_IP_RATE: u32 = 20_000;
pub const DEFAULT_IP_BYTE_RATE: usize = 32 * 1024 * 1024;
/// Relative to the working directory, as a newcomer running `cargo run` expects to find it.
pub const DEFAULT_DATA_DIR: &str = "chatd-data";
/// Ten thousand lines of a busy room is days of talk; with the default `--max-rooms` the
/// database stays below about a gigabyte even if every room fills up with long lines.
pub const DEFAULT_HISTORY_LINES: usize = 10_000;
/// A quarter: long enough to scroll back through a holiday.
pub const DEFAULT_HISTORY_DAYS: u32 = 90;
/// The port next to 7878 most web tools leave free; loopback only, as `--addr`.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8080";
/// A photo or a document; a video belongs elsewhere.
pub const DEFAULT_MAX_FILE_SIZE: usize = 25 * 1024 * 1024;
/// Forty files at their largest: bounded, and small next to any disk.
pub const DEFAULT_FILE_QUOTA: usize = 1024 * 1024 * 1024;
/// A week: long enough to come back after a weekend, short enough that the quota frees up.
pub const DEFAULT_FILE_DAYS: u32 = 7;
/// Ten years: the expiry is added to the clock, which must not overflow.
pub(crate) const MAX_FILE_DAYS: u32 = 3_650;

/// A tenth of a second is below what a person notices of a crash, and long enough that a
/// busy lobby writes thousands of lines per transaction.
pub const DEFAULT_HISTORY_FLUSH_MS: u64 = 100;

/// Ten million lines a conversation is a thousand times the default; more is a typo, and
/// with long lines it would be terabytes across the rooms.
pub(crate) const MAX_HISTORY_LINES: usize = 10_000_000;
/// A century: the store subtracts the age from the clock, which must not overflow.
pub(crate) const MAX_HISTORY_DAYS: u32 = 36_500;
/// The flush window is what a crash may lose: beyond ten seconds it is a loss people notice,
/// and 0 would write a transaction per line.
pub(crate) const MAX_HISTORY_FLUSH_MS: u64 = 10_000;

/// A line of the longest nick plus room for a short text; anything smaller cannot chat.
const MIN_MAX_LINE: usize = 64;
const MAX_MAX_LINE: usize = 1024 * 1024;

impl Default for Config {
    fn default() -> Config {
        Config {
            addr: DEFAULT_ADDR.parse().expect("the default address is valid"),
            workers: default_workers(),
            max_clients: DEFAULT_MAX_CLIENTS,
            max_per_ip: DEFAULT_MAX_PER_IP,
            max_per_ip_loopback: false,
            connect_rate: DEFAULT_CONNECT_RATE,
            connect_rate_loopback: false,
            send_queue: DEFAULT_SEND_QUEUE,
            max_line: DEFAULT_MAX_LINE,
            drain_timeout: Duration::from_secs_f64(DEFAULT_DRAIN_TIMEOUT_SECS),
            register_timeout: Duration::from_secs_f64(DEFAULT_REGISTER_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs_f64(DEFAULT_IDLE_TIMEOUT_SECS),
            write_timeout: Duration::from_secs_f64(DEFAULT_WRITE_TIMEOUT_SECS),
            max_rooms_per_client: DEFAULT_MAX_ROOMS_PER_CLIENT,
            max_room_members: DEFAULT_MAX_ROOM_MEMBERS,
            max_rooms: DEFAULT_MAX_ROOMS,
            max_topic: DEFAULT_MAX_TOPIC,
            max_key: DEFAULT_MAX_KEY,
            presence_limit: DEFAULT_PRESENCE_LIMIT,
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
            byte_rate: DEFAULT_BYTE_RATE,
            byte_burst: DEFAULT_BYTE_BURST,
            ip_rate: DEFAULT_IP_RATE,
            ip_byte_rate: DEFAULT_IP_BYTE_RATE,
            ip_rate_loopback: false,
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            ephemeral: false,
            history_lines: DEFAULT_HISTORY_LINES,
            history_days: DEFAULT_HISTORY_DAYS,
            history_flush: Duration::from_millis(DEFAULT_HISTORY_FLUSH_MS),
            http: Some(
                DEFAULT_HTTP
                    .parse()
                    .expect("the default web address is valid"),
            ),
            web_url: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            file_quota: DEFAULT_FILE_QUOTA,
            file_lifetime: days(DEFAULT_FILE_DAYS),
            tls_cert: None,
            tls_key: None,
            tls_addr: None,
            allow_plain_passwords: false,
            cluster: Vec::new(),
            cluster_replicas: 1,
        }
    }
}

impl Config {
    /// The most connections allowed at once from `ip`, or `None` when it is not limited.
    pub fn per_ip_limit(&self, ip: IpAddr) -> Option<usize> {
        (self.max_per_ip_loopback || !ip.is_loopback()).then_some(self.max_per_ip)
    }

    /// The most new connections per second allowed from `ip`'s address group, or `None` when
    /// it is not limited (`--connect-rate 0`, or a loopback address without the flag).
    pub fn connect_rate_limit(&self, ip: IpAddr) -> Option<u32> {
        let applies = self.connect_rate > 0 && (self.connect_rate_loopback || !ip.is_loopback());
        applies.then_some(self.connect_rate)
    }

    /// Whether the connections from `ip` share an address budget (`ip_rate`, `ip_byte_rate`):
    /// flood control is on, one of the two is, and the address is not a loopback one unless
    /// the operator gave one explicitly.
    pub fn address_budget_applies(&self, ip: IpAddr) -> bool {
        self.rate > 0
            && (self.ip_rate > 0 || self.ip_byte_rate > 0)
            && (self.ip_rate_loopback || !ip.is_loopback())
    }

    /// The certificate and key files and the TLS listener's address, when TLS is on.
    pub fn tls_listener(&self) -> Option<(&Path, &Path, SocketAddr)> {
        let (cert, key) = (self.tls_cert.as_deref()?, self.tls_key.as_deref()?);
        let addr = self
            .tls_addr
            .unwrap_or_else(|| SocketAddr::new(self.addr.ip(), DEFAULT_TLS_PORT));
        Some((cert, key, addr))
    }

    /// The start of every URL the web listener hands out (`http://127.0.0.1:8080`, no slash
    /// at the end), or `None` without a web listener.
    pub fn web_base(&self) -> Option<String> {
        let http = self.http?;
        Some(match &self.web_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let ip = match http.ip() {
                    IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
                    IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::from([127, 0, 0, 1]),
                    ip => ip,
                };
                let scheme = if self.tls_listener().is_some() {
                    "https"
                } else {
                    "http"
                };
                format!("{scheme}://{}", SocketAddr::new(ip, http.port()))
            }
        })
    }

    /// Checks the fields and the relations between them, naming settings by their flags.
    pub fn validate(&self) -> Result<(), String> {
        self.check(&|setting| setting.flag().to_owned())
            .map_err(|error| error.to_string())
    }

    /// The first thing wrong with this configuration, if any, with each setting involved
    /// named by `name` (a flag, or a key and where the file set it).
    pub(crate) fn check(&self, name: &dyn Fn(Setting) -> String) -> Result<(), ConfigError> {
        let refuse =
            |setting: Setting, reason: String| Err(ConfigError::Invalid { setting, reason });
        for (setting, value) in [
            (Setting::Workers, self.workers),
            (Setting::MaxClients, self.max_clients),
            (Setting::MaxPerIp, self.max_per_ip),
            (Setting::MaxRoomsPerClient, self.max_rooms_per_client),
            (Setting::MaxRoomMembers, self.max_room_members),
            (Setting::MaxRooms, self.max_rooms),
            (Setting::MaxTopic, self.max_topic),
            (Setting::MaxKey, self.max_key),
        ] {
            if value == 0 {
                return refuse(setting, format!("{} must be at least 1", name(setting)));
            }
        }
        for (setting, timeout) in [
            (Setting::RegisterTimeout, self.register_timeout),
            (Setting::IdleTimeout, self.idle_timeout),
            (Setting::WriteTimeout, self.write_timeout),
        ] {
            if timeout.is_zero() {
                return refuse(setting, format!("{} must be above 0", name(setting)));
            }
        }
        if self.rate > 0 && self.burst == 0 {
            return refuse(
                Setting::Burst,
                format!(
                    "{} must be at least 1 (or turn flood control off with {} 0)",
                    name(Setting::Burst),
                    name(Setting::Rate)
                ),
            );
        }
        if self.rate > 0 && self.byte_rate > 0 && self.byte_burst == 0 {
            return refuse(
                Setting::ByteBurst,
                format!(
                    "{} must be at least 1 (or turn the byte limit off with {} 0)",
                    name(Setting::ByteBurst),
                    name(Setting::ByteRate)
                ),
            );
        }
        if !(MIN_MAX_LINE..=MAX_MAX_LINE).contains(&self.max_line) {
            return refuse(
                Setting::MaxLine,
                format!(
                    "{} must be between {MIN_MAX_LINE} and {MAX_MAX_LINE} bytes",
                    name(Setting::MaxLine)
                ),
            );
        }
        // An ephemeral server never opens the folder, so there is nothing to refuse.
        if !self.ephemeral && self.data_dir.as_os_str().is_empty() {
            return refuse(
                Setting::DataDir,
                format!(
                    "{} must name a folder (or keep history in memory with {})",
                    name(Setting::DataDir),
                    name(Setting::Ephemeral)
                ),
            );
        }
        if self.history_lines > MAX_HISTORY_LINES {
            return refuse(
                Setting::HistoryLines,
                format!(
                    "{} must be at most {MAX_HISTORY_LINES} (0 turns history off)",
                    name(Setting::HistoryLines)
                ),
            );
        }
        if self.history_days > MAX_HISTORY_DAYS {
            return refuse(
                Setting::HistoryDays,
                format!(
                    "{} must be at most {MAX_HISTORY_DAYS} (0 keeps lines at any age)",
                    name(Setting::HistoryDays)
                ),
            );
        }
        if !(1..=MAX_CLUSTER_REPLICAS).contains(&self.cluster_replicas) {
            return refuse(
                Setting::ClusterReplicas,
                format!(
                    "{} must be 1 to {MAX_CLUSTER_REPLICAS}",
                    name(Setting::ClusterReplicas)
                ),
            );
        }
        if let Some(url) = self.cluster.iter().find(|url| !is_nats_url(url)) {
            return refuse(
                Setting::Cluster,
                format!(
                    "{} takes nats://HOST:PORT addresses separated by commas, not {url:?}",
                    name(Setting::Cluster)
                ),
            );
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            let (given, missing) = if self.tls_cert.is_some() {
                (Setting::TlsCert, Setting::TlsKey)
            } else {
                (Setting::TlsKey, Setting::TlsCert)
            };
            return refuse(
                missing,
                format!("{} needs {} too", name(given), name(missing)),
            );
        }
        if let Some(url) = &self.web_url {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            let rest = url.split_once("://").map_or("", |(_, rest)| rest);
            if !scheme_ok
                || rest.trim_end_matches('/').is_empty()
                || rest.trim_end_matches('/').contains('/')
                || url.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return refuse(
                    Setting::WebUrl,
                    format!(
                        "{} must be http://host[:port] or https://host[:port], without a path",
                        name(Setting::WebUrl)
                    ),
                );
            }
        }
        if self.max_file_size == 0 || self.max_file_size > self.file_quota {
            return refuse(
                Setting::MaxFileSize,
                format!(
                    "{} must be at least 1 byte and at most {}",
                    name(Setting::MaxFileSize),
                    name(Setting::FileQuota)
                ),
            );
        }
        if self.file_lifetime.is_zero() || self.file_lifetime > days(MAX_FILE_DAYS) {
            return refuse(
                Setting::FileDays,
                format!(
                    "{} must be between 1 and {MAX_FILE_DAYS}",
                    name(Setting::FileDays)
                ),
            );
        }
        let flush_window = Duration::from_millis(1)..=Duration::from_millis(MAX_HISTORY_FLUSH_MS);
        if !flush_window.contains(&self.history_flush) {
            return refuse(
                Setting::HistoryFlushMs,
                format!(
                    "{} must be between 1 and {MAX_HISTORY_FLUSH_MS} milliseconds",
                    name(Setting::HistoryFlushMs)
                ),
            );
        }
        // A delivered line is the client's line plus a sender nick: the queue must hold a few.
        if self.send_queue < 4 * self.max_line {
            return refuse(
                Setting::SendQueue,
                format!(
                    "{} ({} bytes) must be at least 4 x {} ({} bytes)",
                    name(Setting::SendQueue),
                    self.send_queue,
                    name(Setting::MaxLine),
                    4 * self.max_line
                ),
            );
        }
        Ok(())
    }
}

/// `count` days as a duration (`--file-days`).
pub(crate) fn days(count: u32) -> Duration {
    Duration::from_secs(u64::from(count) * 24 * 60 * 60)
}

/// A duration given in seconds, as the flags and the file take it: finite, not negative, above
/// 0 unless `zero_allowed`, and below a billion seconds (so that it fits a `Duration` and an
/// `Instant` sum; 30 years is no limit anyone means).
pub(crate) fn seconds(
    setting: Setting,
    value: f64,
    zero_allowed: bool,
    name: &dyn Fn(Setting) -> String,
) -> Result<Duration, ConfigError> {
    let lowest_ok = if zero_allowed {
        value >= 0.0
    } else {
        value > 0.0
    };
    if value.is_finite() && lowest_ok && value < MAX_SECONDS {
        return Ok(Duration::from_secs_f64(value));
    }
    let floor = if zero_allowed { "0 or more" } else { "above 0" };
    Err(ConfigError::Invalid {
        setting,
        reason: format!(
            "{} must be a number of seconds, {floor} and below {MAX_SECONDS:e}",
            name(setting)
        ),
    })
}

/// Longer than any timeout means, short enough for `Instant + Duration` never to overflow.
const MAX_SECONDS: f64 = 1e9;

/// What `--addr` and `addr` take, said when a value is not one: someone who gives a bare
/// port (`--addr 7878`) learns the form and how to listen on every interface (issue 12).
pub(crate) const ADDR_HINT: &str = "use host:port, e.g. 127.0.0.1:7878, 0.0.0.0:7878 or [::]:7878";

/// The address `text` names (`127.0.0.1:7878`, `[::]:7878`, `localhost:7878`), or why it
/// names none.
pub(crate) fn socket_addr(text: &str) -> Result<SocketAddr, String> {
    // No host (`:7878`, as Go writes every interface, or a bare `::1`): std would look up
    // an empty name and report the lookup's failure.
    if text.starts_with(':') {
        return Err(ADDR_HINT.to_owned());
    }
    let mut found = text.to_socket_addrs().map_err(|error| {
        // std's parse errors ("invalid socket address", "invalid port value") name no fix; a
        // failed name lookup says what is wrong by itself.
        if error.kind() == io::ErrorKind::InvalidInput {
            ADDR_HINT.to_owned()
        } else {
            error.to_string()
        }
    })?;
    found
        .next()
        .ok_or_else(|| format!("no address found; {ADDR_HINT}"))
}

/// The levels `--log-level` and `log_level` take, from quietest to loudest.
pub(crate) const LOG_LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// The number of cores, the default pool size.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Parses `65536`, `64K` or `1M` (binary units) into bytes. Also used by `chatd-bench`.
pub fn parse_bytes(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let scale = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => 1024 * 1024,
        "G" | "GB" | "GIB" => 1024 * 1024 * 1024,
        _ => return Err(format!("unknown unit {unit:?}: use K, M or G")),
    };
    let number: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 65536, 64K or 1M"))?;
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// Whether `url` is a NATS server's address: `nats://HOST:PORT`.
fn is_nats_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("nats://") else {
        return false;
    };
    let Some((host, port)) = rest.rsplit_once(':') else {
        return false;
    };
    !host.is_empty()
        && !host.contains(|c: char| c == '/' || c.is_whitespace() || c.is_control())
        && port.parse::<u16>().is_ok_and(|port| port > 0)
}

#[cfg(test)]
mod tests;
