//! The data folder's lock (issue 16, point 8): `chatd.lock` in `--data-dir`, held with an
//! exclusive advisory lock (`flock`) by the process that uses the folder, the server for as
//! long as it runs or an account command for as long as it works.
//!
//! In scope: taking the lock without waiting, telling "another process holds it" (with that
//! process's id, written into the file) from "the file cannot be made or locked", and the
//! server's rule about which of the two stops it ([`DataLock::for_server`]). Out of scope:
//! what is in the folder (the history store, the account book) and what a caller says about
//! a held lock beyond naming the folder.
//!
//! Why `flock` and not a file that exists while a server runs: the kernel releases the lock
//! when its holder ends, however it ends (`kill -9`, a crash, a power cut), so there is
//! never a stale lock to remove by hand, and the file itself stays in the folder, harmless.
//! Locks of two opens of the file are apart even in one process, so two servers in one test
//! process meet the same rule as two processes.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use crate::config::Config;

/// The lock file's name in the data folder.
pub const LOCK_FILE: &str = "chatd.lock";

/// The data folder's lock, held until this is dropped (the file is then closed, which
/// releases it).
#[derive(Debug)]
pub struct DataLock {
    /// Kept open: closing it is what releases the lock.
    _file: File,
}

/// Why the lock was not taken.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds it: `pid` is the id it wrote into the file, when it could be
    /// read.
    Held { dir: PathBuf, pid: Option<u32> },
    /// The file could not be opened or locked (a folder that does not exist or cannot be
    /// written, a file system without locks).
    Io { path: PathBuf, error: io::Error },
}

impl DataLock {
    /// Locks the folder `dir`, which must exist, creating `chatd.lock` there if needed,
    /// without waiting, and writes this process's id into the file for whoever finds it
    /// held.
    pub fn take(dir: &Path) -> Result<DataLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let failed = |error| LockError::Io {
            path: path.clone(),
            error,
        };
        let (mut file, writable) = open(&path).map_err(failed)?;
        if !try_lock(&file).map_err(failed)? {
            return Err(LockError::Held {
                dir: dir.to_owned(),
                pid: read_pid(&mut file),
            });
        }
        if writable {
            // Only informative (the lock is the kernel's, not the file's content): a failed
            // write leaves an older id, which a refusal then names, no worse than none.
            let _ = write_pid(&mut file);
        }
        Ok(DataLock { _file: file })
    }

    /// The server's lock on `config.data_dir` (created if missing), `None` with
    /// `--ephemeral`. Only a lock held by another process stops the server (the error says
    /// so): a folder that cannot be made or locked is logged, and the server runs on as the
    /// history store and the account book then do, with what they keep in memory.
    pub fn for_server(config: &Config) -> io::Result<Option<DataLock>> {
        if config.ephemeral {
            return Ok(None);
        }
        let dir = &config.data_dir;
        let taken = fs::create_dir_all(dir)
            .map_err(|error| LockError::Io {
                path: dir.clone(),
                error,
            })
            .and_then(|()| DataLock::take(dir));
        match taken {
            Ok(lock) => Ok(Some(lock)),
            Err(held @ LockError::Held { .. }) => Err(io::Error::new(
                io::ErrorKind::ResourceBusy,
                format!("{held}: stop it first, or give this one another --data-dir"),
            )),
            Err(error @ LockError::Io { .. }) => {
                log::warn!(
                    "{error}; running without it: a second chatd on this folder would not be noticed"
                );
                Ok(None)
            }
        }
    }
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Held { dir, pid } => {
                write!(
                    f,
                    "the data folder {} is in use by another chatd",
                    dir.display()
                )?;
                match pid {
                    Some(pid) => write!(f, " (process {pid})"),
                    None => Ok(()),
                }
            }
            LockError::Io { path, error } => write!(f, "cannot lock {}: {error}", path.display()),
        }
    }
}

impl std::error::Error for LockError {}

