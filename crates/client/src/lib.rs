//! The terminal client `chat`: an irssi-like screen, or a line mode for scripts.
//!
//! It speaks to a server only over TCP (or TLS over TCP), through `chatd-proto`'s `Command` and `Reply`, and must
//! never depend on the server crate (its network tests start one through `chatd-testkit`) nor
//! on the benchmark.
//!
//! Modules, in reading order:
//! - [`event`]: the one event type the loop handles.
//! - [`printable`]: how text the client did not write itself is drawn and printed, control
//!   characters made harmless (issue 13). Pure.
//! - [`password`]: the account password as the client holds it (never shown), from
//!   `--password-file` or `CHAT_PASSWORD`, or asked for on the terminal (`--plain`).
//! - [`commands`]: `/commands` typed by the user. Pure.
//! - [`file_names`]: the names and sizes of the files `/send` and `/save` move: a name from
//!   the server made safe, `photo (1).png`, `~`. Pure.
//! - [`input`]: the input line: editing, history, completion. Pure.
//! - [`app`]: the state and `update(state, event)`, which decides everything. Pure. Its
//!   parts: `tab` (one tab's scrollback), `caps` (the protocol extensions turned on) and
//!   `state` (`App`), the state; `update`, the entry point, which routes to `keys` (keys and
//!   the wheel), `submit` (Enter: text and `/commands`), `help`, `replies` (server lines),
//!   `extensions` (`/me`, `/away`, a room's owner, `/topic` as a question), `history`
//!   (resume after a reconnect, a room's recent lines on joining and a direct tab's on
//!   opening while logged in, older lines on PgUp), `nick` (registration, our nick),
//!   `account` (the password kept, the account commands asked, whether we hold the account),
//!   `login` (logging in, the masked prompt, the account commands), `uploads` (`/send`
//!   from the file looked at to `OK FILE`), `offers` (the files numbered for `/save`) and
//!   `files` (the two commands, the `FILE` lines, the file threads' events). `nick`,
//!   `caps`, `account`, `history` (a refused `HISTORY`) and `uploads` (a refused `UPLOAD`)
//!   are the places `ERR` codes are read.
//! - [`ui`]: `render(state, frame)`. Pure. Its parts: `scrollback` (wrapping, the pane) and
//!   `style` (styles, nick colours).
//! - [`address`]: `--addr`, its default port and its host part. Pure.
//! - [`trust`]: the certificate authorities trusted (`--ca`, or the system's) and a refused
//!   certificate in words.
//! - [`net`]: the socket: connect with back-off (TLS with `--tls`), reader and writer threads.
//! - [`transfer`]: the file threads: a file looked at, uploaded (HTTP `PUT`) or downloaded
//!   (HTTP `GET`, or HTTPS with the roots of `trust`), streamed from and to disk.
//! - [`terminal`]: the full-screen loop: terminal set-up and restore, key and tick thread.
//! - [`line_mode`]: `--plain`: stdin lines in, server lines out.

pub mod address;
pub mod app;
pub mod commands;
pub mod event;
pub mod file_names;
pub mod input;
pub mod line_mode;
pub mod net;
pub mod password;
pub mod printable;
pub mod terminal;
pub mod transfer;
pub mod trust;
pub mod ui;

use clap::Parser;

use std::path::PathBuf;

use app::{DEFAULT_MAX_LINE, DEFAULT_PASTE_CONFIRM, Settings};
use chatd_proto::Nick;
use net::NetConfig;
use password::Secret;
use trust::Trust;

/// The command line of `chat`.
#[derive(Debug, Parser)]
#[command(name = "chat", version, about = "A terminal client for chatd")]
pub struct Args {
    /// Server address: host:port, or a host alone for the default port (7878; 6697 with
    /// --tls). Several separated by commas (the nodes of a cluster): each connection tries
    /// them in turn, so a node that is down is passed over. [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR")]
    pub addr: Option<String>,
    /// Connect over TLS (the server's --tls-cert; its port is 6697 by default), checking
    /// the server's certificate for the host of --addr (a name, or an IP address) against
    /// the system's trusted roots, or --ca's.
    #[arg(long)]
    pub tls: bool,
    /// Trust only the CA certificate(s) of this PEM file, instead of the system's roots: a
    /// private CA, or the cert.pem that `chatd tls self-signed` wrote. Also used for the
    /// files' https:// links.
    #[arg(long, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Nick to use; defaults to $USER. When it is taken, a suffixed one is used
    /// (alice_, alice_2, ...) until it is free again. When it is registered (an account),
    /// the client logs in to it: with --password-file, or $CHAT_PASSWORD, or else it asks
    /// for the password, hidden.
    #[arg(long)]
    pub nick: Option<String>,
    /// A file whose first line is the password of --nick's account, for scripts (safer
    /// than $CHAT_PASSWORD, which other processes of the user may read). The password is
    /// kept in memory to log in again after each reconnect, and never shown or written.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Line mode for scripts and dumb terminals: input lines are sent, server lines printed.
    #[arg(long)]
    pub plain: bool,
    /// Ask before sending a paste of more than this many lines (Enter sends, Esc cancels);
    /// 0: never ask. Needs a terminal that brackets pastes (most do).
    #[arg(long, value_name = "LINES", default_value_t = DEFAULT_PASTE_CONFIRM)]
    pub paste_confirm: usize,
    /// The server's --max-line (bytes per line, newline included): the full-screen client
    /// does not send a longer message, and says why.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE)]
    pub max_line: usize,
}

