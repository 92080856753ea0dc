//! `chatd`: read the command line and the `--config` file, set up logging, run the server
//! until SIGINT or SIGTERM, then shut down gracefully and exit 0.
#![allow(
    clippy::print_stderr,
    reason = "a binary reports fatal errors on stderr"
)]

use std::process::ExitCode;

use anyhow::Context;
use chatd::config::Args;
use chatd::server::Server;
use clap::Parser;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("chatd: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    // Every setting is read and checked here, before anything listens.
    let settings = args.settings()?;
    // The error names the log file itself.
    chatd::logging::init(settings.log_level, settings.log_file.as_deref())?;
    if let Some(file) = &args.config {
        log::info!("settings from {}", file.display());
    }
    let config = settings.config;
    // Registered before the server starts, so an early Ctrl-C still shuts down cleanly.
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("cannot handle signals")?;
    let addr = config.addr;
    let server = Server::bind(config).with_context(|| format!("cannot listen on {addr}"))?;
    let handle = server.start().context("cannot start the server")?;
    if let Some(signal) = signals.forever().next() {
        log::info!("signal {signal} received");
    }
    handle.shutdown();
    Ok(())
}
