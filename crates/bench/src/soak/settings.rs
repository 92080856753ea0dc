//! What one soak run is asked to do: its size and pace ([`SoakSpec`]), the server it runs
//! against ([`SoakTarget`]), the server flags the soak starts a server with
//! ([`SERVER_DEFAULTS`], merged with the user's), and the humane durations of the command line
//! ([`parse_duration`]).
//!
//! In scope: defaults, validation, and working out the [`Config`] the server runs with, so
//! that the chaos clients know its limits (`--max-line`, the timeouts). Pure.
//! Out of scope: the command line itself (`src/bin/chatd-soak.rs`) and running anything.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::soak::chaos::Fault;
use chatd::config::{self, Config};

/// The flags a soak gives the server it starts, unless the user gives the same flag after
/// `--`. One list, so a server flag added later is one line here. The limits are set so that
/// every attack runs into them many times within a 20 s run.
///
/// - `--max-line 4096` (the default): the address flood's lines are 4 KiB; the chaos clients
///   send lines just under, at and far over it.
/// - `--send-queue 1M` (the default): it must hold what flood control lets one address
///   send to everyone at once (its burst, 256 KiB here, and a turn's worth), or the readers
///   who read all the time are cut as slow consumers.
/// - `--register-timeout 2`, `--idle-timeout 2` and `--write-timeout 2`: the timeout paths
///   run many times per run, not once in 30 or 240 seconds. A client that reads nothing is
///   cut two seconds after its writer stalled; a slow reader, which reads a little now and
///   then, fills its queue instead and is cut as a slow consumer.
/// - `--max-per-ip 64`: given, so that loopback addresses are limited too; each chaos slot
///   has an address of its own (see `sources`), and the address flood's connections, the
///   most of one address, stay under it.
/// - `--rate 500 --burst 500`: floods (about 1,000 lines a second on a 2-core machine
///   without it) run into flood control and must still lose nothing, while the well-behaved
///   clients (20 lines a second) and the other faults stay under it.
/// - `--byte-rate 64K --byte-burst 512K`: a `WHO` flood (answers of kilobytes) is slowed
///   by its answers within its first seconds, and so is each connection of the address
///   flood; the burst lets one line of 256 KiB (`long-line`) through at once.
/// - `--ip-rate 2000 --ip-byte-rate 128K`: given, so that loopback addresses have a budget;
///   the address flood's 16 connections could cost 1 MiB/s at their own byte rates and are
///   held to 128 KiB/s together (32 lines of 4 KiB a second to everyone), while no other
///   address comes near either.
/// - `--presence-limit 0`: every registration and departure is announced to everyone, as
///   the soak checks, however many chaos slots run (above the default 1,000 registered
///   clients a lobby is only counted).
/// - `--log-level info`: the soak reads the server's address from its `listening on` line.
pub const SERVER_DEFAULTS: &[(&str, &str)] = &[
    ("--max-line", "4096"),
    ("--send-queue", "1M"),
    ("--register-timeout", "2"),
    ("--idle-timeout", "2"),
    ("--write-timeout", "2"),
    ("--max-per-ip", "64"),
    ("--rate", "500"),
    ("--burst", "500"),
    ("--byte-rate", "64K"),
    ("--byte-burst", "512K"),
    ("--ip-rate", "2000"),
    ("--ip-byte-rate", "256K"),
    ("--presence-limit", "0"),
    ("--log-level", "info"),
];

/// Where the server comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoakTarget {
    /// The `chatd` binary at this path, started as a child with [`SERVER_DEFAULTS`] and the
    /// user's flags: its `/proc` figures are the server's alone.
    Spawn(PathBuf),
    /// A server inside this process, configured the same way. Its threads, descriptors and
    /// memory cannot be told from the soak's, so they are not measured (tests use it).
    InProcess,
    /// A server someone else started; `pid` lets the soak read its `/proc` figures. The
    /// flags after `--` then describe that server rather than configure it.
    External { addr: SocketAddr, pid: Option<u32> },
}

