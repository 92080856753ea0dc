//! Which settings a running server changes when told to (`SIGHUP` re-reads the `--config`
//! file), and what a reload changes.
//!
//! In scope: the split of the settings into live ones and ones that need a restart
//! ([`Setting::is_live`]), copying the live ones from a new configuration
//! ([`Config::take_live`]), and the list of what differs ([`Settings::changes_to`]). Out of
//! scope: reading the file again ([`super::args`]), applying the values in the running server
//! (`ServerHandle::apply`), and the signal (the `chatd` binary).
//!
//! A setting is live when the server reads it where it is used, at the time of use: the
//! acceptor for each new connection, the timeouts thread at each look, the shutdown, or when
//! the server hands it to every open connection (the line and byte rates and the write
//! timeout). The others
//! shape what exists from the start (the listener, the pool, each queue and line buffer) or are
//! held by every session (the room limits).

use std::fmt;

use super::args::Settings;
use super::setting::Setting;
use super::values::Config;

impl Setting {
    /// Whether a running server takes a new value of this setting when its file is reloaded;
    /// the others take effect at the next start.
    pub fn is_live(self) -> bool {
        match self {
            Setting::MaxClients
            | Setting::MaxPerIp
            | Setting::ConnectRate
            | Setting::DrainTimeout
            | Setting::RegisterTimeout
            | Setting::IdleTimeout
            | Setting::WriteTimeout
            | Setting::Rate
            | Setting::Burst
            | Setting::ByteRate
            | Setting::ByteBurst
            | Setting::LogLevel => true,
            // The address budgets are made at start, with their rates.
            Setting::IpRate | Setting::IpByteRate => false,
            Setting::Addr
            | Setting::Workers
            | Setting::SendQueue
            | Setting::MaxLine
            | Setting::MaxRoomsPerClient
            | Setting::MaxRoomMembers
            | Setting::MaxRooms
            | Setting::MaxTopic
            | Setting::MaxKey
            | Setting::PresenceLimit
            | Setting::LogFile => false,
            // The store opens its database and starts its thread once, at start.
            Setting::DataDir
            | Setting::Ephemeral
            | Setting::HistoryLines
            | Setting::HistoryDays
            | Setting::HistoryFlushMs => false,
            // The web listener is bound and its file store opened once, at start.
            Setting::Http
            | Setting::WebUrl
            | Setting::MaxFileSize
            | Setting::FileQuota
            | Setting::FileDays => false,
            // Read for each new connection.
            Setting::AllowPlainPasswords => true,
            // The TLS listener is bound once; its files are read again on every reload
            // whatever the configuration says (`ServerHandle::reload_tls`).
            Setting::TlsCert | Setting::TlsKey | Setting::TlsAddr => false,
            // A node joins its cluster once, at start.
            Setting::Cluster | Setting::ClusterReplicas => false,
        }
    }
}

impl Config {
    /// Copies the live settings of `from` into this configuration and keeps the others: what
    /// a running server runs with after a reload.
    pub fn take_live(&mut self, from: &Config) {
        // Every field is named, so that a new one cannot be added without saying whether a
        // reload changes it.
        let Config {
            addr: _,
            workers: _,
            max_clients,
            max_per_ip,
            max_per_ip_loopback,
            connect_rate,
            connect_rate_loopback,
            send_queue: _,
            max_line: _,
            drain_timeout,
            register_timeout,
            idle_timeout,
            write_timeout,
            max_rooms_per_client: _,
            max_room_members: _,
            max_rooms: _,
            max_topic: _,
            max_key: _,
            presence_limit: _,
            rate,
            burst,
            byte_rate,
            byte_burst,
            ip_rate: _,
            ip_byte_rate: _,
            ip_rate_loopback: _,
            data_dir: _,
            ephemeral: _,
            history_lines: _,
            history_days: _,
            history_flush: _,
            http: _,
            web_url: _,
            max_file_size: _,
            file_quota: _,
            file_lifetime: _,
            tls_cert: _,
            tls_key: _,
            tls_addr: _,
            allow_plain_passwords,
            cluster: _,
            cluster_replicas: _,
        } = from;
        self.max_clients = *max_clients;
        self.max_per_ip = *max_per_ip;
        self.max_per_ip_loopback = *max_per_ip_loopback;
        self.connect_rate = *connect_rate;
        self.connect_rate_loopback = *connect_rate_loopback;
        self.drain_timeout = *drain_timeout;
        self.register_timeout = *register_timeout;
        self.idle_timeout = *idle_timeout;
        self.write_timeout = *write_timeout;
        self.rate = *rate;
        self.burst = *burst;
        self.byte_rate = *byte_rate;
        self.byte_burst = *byte_burst;
        self.allow_plain_passwords = *allow_plain_passwords;
    }
}

/// What a reload changes, as settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Live settings with a new value: they take effect now.
    pub live: Vec<Setting>,
    /// Settings with a new value that only a restart applies.
    pub need_restart: Vec<Setting>,
}

