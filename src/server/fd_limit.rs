//! The process's limit on open files, against `--max-clients`: raised at start to the most
//! the system allows, and checked, so that the server refuses to start (or to reload) with
//! more clients than it could give a descriptor.
//!
//! In scope: `getrlimit`/`setrlimit` on `RLIMIT_NOFILE`, the descriptors kept for the server
//! itself ([`RESERVED_FDS`]), and the message that says how to fix a limit that is too low.
//! Out of scope: when to call them (the `chatd` binary, at start and on each reload). An
//! in-process server (tests, the benchmark) is left alone: it shares its process's limit.
//!
//! Why: each connection holds one descriptor, and a process usually starts with a soft limit
//! of 1,024. Unraised, the default `--max-clients 10000` met `EMFILE` near 1,000 clients, and
//! the acceptor could only back off while connections waited in the backlog (issue 13).

use std::io;

/// Descriptors kept for the server besides one per connection: the standard streams, the
/// listener, the `epoll` sets and the poller's wake-up, the signal pipe, a log file, the
/// configuration file while it is read again, a refused connection between its accept and its
/// close, and room for what later versions add (a database, a second listener).
pub const RESERVED_FDS: u64 = 64;

/// The open-file limits of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    /// The limit in force (the soft limit).
    pub soft: u64,
    /// The most the soft limit may be raised to without privilege.
    pub hard: u64,
    /// The soft limit before [`OpenFiles::raise`] raised it, if it did.
    pub raised_from: Option<u64>,
}

impl OpenFiles {
    /// Raises the soft limit to the hard limit, and returns the limits in force. A refusal to
    /// raise it (a sandbox that forbids `setrlimit`) is logged and the soft limit kept.
    pub fn raise() -> io::Result<OpenFiles> {
        let (soft, hard) = get()?;
        if soft >= hard {
            return Ok(OpenFiles {
                soft,
                hard,
                raised_from: None,
            });
        }
        match set(hard, hard) {
            Ok(()) => {
                log::info!("open-file limit raised from {soft} to {hard}");
                Ok(OpenFiles {
                    soft: hard,
                    hard,
                    raised_from: Some(soft),
                })
            }
            Err(error) => {
                log::warn!("cannot raise the open-file limit from {soft} to {hard}: {error}");
                Ok(OpenFiles {
                    soft,
                    hard,
                    raised_from: None,
                })
            }
        }
    }

    /// Whether `max_clients` connections fit in the limit, with [`RESERVED_FDS`] for the
    /// server; if not, the error names both numbers and the ways out.
    pub fn check(&self, max_clients: usize) -> Result<(), String> {
        let needed = (max_clients as u64).saturating_add(RESERVED_FDS);
        if needed <= self.soft {
            return Ok(());
        }
        let fits = self.soft.saturating_sub(RESERVED_FDS);
        let lower = if fits > 0 {
            format!(", or lower --max-clients (max_clients in the configuration file) to {fits}")
        } else {
            String::new()
        };
        Err(format!(
            "--max-clients {max_clients} needs {needed} open files (one per connection and \
             {RESERVED_FDS} for the server), but the open-file limit is {} (hard limit {}): \
             raise it (`ulimit -n {needed}` in the shell that starts chatd, \
             `LimitNOFILE={needed}` in its systemd unit){lower}",
            self.soft, self.hard
        ))
    }
}

#[allow(unsafe_code)]
fn get() -> io::Result<(u64, u64)> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, writable `rlimit` for the duration of the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((limit.rlim_cur, limit.rlim_max))
}

#[allow(unsafe_code)]
fn set(soft: u64, hard: u64) -> io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: `limit` is a valid `rlimit`, only read by the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_13_too_many_clients_for_the_limit_names_both_numbers_and_the_fixes() {
        let files = OpenFiles {
            soft: 1024,
            hard: 4096,
            raised_from: None,
        };
        assert_eq!(files.check(960), Ok(()));
        assert_eq!(
            files.check(10_000).unwrap_err(),
            "--max-clients 10000 needs 10064 open files (one per connection and 64 for the \
             server), but the open-file limit is 1024 (hard limit 4096): raise it \
             (`ulimit -n 10064` in the shell that starts chatd, `LimitNOFILE=10064` in its \
             systemd unit), or lower --max-clients (max_clients in the configuration file) \
             to 960"
        );
        let tiny = OpenFiles { soft: 20, ..files };
        assert!(tiny.check(1).unwrap_err().ends_with("systemd unit)"));
    }

    #[test]
    fn the_limit_in_force_is_the_soft_one_and_never_above_the_hard_one() {
        let (soft, hard) = get().unwrap();
        assert!(soft <= hard);
    }
}
