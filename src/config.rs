//! Configuration: the command line of `chatd` (clap) and the validated [`Config`] the server
//! takes.
//!
//! In scope: flag names, defaults, help texts, and the checks that make a `Config` sound.
//! Out of scope: logging set-up and signal handling (the `chatd` binary).

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

/// Everything the server needs to run, already validated. Build one with [`Args::into_config`]
/// or start from [`Config::default`] and change fields.
#[derive(Debug, Clone)]
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
    /// Bytes a client's outbound queue may hold before it is dropped as a slow consumer.
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
    /// Rooms one client may be in at once; one more `JOIN` gets `ERR TOO_MANY_ROOMS`.
    pub max_rooms_per_client: usize,
    /// Members one room may hold; one more `JOIN` gets `ERR ROOM_FULL`.
    pub max_room_members: usize,
    /// Flood control: lines per second one client may have executed, on average; a client
    /// over it is read more slowly, never dropped. 0 turns flood control off.
    pub rate: u32,
    /// Flood control: lines one client may send at once before `rate` applies.
    pub burst: u32,
}

pub const DEFAULT_ADDR: &str = "127.0.0.1:7878";
pub const DEFAULT_MAX_CLIENTS: usize = 10_000;
/// Generous for a team behind one NAT address; small next to `--max-clients`, so one remote
/// host cannot take the whole server. Loopback addresses are exempt unless `--max-per-ip` is
/// given (see [`Config::max_per_ip_loopback`]).
pub const DEFAULT_MAX_PER_IP: usize = 256;
pub const DEFAULT_SEND_QUEUE: usize = 1024 * 1024;
pub const DEFAULT_MAX_LINE: usize = 4096;
pub const DEFAULT_DRAIN_TIMEOUT_SECS: f64 = 5.0;
pub const DEFAULT_REGISTER_TIMEOUT_SECS: f64 = 30.0;
pub const DEFAULT_IDLE_TIMEOUT_SECS: f64 = 120.0;
pub const DEFAULT_MAX_ROOMS_PER_CLIENT: usize = 32;
pub const DEFAULT_MAX_ROOM_MEMBERS: usize = 10_000;
/// The contract's promise to a scripted client (`protocol-core.md`): at least 2,000 lines/s,
/// in bursts of 4,000, before it is slowed. Far above anyone typing; a public server may
/// lower both.
pub const DEFAULT_RATE: u32 = 2_000;
pub const DEFAULT_BURST: u32 = 4_000;

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
            send_queue: DEFAULT_SEND_QUEUE,
            max_line: DEFAULT_MAX_LINE,
            drain_timeout: Duration::from_secs_f64(DEFAULT_DRAIN_TIMEOUT_SECS),
            register_timeout: Duration::from_secs_f64(DEFAULT_REGISTER_TIMEOUT_SECS),
            idle_timeout: Duration::from_secs_f64(DEFAULT_IDLE_TIMEOUT_SECS),
            max_rooms_per_client: DEFAULT_MAX_ROOMS_PER_CLIENT,
            max_room_members: DEFAULT_MAX_ROOM_MEMBERS,
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
        }
    }
}

impl Config {
    /// The most connections allowed at once from `ip`, or `None` when it is not limited.
    pub fn per_ip_limit(&self, ip: IpAddr) -> Option<usize> {
        (self.max_per_ip_loopback || !ip.is_loopback()).then_some(self.max_per_ip)
    }

    /// Checks the relations between fields that clap cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.workers == 0 {
            return Err("--workers must be at least 1".to_owned());
        }
        if self.max_rooms_per_client == 0 {
            return Err("--max-rooms-per-client must be at least 1".to_owned());
        }
        if self.max_room_members == 0 {
            return Err("--max-room-members must be at least 1".to_owned());
        }
        if self.register_timeout.is_zero() || self.idle_timeout.is_zero() {
            return Err("--register-timeout and --idle-timeout must be above 0".to_owned());
        }
        if self.max_per_ip == 0 {
            return Err("--max-per-ip must be at least 1".to_owned());
        }
        if self.rate > 0 && self.burst == 0 {
            return Err(
                "--burst must be at least 1 (or turn flood control off with --rate 0)".to_owned(),
            );
        }
        if self.max_clients == 0 {
            return Err("--max-clients must be at least 1".to_owned());
        }
        if !(MIN_MAX_LINE..=MAX_MAX_LINE).contains(&self.max_line) {
            return Err(format!(
                "--max-line must be between {MIN_MAX_LINE} and {MAX_MAX_LINE} bytes"
            ));
        }
        // A delivered line is the client's line plus a sender nick: the queue must hold a few.
        if self.send_queue < 4 * self.max_line {
            return Err(format!(
                "--send-queue ({} bytes) must be at least 4 x --max-line ({} bytes)",
                self.send_queue,
                4 * self.max_line
            ));
        }
        Ok(())
    }
}

