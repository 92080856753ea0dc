//! `chatd account list|delete|reset-password` (issue 16, point 8): an operator's commands on
//! the accounts of a data folder while the server is stopped, or of a cluster while its nodes
//! run (`--cluster`).
//!
//! In scope: finding the folder (`--data-dir`, else the `--config` file, as the server
//! does) or the cluster (`--cluster`, or the `--config` file of a node), reading a new password (twice from the terminal without echo, or the first line
//! of `--password-file`), and printing what was done on stdout. Out of scope: the lock,
//! the database, the password rule and the hashing (`chatd::server::AccountAdmin`, the
//! server's own code). A password is never printed, logged or named in an error.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use anyhow::{Context, bail};
use chatd::config::{AccountAction, AccountArgs, AccountsAt};
use chatd::server::AccountAdmin;

pub fn run(args: &AccountArgs) -> anyhow::Result<()> {
    // A write the database refuses is logged by the account book: the operator sees why.
    chatd::logging::init(log::LevelFilter::Warn, None)?;
    let (admin, source) = match args.accounts_at()? {
        AccountsAt::Cluster(servers) => {
            let admin = chatd::server::cluster_account_admin(&servers)?;
            (admin, format!("the cluster at {}", servers.join(",")))
        }
        AccountsAt::Folder(data_dir) => (
            AccountAdmin::open(&data_dir)?,
            data_dir.display().to_string(),
        ),
    };
    let mut out = io::stdout().lock();
    match &args.action {
        AccountAction::List => {
            let accounts = admin.list();
            if accounts.is_empty() {
                eprintln!("chatd: no accounts in {source}");
            }
            for account in accounts {
                writeln!(out, "{} {}", account.nick, account.created)?;
            }
        }
        AccountAction::Delete { nick } => {
            let nick = admin.delete(nick)?;
            writeln!(out, "account {nick} deleted")?;
        }
        AccountAction::ResetPassword {
            nick,
            password_file,
        } => {
            // Before asking: no one types a password for an account that is not there.
            let nick = admin.account(nick)?;
            let password = match password_file {
                Some(file) => first_line(file)?,
                None => ask_twice(nick.as_str())?,
            };
            let nick = admin.reset_password(nick.as_str(), password)?;
            writeln!(out, "account {nick}: password reset")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// The first line of `file`, without its line ending.
fn first_line(file: &Path) -> anyhow::Result<String> {
    let mut text = fs::read_to_string(file)
        .with_context(|| format!("cannot read the password file {}", file.display()))?;
    // In place, not a copy: the one string is zeroed once it is hashed.
    text.truncate(text.find('\n').unwrap_or(text.len()));
    if text.ends_with('\r') {
        text.pop();
    }
    Ok(text)
}

/// A new password typed twice on the terminal, echo off (`/dev/tty`, so it works with
/// stdin and stdout redirected).
fn ask_twice(nick: &str) -> anyhow::Result<String> {
    let ask = |prompt: &str| {
        rpassword::prompt_password(prompt).context(
            "cannot read a password from the terminal (--password-file reads it from a file)",
        )
    };
    let first = ask(&format!("New password for {nick}: "))?;
    let again = ask("The same again: ")?;
    if first != again {
        bail!("the two passwords differ; nothing changed");
    }
    Ok(first)
}
