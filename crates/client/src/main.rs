//! `chat`: the terminal client. Parses the flags, then runs the full-screen client or, with
//! `--plain`, the line mode; exits 0 when the user quits, 1 on a setup error (or, in the
//! line mode, when it cannot log in to a registered nick or another client took it over).
#![allow(
    clippy::print_stderr,
    reason = "a binary reports fatal errors and the line mode's notes on stderr"
)]

use std::process::ExitCode;

use anyhow::Context;
use chatd_client::printable::for_output;
use chatd_client::{Args, line_mode, password, terminal};
use clap::Parser;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // The error can quote the server or the command line (an address, a nick).
            eprintln!("chat: {}", for_output(&format!("{error:#}")));
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    let nick = args.nick().map_err(anyhow::Error::msg)?;
    let given = args.password().map_err(anyhow::Error::msg)?;
    let net = args.net_config().map_err(anyhow::Error::msg)?;
    let addr = net.addr.clone();
    if args.plain {
        let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
        let login = line_mode::Login {
            password: given,
            ask: password::ask_on_terminal,
        };
        line_mode::run(
            net,
            nick,
            login,
            std::io::BufReader::new(std::io::stdin()),
            &mut stdout,
            &mut stderr,
        )
        .with_context(|| format!("--plain with {addr}"))
    } else {
        let settings = args.settings();
        terminal::run(net, nick, given, settings).context("the terminal client failed")
    }
}
