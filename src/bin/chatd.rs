//! `chatd`: read the command line and the `--config` file, set up logging, raise the open-file
//! limit and check `--max-clients` against it, run the server until SIGINT or SIGTERM (SIGHUP
//! reloads the TLS certificate and the file's live settings), then shut down gracefully and exit 0; or exit non-zero,
//! after the same shutdown, if a thread the server cannot run without dies.
//!
//! `chatd account ...` runs an operator's command on the accounts instead (`account`), and
//! `chatd tls self-signed ...` writes a certificate and its key (`tls`).
#![allow(
    clippy::print_stderr,
    reason = "a binary reports fatal errors on stderr"
)]

// Beside this file rather than in src/bin, where Cargo would take it for a binary of its own.
#[path = "chatd/account.rs"]
mod account;
#[path = "chatd/tls.rs"]
mod tls;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::{Context, anyhow};
use chatd::config::{Args, Command, Settings, TlsCommand};
use chatd::server::{OpenFiles, Server, ServerHandle};
use clap::Parser;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGXFSZ};
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
    match &args.command {
        Some(Command::Account(account)) => return account::run(account),
        Some(Command::Tls(TlsCommand::SelfSigned(wanted))) => return tls::self_signed(wanted),
        None => {}
    }
    // Every setting is read and checked here, before anything listens.
    let mut settings = args.settings()?;
    // The error names the log file itself.
    chatd::logging::init(settings.log_level, settings.log_file.as_deref())?;
    if let Some(file) = &args.config {
        log::info!("settings from {}", file.display());
    }
    let open_files = OpenFiles::raise().context("cannot read the open-file limit")?;
    open_files
        .check(settings.config.max_clients)
        .map_err(|error| anyhow!(error))?;
    // Registered before the server starts, so an early Ctrl-C still shuts down cleanly, and a
    // SIGHUP never kills the server.
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP]).context("cannot handle signals")?;
    // A write past the file-size limit (`ulimit -f`) would kill the process; handled, it
    // fails with EFBIG instead, and the history store carries on as on a full disk.
    signal_hook::flag::register(SIGXFSZ, Arc::new(AtomicBool::new(false)))
        .context("cannot handle SIGXFSZ")?;
    let addr = settings.config.addr;
    let server = Server::bind(settings.config.clone())
        .with_context(|| format!("cannot listen on {addr}"))?;
    let handle = server.start().context("cannot start the server")?;
    // A dead vital thread ends the wait as a signal would.
    let signals_handle = signals.handle();
    handle.on_failure(move || signals_handle.close());
    for signal in signals.forever() {
        if signal == SIGHUP {
            reload(&args, &mut settings, &open_files, &handle);
            continue;
        }
        log::info!("signal {signal} received");
        break;
    }
    let failure = handle.failure();
    handle.shutdown();
    match failure {
        Some(failure) => Err(failure.into()),
        None => Ok(()),
    }
}

/// SIGHUP: reads the TLS certificate and key again (a renewed certificate), and the
/// `--config` file, whose live settings it applies; a file with an error changes nothing.
fn reload(args: &Args, running: &mut Settings, open_files: &OpenFiles, handle: &ServerHandle) {
    if let Some((cert, _, _)) = running.config.tls_listener() {
        match handle.reload_tls() {
            Ok(()) => log::info!("SIGHUP: TLS certificate {} read again", cert.display()),
            Err(error) => log::error!("SIGHUP: TLS certificate not changed: {error}"),
        }
    }
    let Some(file) = &args.config else {
        if running.config.tls_listener().is_none() {
            log::warn!("SIGHUP: no --config file, nothing to reload");
        }
        return;
    };
    let file = file.display();
    let applied = args.settings().map_err(|e| e.to_string()).and_then(|next| {
        open_files.check(next.config.max_clients)?;
        handle.apply(&next.config)?;
        Ok(next)
    });
    match applied {
        Err(error) => {
            log::error!("SIGHUP: {file} not applied, the settings stay as they were: {error}");
        }
        Ok(next) => {
            log::set_max_level(next.log_level);
            let changes = running.changes_to(&next);
            running.take_live(&next);
            if changes.need_restart.is_empty() {
                log::info!("SIGHUP: {file} reloaded: {changes}");
            } else {
                log::warn!("SIGHUP: {file} reloaded: {changes}");
            }
        }
    }
}