/// The number of cores, the default pool size.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// chatd: a small, fast chat server speaking a plain text line protocol (try it with `nc`).
#[derive(Debug, Parser)]
#[command(name = "chatd", version, about, long_about = None)]
pub struct Args {
    /// Address to listen on (host:port).
    #[arg(long, default_value = DEFAULT_ADDR)]
    pub addr: String,

    /// Worker threads that execute commands [default: number of cores].
    #[arg(long)]
    pub workers: Option<usize>,

    /// Open connections allowed at once; the next one gets ERR SERVER_FULL and is closed.
    #[arg(long, default_value_t = DEFAULT_MAX_CLIENTS)]
    pub max_clients: usize,

    /// Open connections allowed from one address; the next one from it gets
    /// ERR TOO_MANY_CONNECTIONS and is closed. Loopback addresses are not limited unless this
    /// flag is given [default: 256]
    #[arg(long)]
    pub max_per_ip: Option<usize>,

    /// Bytes queued for one client before it is dropped as a slow consumer (suffix K or M
    /// for KiB or MiB).
    #[arg(long, default_value = "1M", value_parser = parse_bytes)]
    pub send_queue: usize,

    /// Longest accepted line in bytes, line ending included; longer lines get ERR LINE_TOO_LONG.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE)]
    pub max_line: usize,

    /// Seconds a shutdown waits for queued lines to be written before closing sockets anyway.
    #[arg(long, default_value_t = DEFAULT_DRAIN_TIMEOUT_SECS)]
    pub drain_timeout: f64,

    /// Seconds a connection may stay without a nick before it is closed (BYE register timeout).
    #[arg(long, default_value_t = DEFAULT_REGISTER_TIMEOUT_SECS)]
    pub register_timeout: f64,

    /// Seconds of silence from a client before the server sends PING; as long again without a
    /// line closes it (ping timeout).
    #[arg(long, default_value_t = DEFAULT_IDLE_TIMEOUT_SECS)]
    pub idle_timeout: f64,

    /// Rooms one client may be in at once; one more JOIN gets ERR TOO_MANY_ROOMS.
    #[arg(long, default_value_t = DEFAULT_MAX_ROOMS_PER_CLIENT)]
    pub max_rooms_per_client: usize,

    /// Members one room may hold; one more JOIN gets ERR ROOM_FULL.
    #[arg(long, default_value_t = DEFAULT_MAX_ROOM_MEMBERS)]
    pub max_room_members: usize,

    /// Flood control: lines per second a client may send on average. A client over it is read
    /// more slowly (TCP pushes back), never dropped and none of its lines lost. 0 turns it off.
    #[arg(long, default_value_t = DEFAULT_RATE)]
    pub rate: u32,

    /// Flood control: lines a client may send at once before --rate applies.
    #[arg(long, default_value_t = DEFAULT_BURST)]
    pub burst: u32,

    /// Log level: off, error, warn, info, debug (connections) or trace (every line).
    #[arg(long, default_value = "info")]
    pub log_level: log::LevelFilter,

    /// Also append the log to this file.
    #[arg(long)]
    pub log_file: Option<PathBuf>,
}

