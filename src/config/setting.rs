//! The names of chatd's settings, and the errors that name them.
//!
//! In scope: [`Setting`] (each setting's flag and file key) and [`ConfigError`] (what goes
//! wrong while reading the command line and the configuration file, said with those names).
//! Out of scope: what a setting means or allows ([`super::values`]), and reading the file
//! ([`super::file`]).

use std::fmt;
use std::path::PathBuf;

/// One setting of chatd: a flag on the command line, a key in the configuration file.
///
/// The key is the flag's name in snake_case (`--max-line` is `max_line`), the TOML habit and
/// what a serde field is called; a kebab-case key is refused with a hint, so one file never
/// mixes both spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Setting {
    Addr,
    Workers,
    MaxClients,
    MaxPerIp,
    ConnectRate,
    SendQueue,
    MaxLine,
    DrainTimeout,
    RegisterTimeout,
    IdleTimeout,
    WriteTimeout,
    MaxRoomsPerClient,
    MaxRoomMembers,
    MaxRooms,
    MaxTopic,
    MaxKey,
    PresenceLimit,
    Rate,
    Burst,
    ByteRate,
    ByteBurst,
    IpRate,
    IpByteRate,
    DataDir,
    Ephemeral,
    HistoryLines,
    HistoryDays,
    HistoryFlushMs,
    Http,
    WebUrl,
    MaxFileSize,
    FileQuota,
    FileDays,
    TlsCert,
    TlsKey,
    TlsAddr,
    AllowPlainPasswords,
    Cluster,
    ClusterReplicas,
    LogLevel,
    LogFile,
}

impl Setting {
    /// Every setting, in the order of `--help` and of `chatd.example.toml`.
    pub const ALL: [Setting; 41] = [
        Setting::Addr,
        Setting::Workers,
        Setting::MaxClients,
        Setting::MaxPerIp,
        Setting::ConnectRate,
        Setting::SendQueue,
        Setting::MaxLine,
        Setting::DrainTimeout,
        Setting::RegisterTimeout,
        Setting::IdleTimeout,
        Setting::WriteTimeout,
        Setting::MaxRoomsPerClient,
        Setting::MaxRoomMembers,
        Setting::MaxRooms,
        Setting::MaxTopic,
        Setting::MaxKey,
        Setting::PresenceLimit,
        Setting::Rate,
        Setting::Burst,
        Setting::ByteRate,
        Setting::ByteBurst,
        Setting::IpRate,
        Setting::IpByteRate,
        Setting::DataDir,
        Setting::Ephemeral,
        Setting::HistoryLines,
        Setting::HistoryDays,
        Setting::HistoryFlushMs,
        Setting::Http,
        Setting::WebUrl,
        Setting::MaxFileSize,
        Setting::FileQuota,
        Setting::FileDays,
        Setting::TlsCert,
        Setting::TlsKey,
        Setting::TlsAddr,
        Setting::AllowPlainPasswords,
        Setting::Cluster,
        Setting::ClusterReplicas,
        Setting::LogLevel,
        Setting::LogFile,
    ];

    /// Its key in the configuration file: `max_line`.
    pub fn key(self) -> &'static str {
        self.names().0
    }

    /// Its flag on the command line: `--max-line`.
    pub fn flag(self) -> &'static str {
        self.names().1
    }

    /// The setting whose key is `key`, if any.
    pub fn from_key(key: &str) -> Option<Setting> {
        Setting::ALL.into_iter().find(|s| s.key() == key)
    }

    fn names(self) -> (&'static str, &'static str) {
        match self {
            Setting::Addr => ("addr", "--addr"),
            Setting::Workers => ("workers", "--workers"),
            Setting::MaxClients => ("max_clients", "--max-clients"),
            Setting::MaxPerIp => ("max_per_ip", "--max-per-ip"),
            Setting::ConnectRate => ("connect_rate", "--connect-rate"),
            Setting::SendQueue => ("send_queue", "--send-queue"),
            Setting::MaxLine => ("max_line", "--max-line"),
            Setting::DrainTimeout => ("drain_timeout", "--drain-timeout"),
            Setting::RegisterTimeout => ("register_timeout", "--register-timeout"),
            Setting::IdleTimeout => ("idle_timeout", "--idle-timeout"),
            Setting::WriteTimeout => ("write_timeout", "--write-timeout"),
            Setting::MaxRoomsPerClient => ("max_rooms_per_client", "--max-rooms-per-client"),
            Setting::MaxRoomMembers => ("max_room_members", "--max-room-members"),
            Setting::MaxRooms => ("max_rooms", "--max-rooms"),
            Setting::MaxTopic => ("max_topic", "--max-topic"),
            Setting::MaxKey => ("max_key", "--max-key"),
            Setting::PresenceLimit => ("presence_limit", "--presence-limit"),
            Setting::Rate => ("rate", "--rate"),
            Setting::Burst => ("burst", "--burst"),
            Setting::ByteRate => ("byte_rate", "--byte-rate"),
            Setting::ByteBurst => ("byte_burst", "--byte-burst"),
            Setting::IpRate => ("ip_rate", "--ip-rate"),
            Setting::IpByteRate => ("ip_byte_rate", "--ip-byte-rate"),
            Setting::DataDir => ("data_dir", "--data-dir"),
            Setting::Ephemeral => ("ephemeral", "--ephemeral"),
            Setting::HistoryLines => ("history_lines", "--history-lines"),
            Setting::HistoryDays => ("history_days", "--history-days"),
            Setting::HistoryFlushMs => ("history_flush_ms", "--history-flush-ms"),
            Setting::Http => ("http", "--http"),
            Setting::WebUrl => ("web_url", "--web-url"),
            Setting::MaxFileSize => ("max_file_size", "--max-file-size"),
            Setting::FileQuota => ("file_quota", "--file-quota"),
            Setting::FileDays => ("file_days", "--file-days"),
            Setting::TlsCert => ("tls_cert", "--tls-cert"),
            Setting::TlsKey => ("tls_key", "--tls-key"),
            Setting::TlsAddr => ("tls_addr", "--tls-addr"),
            Setting::AllowPlainPasswords => ("allow_plain_passwords", "--allow-plain-passwords"),
            Setting::Cluster => ("cluster", "--cluster"),
            Setting::ClusterReplicas => ("cluster_replicas", "--cluster-replicas"),
            Setting::LogLevel => ("log_level", "--log-level"),
            Setting::LogFile => ("log_file", "--log-file"),
        }
    }
}

