//! The settings in force in a running server, which a reload (`ServerHandle::apply`, on
//! `SIGHUP` in the binary) changes without a restart.
//!
//! In scope: holding the current [`Config`] and swapping in the live settings of a new one.
//! Out of scope: which settings are live ([`Config::take_live`]) and handing new values to open
//! connections (the wiring, `ServerHandle::apply`).
//!
//! Readers take a snapshot where they use a setting, once per use: the acceptor per accepted
//! connection, the timeouts thread per look, the shutdown once. Nothing reads it per line:
//! what a connection's turn needs (its rate) is handed to each open connection instead.

use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::Config;

pub struct Live {
    /// The whole configuration, its live settings as of the last reload and the others as at
    /// the start. A mutex around an `Arc`: held only to clone or replace the `Arc`, never
    /// while anything else is locked or done.
    current: Mutex<Arc<Config>>,
}

impl Live {
    pub fn new(config: Config) -> Live {
        Live {
            current: Mutex::new(Arc::new(config)),
        }
    }

    /// The settings in force now.
    pub fn get(&self) -> Arc<Config> {
        Arc::clone(&self.current.lock())
    }

    /// Takes the live settings of `next` and keeps the others; returns the settings now in
    /// force.
    pub fn take_live(&self, next: &Config) -> Arc<Config> {
        let mut current = self.current.lock();
        let mut config = Config::clone(&current);
        config.take_live(next);
        *current = Arc::new(config);
        Arc::clone(&current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_changes_the_live_settings_only() {
        let live = Live::new(Config::default());
        let before = live.get();
        let next = Config {
            max_clients: 7,
            max_line: 100,
            ..Config::default()
        };
        let now = live.take_live(&next);
        assert_eq!(now.max_clients, 7);
        assert_eq!(now.max_line, before.max_line, "max_line needs a restart");
        assert_eq!(live.get(), now);
        assert_eq!(before.max_clients, Config::default().max_clients);
    }
}