/// One soak run.
#[derive(Debug, Clone, PartialEq)]
pub struct SoakSpec {
    pub target: SoakTarget,
    /// Server flags after `--`, as given.
    pub server_args: Vec<String>,
    /// The chaos phase, split into two equal halves (see `resources`).
    pub duration: Duration,
    /// Chaos connections open at once: each is a thread that opens one connection after
    /// the other, each with a fault chosen at random.
    pub churn_clients: usize,
    /// Clients that chat politely all along and check everything they receive.
    pub well_behaved: usize,
    /// Well-behaved clients that only listen, and leave and come back every
    /// `resume_every`, catching up with `HISTORY * AFTER` (`resumer`).
    pub resumers: usize,
    /// How long a resuming client stays between two absences.
    pub resume_every: Duration,
    /// How long it stays away. Short, so that what the lobby says meanwhile (floods
    /// included) stays within the last 1000 lines history keeps; lines older than those
    /// are counted as beyond history, not lost.
    pub resume_away: Duration,
    /// Accounts registered at the start, each with a client that logs in to it with the
    /// right password over and over and one that sends it (and unknown nicks) wrong ones
    /// (`login_clients`).
    pub logins: usize,
    /// Seeds every random choice (faults, sizes, bytes), so a failing run can be repeated
    /// with the same choices (their timing differs).
    pub seed: u64,
    /// Each well-behaved client sends one `ALL` per interval.
    pub chat_interval: Duration,
    /// A well-behaved client sends `PING` and waits for its `PONG` after this many lines.
    pub barrier_every: u32,
    /// `ALL` lines one flood sends at most.
    pub flood_lines: u32,
    /// Floods running at once, at most.
    pub max_flooders: usize,
    /// Connections of one address flood, all from one address.
    pub address_flooders: usize,
    /// The longest a chaos client that chats stays connected before it leaves.
    pub linger: Duration,
    /// The faults to choose from (all by default).
    pub faults: Vec<Fault>,
    /// How long the end of a phase may take: every registered chaos client announced as
    /// gone, the server's threads and descriptors back to the baseline.
    pub settle_timeout: Duration,
}

impl Default for SoakSpec {
    fn default() -> SoakSpec {
        SoakSpec {
            target: SoakTarget::InProcess,
            server_args: Vec::new(),
            duration: Duration::from_secs(20),
            churn_clients: 300,
            well_behaved: 8,
            resumers: 2,
            resume_every: Duration::from_secs(2),
            resume_away: Duration::from_millis(300),
            logins: 4,
            seed: 1,
            chat_interval: Duration::from_millis(50),
            barrier_every: 20,
            flood_lines: 2000,
            max_flooders: 2,
            address_flooders: 8,
            linger: Duration::from_secs(1),
            faults: Fault::ALL.to_vec(),
            settle_timeout: Duration::from_secs(30),
        }
    }
}

/// Senders a run can number: the payload has 4 hex digits for the sender.
const MAX_SENDERS: usize = crate::loadgen::payload::MAX_SENDER as usize;

impl SoakSpec {
    /// Checks what clap cannot, and works out the server's configuration.
    pub fn validate(&self) -> Result<Config, String> {
        if self.well_behaved < 2 {
            return Err("--well-behaved must be at least 2 (one sends, the others check)".into());
        }
        if self.duration < Duration::from_millis(200) {
            return Err("--duration must be at least 200ms".into());
        }
        if self.chat_interval.is_zero() || self.barrier_every == 0 {
            return Err("--chat-interval and --barrier-every must be above 0".into());
        }
        if self.resumers > 0 && self.resume_every.is_zero() {
            return Err("--resume-every must be above 0".into());
        }
        if self.resumers > 250 {
            return Err("--resumers is at most 250 (an address each)".into());
        }
        if self.logins > 250 {
            return Err("--logins is at most 250 (an address each for the wrong passwords)".into());
        }
        if self.well_behaved + self.resumers + self.logins > MAX_SENDERS {
            return Err(format!(
                "--well-behaved plus --resumers plus --logins must stay under {MAX_SENDERS}"
            ));
        }
        if self.faults.is_empty() && self.churn_clients > 0 {
            return Err("--faults names no fault".into());
        }
        if self.well_behaved + self.resumers + self.logins + self.flood_slots() > MAX_SENDERS {
            return Err(format!(
                "--well-behaved, --resumers, --logins and floods must stay under {MAX_SENDERS} \
                 senders"
            ));
        }
        if self.churn_clients > 5000 {
            return Err("--churn-clients is at most 5000 (one thread each)".into());
        }
        if self.faults.contains(&Fault::AddressFlood) && self.address_flooders == 0 {
            return Err("--address-flooders must be above 0".into());
        }
        let config = self.server_config()?;
        let one_address = std::net::IpAddr::from([127, 0, 0, 2]);
        if let Some(limit) = config.per_ip_limit(one_address) {
            // 127.0.0.1: the well-behaved clients, the final check, a login of each account.
            let most = self
                .address_flooders
                .max(self.well_behaved + 1 + self.logins);
            if most > limit && !matches!(self.target, SoakTarget::External { .. }) {
                return Err(format!(
                    "--max-per-ip {limit} after -- is below the {most} connections the soak \
                     opens from one address (--address-flooders, --well-behaved, --logins)"
                ));
            }
        }
        Ok(config)
    }