impl Args {
    /// Resolves the address and validates the whole configuration.
    pub fn into_config(&self) -> Result<Config, String> {
        let addr = self
            .addr
            .to_socket_addrs()
            .map_err(|e| format!("--addr {}: {e}", self.addr))?
            .next()
            .ok_or_else(|| format!("--addr {}: no address found", self.addr))?;
        if !(self.drain_timeout.is_finite() && self.drain_timeout >= 0.0) {
            return Err("--drain-timeout must be a number of seconds, 0 or more".to_owned());
        }
        for (flag, seconds) in [
            ("--register-timeout", self.register_timeout),
            ("--idle-timeout", self.idle_timeout),
        ] {
            if !(seconds.is_finite() && seconds > 0.0 && seconds < 1e9) {
                return Err(format!("{flag} must be a number of seconds above 0"));
            }
        }
        let config = Config {
            addr,
            workers: self.workers.unwrap_or_else(default_workers),
            max_clients: self.max_clients,
            max_per_ip: self.max_per_ip.unwrap_or(DEFAULT_MAX_PER_IP),
            max_per_ip_loopback: self.max_per_ip.is_some(),
            send_queue: self.send_queue,
            max_line: self.max_line,
            drain_timeout: Duration::from_secs_f64(self.drain_timeout),
            register_timeout: Duration::from_secs_f64(self.register_timeout),
            idle_timeout: Duration::from_secs_f64(self.idle_timeout),
            max_rooms_per_client: self.max_rooms_per_client,
            max_room_members: self.max_room_members,
            rate: self.rate,
            burst: self.burst,
        };
        config.validate()?;
        Ok(config)
    }
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
        _ => return Err(format!("unknown unit {unit:?}: use K or M")),
    };
    let number: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 65536, 64K or 1M"))?;
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let args = Args::try_parse_from(["chatd"].iter().chain(args)).map_err(|e| e.to_string())?;
        args.into_config()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:7878");
        assert_eq!(config.max_clients, 10_000);
        assert_eq!(config.max_per_ip, 256);
        assert!(!config.max_per_ip_loopback);
        assert_eq!(config.max_line, 4096);
        assert_eq!(config.send_queue, 1024 * 1024);
        assert_eq!(config.workers, default_workers());
        assert_eq!(config.max_rooms_per_client, 32);
        assert_eq!(config.max_room_members, 10_000);
        assert_eq!((config.rate, config.burst), (2_000, 4_000));
    }

    #[test]
    fn the_per_address_limit_spares_loopback_unless_given() {
        let remote: IpAddr = "192.0.2.7".parse().unwrap();
        let default = parse(&[]).unwrap();
        assert_eq!(default.per_ip_limit(remote), Some(256));
        assert_eq!(default.per_ip_limit("127.0.0.1".parse().unwrap()), None);
        assert_eq!(default.per_ip_limit("::1".parse().unwrap()), None);
        let explicit = parse(&["--max-per-ip", "256"]).unwrap();
        assert_eq!(explicit.per_ip_limit(remote), Some(256));
        assert_eq!(
            explicit.per_ip_limit("127.0.0.1".parse().unwrap()),
            Some(256)
        );
    }

    #[test]
    fn sizes_take_units() {
        assert_eq!(parse_bytes("65536"), Ok(65536));
        assert_eq!(parse_bytes("64K"), Ok(65536));
        assert_eq!(parse_bytes("2m"), Ok(2 * 1024 * 1024));
        assert!(parse_bytes("12X").is_err());
        assert!(parse_bytes("K").is_err());
    }

    #[test]
    fn unsound_values_are_refused() {
        assert!(parse(&["--workers", "0"]).is_err());
        assert!(parse(&["--max-clients", "0"]).is_err());
        assert!(parse(&["--max-per-ip", "0"]).is_err());
        assert!(parse(&["--register-timeout", "0"]).is_err());
        assert!(parse(&["--idle-timeout", "-1"]).is_err());
        assert!(parse(&["--max-rooms-per-client", "0"]).is_err());
        assert!(parse(&["--max-room-members", "0"]).is_err());
        assert!(parse(&["--max-line", "10"]).is_err());
        assert!(parse(&["--send-queue", "1K"]).is_err());
        assert!(parse(&["--drain-timeout", "-1"]).is_err());
        assert!(parse(&["--burst", "0"]).is_err());
        assert!(parse(&["--rate", "0", "--burst", "0"]).is_ok());
        assert!(parse(&["--log-level", "loud"]).is_err());
        assert!(parse(&["--workers", "3", "--max-line", "128"]).is_ok());
    }
}