impl Args {
    /// The nick to use: `--nick`, or `$USER`, checked by the protocol's rules.
    pub fn nick(&self) -> Result<Nick, String> {
        let (text, source) = match &self.nick {
            Some(nick) => (nick.clone(), "--nick"),
            None => (std::env::var("USER").unwrap_or_default(), "$USER"),
        };
        if text.is_empty() {
            return Err("no nick: give --nick NAME".to_owned());
        }
        Nick::parse(&text).map_err(|e| format!("{source} {text:?} is not a valid nick: {e}"))
    }

    /// The password for --nick's account, if one is given: `--password-file` (its first
    /// line), else `$CHAT_PASSWORD`; `None` means ask when the server wants one.
    pub fn password(&self) -> Result<Option<Secret>, String> {
        match &self.password_file {
            Some(path) => password::from_file(path).map(Some),
            None => Ok(password::from_env()),
        }
    }

    /// The server's address, its port added if it had none.
    pub fn addr(&self) -> String {
        let port = if self.tls {
            address::TLS_PORT
        } else {
            address::PLAIN_PORT
        };
        address::list_with_default_port(self.addr.as_deref().unwrap_or("127.0.0.1"), port)
    }

    /// How to reach the server: `--addr`, `--tls`, and the roots trusted (`--ca`, else the
    /// system's), which the files' HTTPS uses too.
    pub fn net_config(&self) -> Result<NetConfig, String> {
        let trust = match &self.ca {
            Some(path) => Trust::ca_file(path)?,
            None => Trust::system(),
        };
        let addr = self.addr();
        if address::each(&addr).next().is_none() {
            return Err("--addr names no server".to_owned());
        }
        if self.tls {
            // A bad host part is told now rather than on every attempt.
            for addr in address::each(&addr) {
                trust::server_name(addr)?;
            }
        }
        Ok(NetConfig {
            tls: self.tls,
            trust,
            ..NetConfig::new(addr)
        })
    }

    /// The flags that change what the full-screen client does.
    pub fn settings(&self) -> Settings {
        Settings {
            paste_confirm: self.paste_confirm,
            max_line: self.max_line,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_readme_documents_every_flag_key_and_command() {
        let readme = include_str!("../../../README.md");
        for arg in Args::command().get_arguments() {
            if let Some(long) = arg.get_long() {
                assert!(readme.contains(&format!("`--{long}")), "--{long}");
            }
        }
        for (key, _) in app::KEYS {
            assert!(readme.contains(&format!("| {key} |")), "{key}");
        }
        for command in commands::COMMANDS {
            // A `|` in a table cell is escaped, even inside code.
            let cell = command.synopsis.replace('|', "\\|");
            let row = readme
                .lines()
                .find(|line| line.starts_with(&format!("| `{cell}` |")))
                .unwrap_or_else(|| panic!("no row for {}", command.synopsis));
            for alias in command.aliases {
                assert!(row.contains(&format!("`{alias}`")), "{alias} in {row}");
            }
        }
    }

    #[test]
    fn issue_12_the_paste_threshold_and_line_limit_are_flags() {
        let args = Args::try_parse_from(["chat"]).unwrap();
        assert_eq!(args.settings(), Settings::default());
        assert_eq!(Settings::default().paste_confirm, 5);
        assert_eq!(Settings::default().max_line, 4096);
        let args =
            Args::try_parse_from(["chat", "--paste-confirm", "0", "--max-line", "512"]).unwrap();
        assert_eq!(
            args.settings(),
            Settings {
                paste_confirm: 0,
                max_line: 512
            }
        );
        let help = Args::command().render_long_help().to_string();
        assert!(help.contains("--paste-confirm <LINES>"), "{help}");
        assert!(help.contains("0: never ask"), "{help}");
    }

    #[test]
    fn issue_16_the_password_comes_from_a_file_or_chat_password_and_help_says_so() {
        let help = Args::command().render_long_help().to_string();
        assert!(help.contains("--password-file <FILE>"), "{help}");
        assert!(help.contains("$CHAT_PASSWORD"), "{help}");
        let folder = tempfile::tempdir().unwrap();
        let file = folder.path().join("pw");
        std::fs::write(&file, "from-the-file\n").unwrap();
        let args =
            Args::try_parse_from(["chat", "--password-file", file.to_str().unwrap()]).unwrap();
        assert_eq!(args.password().unwrap().unwrap().expose(), "from-the-file");
        let missing = folder.path().join("missing");
        let args =
            Args::try_parse_from(["chat", "--password-file", missing.to_str().unwrap()]).unwrap();
        assert!(args.password().unwrap_err().contains("--password-file"));
    }
}