/// `max_clients, rate in effect now; max_line changed, but takes effect at the next start`.
impl fmt::Display for Changes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = |settings: &[Setting]| -> String {
            let keys: Vec<&str> = settings.iter().map(|setting| setting.key()).collect();
            keys.join(", ")
        };
        if self.live.is_empty() {
            f.write_str("no live setting changed")?;
        } else {
            write!(f, "{} in effect now", keys(&self.live))?;
        }
        if !self.need_restart.is_empty() {
            write!(
                f,
                "; {} changed, but take effect at the next start",
                keys(&self.need_restart)
            )?;
        }
        Ok(())
    }
}

impl Settings {
    /// The settings whose values differ between these settings (the running ones) and
    /// `next`, split by whether a running server can take them.
    pub fn changes_to(&self, next: &Settings) -> Changes {
        let mut changes = Changes::default();
        for setting in Setting::ALL {
            if self.differs(next, setting) {
                if setting.is_live() {
                    changes.live.push(setting);
                } else {
                    changes.need_restart.push(setting);
                }
            }
        }
        changes
    }

    /// These settings with the live ones of `next`: what a server runs with after a reload.
    pub fn take_live(&mut self, next: &Settings) {
        self.config.take_live(&next.config);
        self.log_level = next.log_level;
    }

