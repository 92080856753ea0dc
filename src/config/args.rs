//! The command line of `chatd` (clap), and how it meets the configuration file: a flag given
//! on the command line wins, then the file's key, then the built-in default.
//!
//! In scope: flag names, help texts, the merge and the checks of the merged result (through
//! [`Config::check`], with every setting named where it was set). Out of scope: the file's
//! syntax ([`super::file`]), logging set-up and signals (the `chatd` binary).
//!
//! Every setting is an `Option` here, `None` when its flag is not given, so that nothing can
//! mistake a default for a choice: the file may only fill what the command line left out, and
//! `max_per_ip`, `connect_rate`, `ip_rate` or `ip_byte_rate` given anywhere also limits
//! loopback addresses. Clap cannot show a default it does not apply, so each help text states
//! its default; a test holds them to the example file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use toml::Spanned;

use super::file::{ByteSize, ConfigFile};
use super::setting::{ConfigError, Setting};
use super::tls_args::TlsCommand;
use super::values::{self, Config};

/// chatd: a small, fast chat server speaking a plain text line protocol (try it with `nc`).
#[derive(Debug, Default, Parser)]
#[command(
    name = "chatd",
    version,
    about,
    long_about = None,
    // `chatd account` takes its own --config and --data-dir; the server's flags go without one.
    args_conflicts_with_subcommands = true,
    after_help = "Each setting comes from its flag if given, else from the --config file, else its \
                  default. The file's keys are the flags' names in snake_case (--max-line is \
                  max_line); chatd.example.toml lists them all."
)]
pub struct Args {
    /// Read settings from this TOML file (see chatd.example.toml); flags given here override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address to listen on (host:port); 0.0.0.0:7878 or [::]:7878 lets other machines
    /// connect [default: 127.0.0.1:7878]
    #[allow(
        rustdoc::broken_intra_doc_links,
        reason = "clap's help text: [::] is an address, not a link"
    )]
    #[arg(long)]
    pub addr: Option<String>,

    /// Worker threads that execute commands [default: number of cores]
    #[arg(long)]
    pub workers: Option<usize>,

    /// Open connections allowed at once; the next one gets ERR SERVER_FULL and is closed
    /// [default: 10000]
    #[arg(long)]
    pub max_clients: Option<usize>,

    /// Open connections allowed from one address; the next one from it gets
    /// ERR TOO_MANY_CONNECTIONS and is closed. Loopback addresses are not limited unless this
    /// flag (or its key in the file) is given [default: 256]
    #[arg(long)]
    pub max_per_ip: Option<usize>,

    /// New connections allowed per second from one address (an IPv6 /64 counts as one), in
    /// bursts of twice that; one more gets ERR TOO_MANY_CONNECTIONS and is closed. Loopback
    /// addresses are not limited unless this flag (or its key in the file) is given. 0 turns
    /// it off [default: 20]
    #[arg(long)]
    pub connect_rate: Option<u32>,

    /// Bytes queued for one client before it is dropped as a slow consumer, each line counted
    /// with its memory overhead (suffix K or M for KiB or MiB) [default: 1M]
    #[arg(long, value_parser = values::parse_bytes)]
    pub send_queue: Option<usize>,

    /// Longest accepted line in bytes, line ending included; longer lines get ERR LINE_TOO_LONG
    /// [default: 4096]
    #[arg(long)]
    pub max_line: Option<usize>,

    /// Seconds a shutdown waits for queued lines to be written before closing sockets anyway
    /// [default: 5]
    #[arg(long)]
    pub drain_timeout: Option<f64>,

    /// Seconds a connection may stay without a nick before it is closed (BYE register timeout)
    /// [default: 30]
    #[arg(long)]
    pub register_timeout: Option<f64>,

    /// Seconds of silence from a client before the server sends PING; as long again without a
    /// line closes it (ping timeout) [default: 120]
    #[arg(long)]
    pub idle_timeout: Option<f64>,

    /// Seconds the server may be unable to write anything to a client (it reads nothing)
    /// before its connection is cut [default: 30]
    #[arg(long)]
    pub write_timeout: Option<f64>,

    /// Rooms one client may be in at once; one more JOIN gets ERR TOO_MANY_ROOMS [default: 32]
    #[arg(long)]
    pub max_rooms_per_client: Option<usize>,

    /// Members one room may hold; one more JOIN gets ERR ROOM_FULL [default: 10000]
    #[arg(long)]
    pub max_room_members: Option<usize>,

    /// Rooms on the server at once; a JOIN that would create one more gets ERR NO_MORE_ROOMS
    /// [default: 10000]
    #[arg(long)]
    pub max_rooms: Option<usize>,

    /// Longest room topic in bytes; a longer one gets ERR TOO_LONG [default: 390]
    #[arg(long)]
    pub max_topic: Option<usize>,

    /// Longest room key in bytes; a longer one gets ERR TOO_LONG [default: 64]
    #[arg(long)]
    pub max_key: Option<usize>,

    /// Registered clients above which the lobby's JOIN, NICK and QUIT are no longer announced
    /// (clients with CAP presence get the count instead); 0: always announced [default: 1000]
    #[arg(long)]
    pub presence_limit: Option<usize>,

    /// Flood control: lines per second a client may send on average. A client over it is read
    /// more slowly (TCP pushes back), never dropped and none of its lines lost. 0 turns it off
    /// [default: 2000]
    #[arg(long)]
    pub rate: Option<u32>,

    /// Flood control: lines a client may send at once before --rate applies [default: 4000]
    #[arg(long)]
    pub burst: Option<u32>,

    /// Flood control: bytes per second a client may cost on average (suffix K or M): the bytes
    /// it sends, plus the answers to its own commands (WHO, ROOMS, HELP cost what they
    /// produce). Over it, it is read more slowly, as over --rate. 0: no byte limit per client
    /// [default: 4M]
    #[arg(long, value_parser = values::parse_bytes)]
    pub byte_rate: Option<usize>,

    /// Flood control: bytes a client may cost at once before --byte-rate applies (suffix K or
    /// M) [default: 8M]
    #[arg(long, value_parser = values::parse_bytes)]
    pub byte_burst: Option<usize>,

    /// Flood control shared by all connections from one address (an IPv6 /64 counts as one):
    /// lines per second, burst twice as many. When it is used up, all of them are read more
    /// slowly. Loopback addresses are not limited unless this flag or --ip-byte-rate (or its
    /// key in the file) is given. 0: no such limit [default: 20000]
    #[arg(long)]
    pub ip_rate: Option<u32>,

    /// Flood control shared by all connections from one address: bytes per second, counted as
    /// for --byte-rate, burst twice as many (suffix K or M). 0: no such limit [default: 32M]
    #[arg(long, value_parser = values::parse_bytes)]
    pub ip_byte_rate: Option<usize>,

    /// Folder of the history database (chatd.db and its -wal and -shm files), created when
    /// missing; a relative path is taken from the directory chatd is started in. Unused with
    /// --ephemeral [default: chatd-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Keep history in memory only: nothing is written to disk and a restart forgets it
    /// [default: false]
    #[arg(long)]
    pub ephemeral: bool,

    /// Lines of history kept for the lobby and for each room; older ones are deleted. 0 turns
    /// history off: nothing is kept and HISTORY answers nothing [default: 10000]
    #[arg(long, value_name = "N")]
    pub history_lines: Option<usize>,

    /// Days a line of history is kept; older ones are deleted. 0: no age limit, only
    /// --history-lines applies [default: 90]
    #[arg(long, value_name = "DAYS")]
    pub history_days: Option<u32>,

    /// Milliseconds (not seconds: the window is far below one) that history lines are
    /// collected before being written to disk together. A clean shutdown loses nothing; a
    /// crash or kill -9 loses at most the lines of this window. 1 to 10000 [default: 100]
    #[arg(long, value_name = "MS")]
    pub history_flush_ms: Option<u64>,

    /// Address of the web listener (host:port): the web page at /, the protocol over WebSocket
    /// at /ws, file uploads and downloads, /metrics and /healthz. off: none
    /// [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR|off")]
    pub http: Option<String>,

    /// The web listener's address as other machines reach it (http://host:port or
    /// https://host:port), for the links of files; set it when --http is not loopback
    /// [default: http:// (https:// with --tls-cert) and the --http address]
    #[arg(long, value_name = "URL")]
    pub web_url: Option<String>,

    /// Largest file one UPLOAD may send; a larger one gets ERR FILE_TOO_LARGE (suffix K, M or
    /// G) [default: 25M]
    #[arg(long, value_parser = values::parse_bytes)]
    pub max_file_size: Option<usize>,

    /// Bytes all files kept in the data folder may take together; an UPLOAD that would pass
    /// it gets ERR QUOTA (suffix K, M or G) [default: 1G]
    #[arg(long, value_parser = values::parse_bytes)]
    pub file_quota: Option<usize>,

    /// Days a sent file can be downloaded before it is deleted, 1 to 3650 [default: 7]
    #[arg(long, value_name = "DAYS")]
    pub file_days: Option<u32>,

    /// TLS: the server's certificate, a PEM file (its chain after it). With --tls-key, the
    /// line protocol is also served over TLS at --tls-addr, and the web listener speaks
    /// HTTPS only; both files are read again on SIGHUP [default: none]
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// TLS: the certificate's private key, a PEM file [default: none]
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Address of the TLS listener for the line protocol (host:port), with --tls-cert
    /// [default: the --addr host, port 6697]
    #[arg(long, value_name = "ADDR")]
    pub tls_addr: Option<String>,

    /// Let REGISTER, LOGIN, PASSWORD and UNREGISTER through on a connection without TLS from
    /// another machine; without it they get ERR TLS_REQUIRED (loopback is always let through)
    /// [default: false]
    #[arg(long)]
    pub allow_plain_passwords: bool,

    /// Run as one node of a cluster: NATS servers with JetStream, as nats://HOST:PORT, several
    /// separated by commas. Nodes joined to the same NATS share nicks, the lobby, rooms,
    /// direct messages, accounts and the lobby's and rooms' history; without it, a server of
    /// its own [default: none]
    #[arg(long, value_name = "URLS")]
    pub cluster: Option<String>,

    /// Copies NATS keeps of the cluster's stream and buckets when it makes them (at most the
    /// number of NATS servers, up to 5) [default: 1]
    #[arg(long, value_name = "N", requires = "cluster")]
    pub cluster_replicas: Option<usize>,

    /// Log level: off, error, warn, info, debug (connections) or trace (every line)
    /// [default: info]
    #[arg(long, value_parser = log_level_parser(), hide_possible_values = true, ignore_case = true)]
    pub log_level: Option<log::LevelFilter>,

    /// Also append the log to this file [default: none]
    #[arg(long)]
    pub log_file: Option<PathBuf>,

    /// Without one, chatd runs the server.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `chatd` does instead of running the server.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Look after the accounts of a data folder while the server is stopped, or of a cluster
    /// while its nodes run (--cluster)
    Account(AccountArgs),
    /// Make TLS certificates for --tls-cert and --tls-key
    #[command(subcommand)]
    Tls(TlsCommand),
}

