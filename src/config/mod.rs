//! Configuration: the command line of `chatd`, its configuration file, and the validated
//! [`Config`] the server takes.
//!
//! In reading order:
//! - `setting`: each setting's flag and file key, and [`ConfigError`], which names them.
//! - `values`: [`Config`], the defaults, and the checks that make a configuration sound.
//! - `file`: the TOML file given with `--config`, parsed with serde; unknown keys and values of
//!   the wrong type are refused with their line.
//! - `args`: the flags ([`Args`]) and the merge: a flag given wins over the file, which wins
//!   over the default; the merged result is checked as a whole. Also the `chatd account`
//!   subcommand ([`AccountArgs`]), whose data folder is found the same way, and `chatd tls
//!   self-signed` ([`SelfSignedArgs`]).
//! - `live`: which settings a running server takes on a reload (`SIGHUP`), and [`Changes`],
//!   what a reload changes.
//!
//! Out of scope: logging set-up and signal handling (the `chatd` binary). This folder only
//! re-exports from its files, which never import from here, so no file depends on another in
//! a circle.

mod args;
mod file;
mod live;
mod setting;
mod tls_args;
mod values;

pub use args::{AccountAction, AccountArgs, AccountsAt, Args, Command, Settings};
pub use live::Changes;
pub use setting::{ConfigError, Setting};
pub use tls_args::{SelfSignedArgs, TlsCommand};
pub use values::{
    Config, DEFAULT_ADDR, DEFAULT_BURST, DEFAULT_BYTE_BURST, DEFAULT_BYTE_RATE,
    DEFAULT_CONNECT_RATE, DEFAULT_DATA_DIR, DEFAULT_DRAIN_TIMEOUT_SECS, DEFAULT_HISTORY_DAYS,
    DEFAULT_HISTORY_FLUSH_MS, DEFAULT_HISTORY_LINES, DEFAULT_IDLE_TIMEOUT_SECS,
    DEFAULT_IP_BYTE_RATE, DEFAULT_IP_RATE, DEFAULT_MAX_CLIENTS, DEFAULT_MAX_KEY, DEFAULT_MAX_LINE,
    DEFAULT_MAX_PER_IP, DEFAULT_MAX_ROOM_MEMBERS, DEFAULT_MAX_ROOMS, DEFAULT_MAX_ROOMS_PER_CLIENT,
    DEFAULT_MAX_TOPIC, DEFAULT_PRESENCE_LIMIT, DEFAULT_RATE, DEFAULT_REGISTER_TIMEOUT_SECS,
    DEFAULT_SEND_QUEUE, DEFAULT_TLS_PORT, DEFAULT_WRITE_TIMEOUT_SECS, MAX_CLUSTER_REPLICAS,
    cluster_urls, default_workers, parse_bytes,
};
