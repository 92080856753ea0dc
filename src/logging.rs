//! Log set-up: the terminal always, a file when asked; a quiet logger for tests; and
//! [`Escaped`], how client text is written into a log line.
//!
//! Out of scope: what is logged at which level (the table in the crate's docs) and deciding
//! what a client may send (`chatd_proto::text`).

use std::fmt::{self, Write as _};
use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::OnceLock;

use chatd_proto::text;

use log::LevelFilter;
use simplelog::{
    ColorChoice, CombinedLogger, ConfigBuilder, SharedLogger, TermLogger, TerminalMode, WriteLogger,
};

/// Logs to stderr at `level`, and also appends to `file` if given. An error names the file
/// when it is the file that cannot be opened. The level can change later with
/// `log::set_max_level` (a reload): the loggers themselves pass every level.
pub fn init(level: LevelFilter, file: Option<&Path>) -> io::Result<()> {
    let config = ConfigBuilder::new()
        .set_thread_level(LevelFilter::Off)
        .set_target_level(LevelFilter::Off)
        .build();
    let mut loggers: Vec<Box<dyn SharedLogger>> = vec![TermLogger::new(
        LevelFilter::Trace,
        config.clone(),
        TerminalMode::Stderr,
        // Colour only on a terminal: redirected logs stay plain text.
        if io::stderr().is_terminal() {
            ColorChoice::Auto
        } else {
            ColorChoice::Never
        },
    )];
    if let Some(path) = file {
        loggers.push(WriteLogger::new(
            LevelFilter::Trace,
            config,
            open_log_file(path)?,
        ));
    }
    CombinedLogger::init(loggers).map_err(|_| io::Error::other("a logger is already set"))?;
    // After `init`, which sets the most verbose of its loggers' levels.
    log::set_max_level(level);
    Ok(())
}

/// `path` opened for appending, created if missing; the error names it, since the operator
/// may have given it in the configuration file rather than on the command line (issue 12).
fn open_log_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|error| {
            io::Error::new(
                error.kind(),
                format!("cannot open the log file {}: {error}", path.display()),
            )
        })
}

/// Client text as a log line shows it: what the text rule refuses (a CR that would start a
/// forged log line, an ESC that would drive the operator's terminal, a bidirectional override),
/// and TAB, are written as Rust escapes (`\r`, `\u{1b}`, `\t`), and a backslash as `\\` so
/// that an escape in the log always stands for the character, never for text the client
/// typed. Anything else, UTF-8 beyond ASCII included, is written as it is.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c == '\t' || c == '\\' || text::is_refused(c) {
                // Spelled `\t`, `\\`, `\r`, `\u{1b}`, `\u{2028}`.
                write!(f, "{}", c.escape_default())?;
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

/// Captured test logging, once per test binary; `RUST_LOG`-style level from `CHATD_TEST_LOG`
/// (default `warn`).
pub fn init_test_log() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let level = std::env::var("CHATD_TEST_LOG")
            .ok()
            .and_then(|l| l.parse().ok())
            .unwrap_or(LevelFilter::Warn);
        // Another logger may already be set by the test binary; then that one is used.
        let _ = simplelog::TestLogger::init(level, simplelog::Config::default());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_client_text_cannot_forge_a_log_line_or_drive_a_terminal() {
        let forged = "bye\r\n2026-01-01 [WARN] server compromised\u{1b}]0;x\u{7}\u{2028}\u{202e}";
        let logged = Escaped(forged).to_string();
        assert_eq!(
            logged,
            "bye\\r\\n2026-01-01 [WARN] server compromised\\u{1b}]0;x\\u{7}\\u{2028}\\u{202e}"
        );
        assert!(
            !logged
                .chars()
                .any(|c| c.is_control() || text::is_refused(c))
        );
        assert_eq!(Escaped("a\tb\\u{1b} été").to_string(), "a\\tb\\\\u{1b} été");
    }

    #[test]
    fn issue_12_a_log_file_that_cannot_be_opened_is_named() {
        let missing_dir = Path::new("/nonexistent/chatd/chatd.log");
        let error = open_log_file(missing_dir).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        assert!(
            error
                .to_string()
                .starts_with("cannot open the log file /nonexistent/chatd/chatd.log: "),
            "{error}"
        );
        let a_directory = std::env::temp_dir();
        let error = open_log_file(&a_directory).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "cannot open the log file {}: ",
                a_directory.display()
            )),
            "{error}"
        );
    }
}