/// `chatd account`: the data folder, and what to do with its accounts.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "The accounts are read from and written to the database in the data folder \
                  (chatd.db). Stop the server first: a running chatd keeps accounts in memory, \
                  and these commands refuse to work while one holds the folder. The accounts \
                  of a cluster's nodes are the cluster's: change them with --cluster, or \
                  --config naming a node's file (its cluster setting), while the nodes run."
)]
pub struct AccountArgs {
    /// Read data_dir from this TOML file, as the server does (see chatd.example.toml)
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// The server's data folder, holding chatd.db [default: data_dir of --config, else
    /// chatd-data]
    #[arg(long, value_name = "DIR", global = true)]
    pub data_dir: Option<PathBuf>,

    /// Work on the accounts of the cluster on these NATS servers (nats://HOST:PORT, several
    /// separated by commas) instead of a data folder: while its nodes run, which take each
    /// change within milliseconds
    #[arg(long, value_name = "URLS", global = true, conflicts_with_all = ["config", "data_dir"])]
    pub cluster: Option<String>,

    #[command(subcommand)]
    pub action: AccountAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum AccountAction {
    /// Print every account, one a line: its nick as registered and when it was made (UTC)
    List,
    /// Delete an account; its nick is free again when the server starts
    Delete {
        /// The account's nick, in any case
        nick: String,
    },
    /// Set a new password for an account, asked twice on the terminal without echo
    ResetPassword {
        /// The account's nick, in any case
        nick: String,
        /// Read the new password from the first line of this file instead (for scripts)
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
}

/// Where `chatd account` works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountsAt {
    /// The accounts of a data folder's database, the server stopped.
    Folder(PathBuf),
    /// The accounts of the cluster on these NATS servers, its nodes running.
    Cluster(Vec<String>),
}

impl AccountArgs {
    /// Where to work: `--cluster`; else the cluster of the `--config` file's node (its
    /// `cluster`), unless `--data-dir` names a folder; else the data folder
    /// ([`AccountArgs::data_dir`]). A node's accounts are its cluster's, which a change to
    /// its folder alone would not reach.
    pub fn accounts_at(&self) -> Result<AccountsAt, ConfigError> {
        if let Some(servers) = &self.cluster {
            return Ok(AccountsAt::Cluster(values::cluster_urls(servers)));
        }
        if self.data_dir.is_none() {
            let server = Args {
                config: self.config.clone(),
                ..Args::default()
            };
            let config = server.settings()?.config;
            if !config.cluster.is_empty() {
                return Ok(AccountsAt::Cluster(config.cluster));
            }
        }
        self.data_dir().map(AccountsAt::Folder)
    }