/// The lock file, and whether it could be opened for writing: a folder that is read-only
/// still has a lock to take when the file is there already (a lock needs no write access).
fn open(path: &Path) -> io::Result<(File, bool)> {
    let writing = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path);
    match writing {
        Ok(file) => Ok((file, true)),
        Err(error) => File::open(path)
            .map(|file| (file, false))
            .map_err(|_| error),
    }
}

/// `flock(LOCK_EX | LOCK_NB)`: `false` when another open of the file holds it. std's
/// `File::try_lock` does the same but needs Rust 1.89, newer than the workspace's
/// `rust-version`; `libc` is a dependency already, so no crate is added for one call.
#[allow(unsafe_code)]
fn try_lock(file: &File) -> io::Result<bool> {
    loop {
        // SAFETY: flock(2) on a descriptor that `file`, borrowed for the call, keeps open;
        // no memory is passed.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => return Ok(false),
            io::ErrorKind::Interrupted => continue,
            _ => return Err(error),
        }
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

fn write_pid(file: &mut File) -> io::Result<()> {
    file.set_len(0)?;
    file.seek(SeekFrom::Start(0))?;
    writeln!(file, "{}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_the_holders_id_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataLock::take(dir.path()).unwrap();
        match DataLock::take(dir.path()) {
            Err(LockError::Held { dir: held, pid }) => {
                assert_eq!(held, dir.path());
                assert_eq!(pid, Some(std::process::id()));
            }
            other => panic!("expected the lock held, got {other:?}"),
        }
        drop(first);
        let again = DataLock::take(dir.path()).unwrap();
        drop(again);
        // The file stays: the kernel's lock, not the file, says who uses the folder.
        assert!(dir.path().join(LOCK_FILE).exists());
    }

    #[test]
    fn the_refusal_names_the_folder_and_the_process() {
        let held = LockError::Held {
            dir: PathBuf::from("/srv/chatd"),
            pid: Some(42),
        };
        assert_eq!(
            held.to_string(),
            "the data folder /srv/chatd is in use by another chatd (process 42)"
        );
        let unknown = LockError::Held {
            dir: PathBuf::from("/srv/chatd"),
            pid: None,
        };
        assert_eq!(
            unknown.to_string(),
            "the data folder /srv/chatd is in use by another chatd"
        );
    }

    #[test]
    fn a_missing_folder_is_an_error_of_its_own_and_take_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        match DataLock::take(&missing) {
            Err(LockError::Io { path, .. }) => assert_eq!(path, missing.join(LOCK_FILE)),
            other => panic!("expected an I/O error, got {other:?}"),
        }
        assert!(!missing.exists());
    }

    #[test]
    fn the_server_takes_no_lock_when_ephemeral_and_runs_on_when_the_folder_cannot_be_made() {
        let dir = tempfile::tempdir().unwrap();
        let ephemeral = Config {
            data_dir: dir.path().join("data"),
            ephemeral: true,
            ..Config::default()
        };
        assert!(DataLock::for_server(&ephemeral).unwrap().is_none());
        assert!(!dir.path().join("data").exists());
        // A file where the folder should be.
        let blocked = dir.path().join("not-a-folder");
        fs::write(&blocked, "a file").unwrap();
        let config = Config {
            data_dir: blocked,
            ephemeral: false,
            ..Config::default()
        };
        assert!(DataLock::for_server(&config).unwrap().is_none());
    }

    #[test]
    fn the_server_makes_its_folder_and_a_second_server_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().join("data"),
            ephemeral: false,
            ..Config::default()
        };
        let first = DataLock::for_server(&config).unwrap();
        assert!(first.is_some());
        let refused = DataLock::for_server(&config).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::ResourceBusy);
        let text = refused.to_string();
        assert!(
            text.starts_with(&format!(
                "the data folder {} is in use by another chatd (process {})",
                config.data_dir.display(),
                std::process::id()
            )),
            "{text}"
        );
        assert!(text.ends_with("give this one another --data-dir"), "{text}");
    }
}