/// Why chatd cannot start with the settings it was given. Every variant about the file names
/// the file, and the key and line where they are known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The configuration file cannot be read.
    Unreadable { file: PathBuf, reason: String },
    /// The file holds a key that is not a setting.
    UnknownKey {
        file: PathBuf,
        line: usize,
        key: String,
    },
    /// The file is not TOML, or a value has the wrong type (`max_line = "big"`). `key` is
    /// `None` for a syntax error outside any value.
    Malformed {
        file: PathBuf,
        line: Option<usize>,
        key: Option<String>,
        reason: String,
    },
    /// A value, or a pair of values, chatd refuses. `reason` names each setting involved the
    /// way it was set: `--max-line` on the command line (or left at its default),
    /// `max_line at chatd.toml:3` in the file.
    Invalid { setting: Setting, reason: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unreadable { file, reason } => {
                write!(
                    f,
                    "cannot read the configuration file {}: {reason}",
                    file.display()
                )
            }
            ConfigError::UnknownKey { file, line, key } => {
                write!(f, "{}:{line}: unknown key `{key}`", file.display())?;
                match Setting::from_key(&key.replace('-', "_")) {
                    Some(setting) => write!(f, "; write it `{}`", setting.key())?,
                    None => {
                        let keys: Vec<&str> = Setting::ALL.iter().map(|s| s.key()).collect();
                        write!(f, "; the keys are {}", keys.join(", "))?;
                    }
                }
                f.write_str(" (each flag's name in snake_case)")
            }
            ConfigError::Malformed {
                file,
                line,
                key,
                reason,
            } => {
                write!(f, "{}", file.display())?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                if let Some(key) = key {
                    write!(f, ": {key}")?;
                }
                write!(f, ": {reason}")
            }
            ConfigError::Invalid { reason, .. } => f.write_str(reason),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_is_its_flag_in_snake_case() {
        for setting in Setting::ALL {
            let flag = setting.flag().strip_prefix("--").unwrap();
            assert_eq!(setting.key(), flag.replace('-', "_"));
            assert_eq!(Setting::from_key(setting.key()), Some(setting));
        }
        assert_eq!(Setting::from_key("max-line"), None);
    }

    #[test]
    fn an_unknown_key_is_named_with_its_file_and_line_and_a_hint() {
        let error = |key: &str| ConfigError::UnknownKey {
            file: "chatd.toml".into(),
            line: 3,
            key: key.to_owned(),
        };
        assert_eq!(
            error("max-line").to_string(),
            "chatd.toml:3: unknown key `max-line`; write it `max_line` \
             (each flag's name in snake_case)"
        );
        let unknown = error("colour").to_string();
        assert!(
            unknown.starts_with("chatd.toml:3: unknown key `colour`; the keys are addr, workers,"),
            "{unknown}"
        );
        assert!(unknown.contains("log_level, log_file (each"), "{unknown}");
    }

    #[test]
    fn a_malformed_file_says_where_as_far_as_it_is_known() {
        let malformed = |line, key: Option<&str>| ConfigError::Malformed {
            file: "c.toml".into(),
            line,
            key: key.map(str::to_owned),
            reason: "bad".to_owned(),
        };
        assert_eq!(
            malformed(Some(2), Some("rate")).to_string(),
            "c.toml:2: rate: bad"
        );
        assert_eq!(malformed(Some(2), None).to_string(), "c.toml:2: bad");
        assert_eq!(malformed(None, None).to_string(), "c.toml: bad");
    }
}