    /// The data folder to work on: `--data-dir`, else the `--config` file's `data_dir`,
    /// else the default; the file is read and checked as the server reads it. A file that
    /// makes the server `ephemeral` leaves no folder to work on unless `--data-dir` names one.
    pub fn data_dir(&self) -> Result<PathBuf, ConfigError> {
        let server = Args {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            ..Args::default()
        };
        let config = server.settings()?.config;
        // Only the file can make it ephemeral: the subcommand has no --ephemeral.
        if let (true, None, Some(file)) = (config.ephemeral, &self.data_dir, &self.config) {
            return Err(ConfigError::Invalid {
                setting: Setting::Ephemeral,
                reason: format!(
                    "{} sets ephemeral: that server keeps its accounts in memory, with no data \
                     folder; give --data-dir to name one",
                    file.display()
                ),
            });
        }
        Ok(config.data_dir)
    }
}

/// Everything `chatd` runs with: the server's configuration and the log's.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub config: Config,
    pub log_level: log::LevelFilter,
    pub log_file: Option<PathBuf>,
}

const DEFAULT_LOG_LEVEL: log::LevelFilter = log::LevelFilter::Info;

impl Args {
    /// Reads the `--config` file if one is given, merges it under the flags and validates the
    /// result: what `chatd` runs with.
    pub fn settings(&self) -> Result<Settings, ConfigError> {
        let file = match &self.config {
            Some(path) => ConfigFile::read(path)?,
            None => ConfigFile::default(),
        };
        self.merge(&file)
    }