    fn differs(&self, other: &Settings, setting: Setting) -> bool {
        let (a, b) = (&self.config, &other.config);
        match setting {
            Setting::Addr => a.addr != b.addr,
            Setting::Workers => a.workers != b.workers,
            Setting::MaxClients => a.max_clients != b.max_clients,
            // Setting the key, even to the default, also limits loopback addresses.
            Setting::MaxPerIp => {
                (a.max_per_ip, a.max_per_ip_loopback) != (b.max_per_ip, b.max_per_ip_loopback)
            }
            Setting::ConnectRate => {
                (a.connect_rate, a.connect_rate_loopback)
                    != (b.connect_rate, b.connect_rate_loopback)
            }
            Setting::SendQueue => a.send_queue != b.send_queue,
            Setting::MaxLine => a.max_line != b.max_line,
            Setting::DrainTimeout => a.drain_timeout != b.drain_timeout,
            Setting::RegisterTimeout => a.register_timeout != b.register_timeout,
            Setting::IdleTimeout => a.idle_timeout != b.idle_timeout,
            Setting::WriteTimeout => a.write_timeout != b.write_timeout,
            Setting::MaxRoomsPerClient => a.max_rooms_per_client != b.max_rooms_per_client,
            Setting::MaxRoomMembers => a.max_room_members != b.max_room_members,
            Setting::MaxRooms => a.max_rooms != b.max_rooms,
            Setting::MaxTopic => a.max_topic != b.max_topic,
            Setting::MaxKey => a.max_key != b.max_key,
            Setting::PresenceLimit => a.presence_limit != b.presence_limit,
            Setting::Rate => a.rate != b.rate,
            Setting::Burst => a.burst != b.burst,
            Setting::ByteRate => a.byte_rate != b.byte_rate,
            Setting::ByteBurst => a.byte_burst != b.byte_burst,
            // Setting either key, even to the default, also limits loopback addresses.
            Setting::IpRate => (a.ip_rate, a.ip_rate_loopback) != (b.ip_rate, b.ip_rate_loopback),
            Setting::IpByteRate => {
                (a.ip_byte_rate, a.ip_rate_loopback) != (b.ip_byte_rate, b.ip_rate_loopback)
            }
            Setting::DataDir => a.data_dir != b.data_dir,
            Setting::Ephemeral => a.ephemeral != b.ephemeral,
            Setting::HistoryLines => a.history_lines != b.history_lines,
            Setting::HistoryDays => a.history_days != b.history_days,
            Setting::HistoryFlushMs => a.history_flush != b.history_flush,
            Setting::Http => a.http != b.http,
            Setting::WebUrl => a.web_url != b.web_url,
            Setting::MaxFileSize => a.max_file_size != b.max_file_size,
            Setting::FileQuota => a.file_quota != b.file_quota,
            Setting::FileDays => a.file_lifetime != b.file_lifetime,
            Setting::TlsCert => a.tls_cert != b.tls_cert,
            Setting::TlsKey => a.tls_key != b.tls_key,
            Setting::TlsAddr => a.tls_addr != b.tls_addr,
            Setting::AllowPlainPasswords => a.allow_plain_passwords != b.allow_plain_passwords,
            Setting::Cluster => a.cluster != b.cluster,
            Setting::ClusterReplicas => a.cluster_replicas != b.cluster_replicas,
            Setting::LogLevel => self.log_level != other.log_level,
            Setting::LogFile => self.log_file != other.log_file,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn defaults() -> Settings {
        Settings {
            config: Config::default(),
            log_level: log::LevelFilter::Info,
            log_file: None,
        }
    }

    /// The defaults with `setting` changed to another valid value.
    fn changed(setting: Setting) -> Settings {
        let mut settings = defaults();
        let config = &mut settings.config;
        match setting {
            Setting::Addr => config.addr = "127.0.0.1:9999".parse().unwrap(),
            Setting::Workers => config.workers += 1,
            Setting::MaxClients => config.max_clients = 5,
            Setting::MaxPerIp => config.max_per_ip_loopback = true,
            Setting::ConnectRate => config.connect_rate = 3,
            Setting::SendQueue => config.send_queue *= 2,
            Setting::MaxLine => config.max_line = 100,
            Setting::DrainTimeout => config.drain_timeout = Duration::from_secs(1),
            Setting::RegisterTimeout => config.register_timeout = Duration::from_secs(1),
            Setting::IdleTimeout => config.idle_timeout = Duration::from_secs(1),
            Setting::WriteTimeout => config.write_timeout = Duration::from_secs(1),
            Setting::MaxRoomsPerClient => config.max_rooms_per_client = 2,
            Setting::MaxRoomMembers => config.max_room_members = 2,
            Setting::MaxRooms => config.max_rooms = 2,
            Setting::MaxTopic => config.max_topic = 100,
            Setting::MaxKey => config.max_key = 10,
            Setting::PresenceLimit => config.presence_limit = 10,
            Setting::Rate => config.rate = 7,
            Setting::Burst => config.burst = 7,
            Setting::ByteRate => config.byte_rate = 1000,
            Setting::ByteBurst => config.byte_burst = 1000,
            Setting::IpRate => config.ip_rate = 7,
            Setting::IpByteRate => config.ip_byte_rate = 1000,
            Setting::DataDir => config.data_dir = "/var/lib/chatd".into(),
            Setting::Ephemeral => config.ephemeral = true,
            Setting::HistoryLines => config.history_lines = 0,
            Setting::HistoryDays => config.history_days = 7,
            Setting::HistoryFlushMs => config.history_flush = Duration::from_millis(20),
            Setting::Http => config.http = None,
            Setting::WebUrl => config.web_url = Some("https://chat.example.org".into()),
            Setting::MaxFileSize => config.max_file_size = 1000,
            Setting::FileQuota => config.file_quota *= 2,
            Setting::FileDays => config.file_lifetime = Duration::from_secs(60 * 60 * 24),
            Setting::TlsCert => config.tls_cert = Some("cert.pem".into()),
            Setting::TlsKey => config.tls_key = Some("key.pem".into()),
            Setting::TlsAddr => config.tls_addr = Some("127.0.0.1:6698".parse().unwrap()),
            Setting::AllowPlainPasswords => config.allow_plain_passwords = true,
            Setting::Cluster => config.cluster = vec!["nats://127.0.0.1:4222".into()],
            Setting::ClusterReplicas => config.cluster_replicas = 3,
            Setting::LogLevel => settings.log_level = log::LevelFilter::Debug,
            Setting::LogFile => settings.log_file = Some("chatd.log".into()),
        }
        settings
    }

    #[test]
    fn issue_13_a_reload_names_each_change_and_takes_only_the_live_ones() {
        for setting in Setting::ALL {
            let next = changed(setting);
            let changes = defaults().changes_to(&next);
            let (live, restart) = if setting.is_live() {
                (vec![setting], vec![])
            } else {
                (vec![], vec![setting])
            };
            assert_eq!(changes.live, live, "{setting:?}");
            assert_eq!(changes.need_restart, restart, "{setting:?}");

            let mut running = defaults();
            running.take_live(&next);
            if setting.is_live() {
                assert_eq!(running, next, "{setting:?} is live but was not taken");
            } else {
                assert_eq!(
                    running,
                    defaults(),
                    "{setting:?} needs a restart but was taken"
                );
            }
        }
        assert_eq!(defaults().changes_to(&defaults()), Changes::default());
    }

    #[test]
    fn issue_15_a_reload_of_the_history_settings_says_a_restart_is_needed() {
        let history = [
            Setting::DataDir,
            Setting::Ephemeral,
            Setting::HistoryLines,
            Setting::HistoryDays,
            Setting::HistoryFlushMs,
        ];
        let mut next = defaults();
        next.config = Config {
            data_dir: "/var/lib/chatd".into(),
            ephemeral: true,
            history_lines: 0,
            history_days: 7,
            history_flush: Duration::from_millis(20),
            ..Config::default()
        };
        let changes = defaults().changes_to(&next);
        assert_eq!(changes.live, []);
        assert_eq!(changes.need_restart, history);
        assert_eq!(
            changes.to_string(),
            "no live setting changed; data_dir, ephemeral, history_lines, history_days, \
             history_flush_ms changed, but take effect at the next start"
        );
        let mut running = defaults();
        running.take_live(&next);
        assert_eq!(running, defaults());
    }

    #[test]
    fn changes_read_as_what_takes_effect_when() {
        let changes = |live: &[Setting], need_restart: &[Setting]| Changes {
            live: live.to_vec(),
            need_restart: need_restart.to_vec(),
        };
        assert_eq!(changes(&[], &[]).to_string(), "no live setting changed");
        assert_eq!(
            changes(&[Setting::Rate, Setting::Burst], &[Setting::MaxLine]).to_string(),
            "rate, burst in effect now; max_line changed, but take effect at the next start"
        );
    }
}