    /// Sender numbers kept for floods, after the well-behaved clients' (a flood is a new
    /// sender every time, an address flood `address_flooders` new ones; beyond this many in
    /// a run, floods are not chosen any more).
    pub fn flood_slots(&self) -> usize {
        if self.faults.contains(&Fault::Flood) || self.faults.contains(&Fault::AddressFlood) {
            8192
        } else {
            0
        }
    }

    /// The flags the server runs with: for a server the soak starts, [`SERVER_DEFAULTS`]
    /// merged with the user's; for an external one, the user's alone.
    pub fn effective_server_args(&self) -> Vec<String> {
        match self.target {
            SoakTarget::External { .. } => self.server_args.clone(),
            _ => merge_server_args(SERVER_DEFAULTS, &self.server_args),
        }
    }

    /// The server's configuration as the soak understands it: what `chatd` would make of
    /// [`SoakSpec::effective_server_args`]. The address is this process's choice.
    pub fn server_config(&self) -> Result<Config, String> {
        let args = self.effective_server_args();
        if let Some(flag) = args.iter().find(|a| flag_name(a) == Some("--addr")) {
            return Err(format!(
                "{flag} after --: the soak chooses the address of the server it starts; \
                 use chatd-soak --addr for a server that is already running"
            ));
        }
        let web_given = args.iter().any(|a| flag_name(a) == Some("--http"));
        let parsed = config::Args::try_parse_from(std::iter::once("chatd".to_owned()).chain(args))
            .map_err(|e| format!("server flags after --: {}", first_line(&e.to_string())))?;
        let mut config = parsed.into_config()?;
        config.addr = match &self.target {
            SoakTarget::External { addr, .. } => *addr,
            _ => SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        // Never the default web port, which the machine's own chatd may hold.
        if !web_given {
            config.http = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        }
        Ok(config)
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

/// `defaults`, without those the user gives too, then the user's flags: `chatd` refuses a
/// flag given twice.
pub fn merge_server_args(defaults: &[(&str, &str)], user: &[String]) -> Vec<String> {
    let given: Vec<&str> = user.iter().filter_map(|a| flag_name(a)).collect();
    defaults
        .iter()
        .filter(|(flag, _)| !given.contains(flag))
        .flat_map(|(flag, value)| [(*flag).to_owned(), (*value).to_owned()])
        .chain(user.iter().cloned())
        .collect()
}

/// `--flag` of `--flag` or `--flag=value`; `None` for a value.
fn flag_name(arg: &str) -> Option<&str> {
    arg.starts_with("--")
        .then(|| arg.split_once('=').map_or(arg, |(name, _)| name))
}

/// A duration such as `20s`, `2m`, `1m30s`, `500ms`, `1.5s` or `1h`; a bare number is
/// seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let bad = || format!("{text:?} is not a duration such as 20s, 2m, 1m30s or 500ms");
    if text.is_empty() {
        return Err(bad());
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|_| bad());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (number, after) = rest.split_at(number_len);
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let value: f64 = number.parse().map_err(|_| bad())?;
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" | "min" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += Duration::try_from_secs_f64(value * scale).map_err(|_| bad())?;
        rest = after;
    }
    Ok(total)
}

/// A duration the way [`parse_duration`] reads it back, short: `20s`, `2m`, `1m30s`, `500ms`.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis % 1000 != 0 {
        return if millis < 1000 {
            format!("{millis}ms")
        } else {
            format!("{:.1}s", duration.as_secs_f64())
        };
    }
    let seconds = millis / 1000;
    match (seconds / 60, seconds % 60) {
        (0, s) => format!("{s}s"),
        (m, 0) => format!("{m}m"),
        (m, s) => format!("{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn durations_read_like_people_write_them() {
        let ms = Duration::from_millis;
        for (text, want) in [
            ("20s", ms(20_000)),
            ("2m", ms(120_000)),
            ("1m30s", ms(90_000)),
            ("500ms", ms(500)),
            ("1.5s", ms(1500)),
            ("1h", ms(3_600_000)),
            ("20", ms(20_000)),
            ("0.25", ms(250)),
            (" 3s ", ms(3000)),
        ] {
            assert_eq!(parse_duration(text), Ok(want), "{text}");
        }
        for text in ["", "s", "20x", "-1s", "1..5s", "m20", "1e400"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }

    #[test]
    fn durations_format_back_to_what_they_parse_from() {
        for text in ["20s", "2m", "1m30s", "500ms", "1.5s"] {
            let duration = parse_duration(text).unwrap();
            assert_eq!(format_duration(duration), text);
        }
    }

    #[test]
    fn the_users_server_flags_replace_the_defaults_they_name() {
        let defaults = [("--max-line", "512"), ("--idle-timeout", "2")];
        let merged = merge_server_args(&defaults, &strings(&["--workers", "2"]));
        assert_eq!(
            merged,
            strings(&["--max-line", "512", "--idle-timeout", "2", "--workers", "2"])
        );
        let merged = merge_server_args(&defaults, &strings(&["--max-line=1024"]));
        assert_eq!(merged, strings(&["--idle-timeout", "2", "--max-line=1024"]));
        let merged = merge_server_args(&defaults, &strings(&["--idle-timeout", "9"]));
        assert_eq!(
            merged,
            strings(&["--max-line", "512", "--idle-timeout", "9"])
        );
    }

    #[test]
    fn the_server_config_follows_the_merged_flags() {
        let spec = SoakSpec {
            server_args: strings(&["--workers", "3", "--max-line", "1000"]),
            ..SoakSpec::default()
        };
        let config = spec.validate().unwrap();
        assert_eq!(config.workers, 3);
        assert_eq!(config.max_line, 1000);
        assert_eq!(config.register_timeout, Duration::from_secs(2));
        assert_eq!(config.send_queue, 1024 * 1024);
        assert_eq!(config.addr.ip().to_string(), "127.0.0.1");
        // An external server's flags are the user's alone: chatd's defaults otherwise.
        let external = SoakSpec {
            target: SoakTarget::External {
                addr: "127.0.0.1:7878".parse().unwrap(),
                pid: None,
            },
            ..SoakSpec::default()
        };
        let config = external.validate().unwrap();
        assert_eq!(config.max_line, config::DEFAULT_MAX_LINE);
        assert_eq!(config.addr.port(), 7878);
    }

    #[test]
    fn unsound_specs_are_refused_with_the_reason() {
        let refused = |spec: SoakSpec| spec.validate().unwrap_err();
        assert!(
            refused(SoakSpec {
                server_args: strings(&["--addr", "127.0.0.1:1"]),
                ..SoakSpec::default()
            })
            .contains("chatd-soak --addr")
        );
        assert!(
            refused(SoakSpec {
                server_args: strings(&["--no-such-flag"]),
                ..SoakSpec::default()
            })
            .contains("--no-such-flag")
        );
        assert!(
            refused(SoakSpec {
                server_args: strings(&["--max-line", "10"]),
                ..SoakSpec::default()
            })
            .contains("--max-line")
        );
        assert!(
            refused(SoakSpec {
                well_behaved: 1,
                ..SoakSpec::default()
            })
            .contains("--well-behaved")
        );
        assert!(
            refused(SoakSpec {
                faults: Vec::new(),
                ..SoakSpec::default()
            })
            .contains("--faults")
        );
        assert!(
            refused(SoakSpec {
                logins: 251,
                ..SoakSpec::default()
            })
            .contains("--logins")
        );
        assert!(
            refused(SoakSpec {
                logins: 60,
                ..SoakSpec::default()
            })
            .contains("--logins")
        );
    }
}