    /// The server's part of [`Args::settings`], the error as text.
    pub fn into_config(&self) -> Result<Config, String> {
        self.settings()
            .map(|settings| settings.config)
            .map_err(|error| error.to_string())
    }

    fn merge(&self, file: &ConfigFile) -> Result<Settings, ConfigError> {
        let mut merge = Merge {
            file,
            lines: BTreeMap::new(),
        };
        let given = &file.settings;
        let addr = merge.pick(Setting::Addr, &self.addr, &given.addr);
        let workers = merge.pick(Setting::Workers, &self.workers, &given.workers);
        let max_clients = merge.pick(Setting::MaxClients, &self.max_clients, &given.max_clients);
        let max_per_ip = merge.pick(Setting::MaxPerIp, &self.max_per_ip, &given.max_per_ip);
        let connect_rate = merge.pick(
            Setting::ConnectRate,
            &self.connect_rate,
            &given.connect_rate,
        );
        let send_queue = merge.pick(
            Setting::SendQueue,
            &self.send_queue.map(ByteSize),
            &given.send_queue,
        );
        let max_line = merge.pick(Setting::MaxLine, &self.max_line, &given.max_line);
        let drain = merge.pick(
            Setting::DrainTimeout,
            &self.drain_timeout,
            &given.drain_timeout,
        );
        let register = merge.pick(
            Setting::RegisterTimeout,
            &self.register_timeout,
            &given.register_timeout,
        );
        let idle = merge.pick(
            Setting::IdleTimeout,
            &self.idle_timeout,
            &given.idle_timeout,
        );
        let write = merge.pick(
            Setting::WriteTimeout,
            &self.write_timeout,
            &given.write_timeout,
        );
        let max_rooms_per_client = merge.pick(
            Setting::MaxRoomsPerClient,
            &self.max_rooms_per_client,
            &given.max_rooms_per_client,
        );
        let max_room_members = merge.pick(
            Setting::MaxRoomMembers,
            &self.max_room_members,
            &given.max_room_members,
        );
        let max_rooms = merge.pick(Setting::MaxRooms, &self.max_rooms, &given.max_rooms);
        let max_topic = merge.pick(Setting::MaxTopic, &self.max_topic, &given.max_topic);
        let max_key = merge.pick(Setting::MaxKey, &self.max_key, &given.max_key);
        let presence_limit = merge.pick(
            Setting::PresenceLimit,
            &self.presence_limit,
            &given.presence_limit,
        );
        let rate = merge.pick(Setting::Rate, &self.rate, &given.rate);
        let burst = merge.pick(Setting::Burst, &self.burst, &given.burst);
        let bytes = |size: &Option<usize>| size.map(ByteSize);
        let byte_rate = merge.pick(Setting::ByteRate, &bytes(&self.byte_rate), &given.byte_rate);
        let byte_burst = merge.pick(
            Setting::ByteBurst,
            &bytes(&self.byte_burst),
            &given.byte_burst,
        );
        let ip_rate = merge.pick(Setting::IpRate, &self.ip_rate, &given.ip_rate);
        let ip_byte_rate = merge.pick(
            Setting::IpByteRate,
            &bytes(&self.ip_byte_rate),
            &given.ip_byte_rate,
        );
        let data_dir = merge.pick(Setting::DataDir, &self.data_dir, &given.data_dir);
        // A switch given is `true`; one not given leaves the choice to the file.
        let ephemeral = merge.pick(
            Setting::Ephemeral,
            &self.ephemeral.then_some(true),
            &given.ephemeral,
        );
        let history_lines = merge.pick(
            Setting::HistoryLines,
            &self.history_lines,
            &given.history_lines,
        );
        let history_days = merge.pick(
            Setting::HistoryDays,
            &self.history_days,
            &given.history_days,
        );
        let history_flush_ms = merge.pick(
            Setting::HistoryFlushMs,
            &self.history_flush_ms,
            &given.history_flush_ms,
        );
        let http = merge.pick(Setting::Http, &self.http, &given.http);
        let web_url = merge.pick(Setting::WebUrl, &self.web_url, &given.web_url);
        let max_file_size = merge.pick(
            Setting::MaxFileSize,
            &bytes(&self.max_file_size),
            &given.max_file_size,
        );
        let file_quota = merge.pick(
            Setting::FileQuota,
            &bytes(&self.file_quota),
            &given.file_quota,
        );
        let file_days = merge.pick(Setting::FileDays, &self.file_days, &given.file_days);
        let tls_cert = merge.pick(Setting::TlsCert, &self.tls_cert, &given.tls_cert);
        let tls_key = merge.pick(Setting::TlsKey, &self.tls_key, &given.tls_key);
        let tls_addr = merge.pick(Setting::TlsAddr, &self.tls_addr, &given.tls_addr);
        let allow_plain_passwords = merge.pick(
            Setting::AllowPlainPasswords,
            &self.allow_plain_passwords.then_some(true),
            &given.allow_plain_passwords,
        );
        let cluster = merge.pick(Setting::Cluster, &self.cluster, &given.cluster);
        let cluster_replicas = merge.pick(
            Setting::ClusterReplicas,
            &self.cluster_replicas,
            &given.cluster_replicas,
        );
        let log_level_text = merge.pick(
            Setting::LogLevel,
            &self.log_level.map(|level| level.to_string()),
            &given.log_level,
        );
        let log_file = merge.pick(Setting::LogFile, &self.log_file, &given.log_file);

        let name = |setting: Setting| merge.name(setting);
        let defaults = Config::default();
        let addr_text = addr.unwrap_or_else(|| values::DEFAULT_ADDR.to_owned());
        let addr = values::socket_addr(&addr_text).map_err(|reason| ConfigError::Invalid {
            setting: Setting::Addr,
            reason: format!("{} {addr_text}: {reason}", name(Setting::Addr)),
        })?;
        let http = match http.as_deref() {
            None => defaults.http,
            Some("off") => None,
            Some(text) => {
                Some(
                    values::socket_addr(text).map_err(|reason| ConfigError::Invalid {
                        setting: Setting::Http,
                        reason: format!("{} {text}: {reason} (or off)", name(Setting::Http)),
                    })?,
                )
            }
        };
        let tls_addr = match tls_addr {
            None => None,
            Some(text) => {
                Some(
                    values::socket_addr(&text).map_err(|reason| ConfigError::Invalid {
                        setting: Setting::TlsAddr,
                        reason: format!("{} {text}: {reason}", name(Setting::TlsAddr)),
                    })?,
                )
            }
        };
        let log_level = match log_level_text {
            None => DEFAULT_LOG_LEVEL,
            Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
                setting: Setting::LogLevel,
                reason: format!(
                    "{} must be one of {}, not {text:?}",
                    name(Setting::LogLevel),
                    values::LOG_LEVELS.join(", ")
                ),
            })?,
        };
        let timeout = |setting, value: Option<f64>, default, zero_allowed| match value {
            None => Ok(default),
            Some(seconds) => values::seconds(setting, seconds, zero_allowed, &name),
        };
        let config = Config {
            addr,
            workers: workers.unwrap_or(defaults.workers),
            max_clients: max_clients.unwrap_or(defaults.max_clients),
            max_per_ip: max_per_ip.unwrap_or(defaults.max_per_ip),
            // An operator who sets the limit means it for every address (`Config::per_ip_limit`).
            max_per_ip_loopback: max_per_ip.is_some(),
            connect_rate: connect_rate.unwrap_or(defaults.connect_rate),
            // The same rule as `max_per_ip`'s.
            connect_rate_loopback: connect_rate.is_some(),
            send_queue: send_queue.map_or(defaults.send_queue, |size| size.0),
            max_line: max_line.unwrap_or(defaults.max_line),
            drain_timeout: timeout(Setting::DrainTimeout, drain, defaults.drain_timeout, true)?,
            register_timeout: timeout(
                Setting::RegisterTimeout,
                register,
                defaults.register_timeout,
                false,
            )?,
            idle_timeout: timeout(Setting::IdleTimeout, idle, defaults.idle_timeout, false)?,
            write_timeout: timeout(Setting::WriteTimeout, write, defaults.write_timeout, false)?,
            max_rooms_per_client: max_rooms_per_client.unwrap_or(defaults.max_rooms_per_client),
            max_room_members: max_room_members.unwrap_or(defaults.max_room_members),
            max_rooms: max_rooms.unwrap_or(defaults.max_rooms),
            max_topic: max_topic.unwrap_or(defaults.max_topic),
            max_key: max_key.unwrap_or(defaults.max_key),
            presence_limit: presence_limit.unwrap_or(defaults.presence_limit),
            rate: rate.unwrap_or(defaults.rate),
            burst: burst.unwrap_or(defaults.burst),
            byte_rate: byte_rate.map_or(defaults.byte_rate, |size| size.0),
            byte_burst: byte_burst.map_or(defaults.byte_burst, |size| size.0),
            ip_rate: ip_rate.unwrap_or(defaults.ip_rate),
            ip_byte_rate: ip_byte_rate.map_or(defaults.ip_byte_rate, |size| size.0),
            // As for max_per_ip: an operator who sets an address budget means it for loopback too.
            ip_rate_loopback: ip_rate.is_some() || ip_byte_rate.is_some(),
            data_dir: data_dir.unwrap_or_else(|| defaults.data_dir.clone()),
            ephemeral: ephemeral.unwrap_or(defaults.ephemeral),
            history_lines: history_lines.unwrap_or(defaults.history_lines),
            history_days: history_days.unwrap_or(defaults.history_days),
            history_flush: history_flush_ms.map_or(defaults.history_flush, Duration::from_millis),
            http,
            web_url,
            max_file_size: max_file_size.map_or(defaults.max_file_size, |size| size.0),
            file_quota: file_quota.map_or(defaults.file_quota, |size| size.0),
            file_lifetime: file_days.map_or(defaults.file_lifetime, values::days),
            tls_cert,
            tls_key,
            tls_addr,
            allow_plain_passwords: allow_plain_passwords.unwrap_or(false),
            cluster: cluster
                .map(|urls| values::cluster_urls(&urls))
                .unwrap_or_default(),
            cluster_replicas: cluster_replicas.unwrap_or(defaults.cluster_replicas),
        };
        config.check(&name)?;
        Ok(Settings {
            config,
            log_level,
            log_file,
        })
    }
}

