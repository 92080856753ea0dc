//! Log set-up: the terminal always, a file when asked; and a quiet logger for tests.

use std::fs::OpenOptions;
use std::io::{self, IsTerminal};
use std::path::Path;
use std::sync::OnceLock;

use log::LevelFilter;
use simplelog::{
    ColorChoice, CombinedLogger, ConfigBuilder, SharedLogger, TermLogger, TerminalMode, WriteLogger,
};

/// Logs to stderr at `level`, and also appends to `file` if given.
pub fn init(level: LevelFilter, file: Option<&Path>) -> io::Result<()> {
    let config = ConfigBuilder::new()
        .set_thread_level(LevelFilter::Off)
        .set_target_level(LevelFilter::Off)
        .build();
    let mut loggers: Vec<Box<dyn SharedLogger>> = vec![TermLogger::new(
        level,
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
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        loggers.push(WriteLogger::new(level, config, file));
    }
    CombinedLogger::init(loggers).map_err(io::Error::other)
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