/// `--log-level`: clap lists the levels when given another word (`--log-level verbose`), where
/// `log`'s own parser only says the word is not a level (issue 12).
fn log_level_parser() -> impl TypedValueParser<Value = log::LevelFilter> {
    PossibleValuesParser::new(values::LOG_LEVELS).map(|level| {
        level
            .parse()
            .expect("every name in LOG_LEVELS is a level of the log crate")
    })
}

/// The merge in progress: which settings came from the file, and from which line.
struct Merge<'a> {
    file: &'a ConfigFile,
    /// The file's line for each setting taken from the file; a setting not here came from its
    /// flag or its default.
    lines: BTreeMap<Setting, usize>,
}

impl Merge<'_> {
    /// The flag's value if given, else the file's (noting its line), else `None`: the default.
    fn pick<T: Clone>(
        &mut self,
        setting: Setting,
        flag: &Option<T>,
        from_file: &Option<Spanned<T>>,
    ) -> Option<T> {
        if flag.is_some() {
            return flag.clone();
        }
        let value = from_file.as_ref()?;
        self.lines.insert(setting, self.file.line(value));
        Some(value.get_ref().clone())
    }

    /// How an error names `setting`: its key and place when the file set it, else its flag
    /// (to change a default, the flag is as good a place as the file).
    fn name(&self, setting: Setting) -> String {
        match self.lines.get(&setting) {
            Some(line) => format!("{} at {}:{line}", setting.key(), self.file.path.display()),
            None => setting.flag().to_owned(),
        }
    }
}

#[cfg(test)]
mod tests;
