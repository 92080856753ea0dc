//! The file threads (issue 17): each [`FileJob`] runs on a thread of its own
//! (`chat-file-<id>`) and reports [`FileEvent`]s through the callback it was given (the
//! loop's event channel, or the line mode's).
//!
//! In scope: looking at the file `/send` names (`~` expanded), the HTTP `PUT` of its bytes,
//! streamed from disk (never the whole file in memory), and the HTTP `GET` of a download,
//! streamed into a temporary file in the folder it is saved in, then given its name without
//! ever replacing a file (`photo (1).png` when `photo.png` is there), or deleted if the
//! download fails. Progress is reported at most every [`PROGRESS_EVERY`] and once all bytes
//! are through. HTTP statuses and I/O errors are told in plain words. An `https://` URL
//! (a server with `--tls-cert`) is fetched over TLS trusting the same roots as the chat
//! connection (`trust`), and a refused certificate told as there. Out of scope: what to send or save and what to tell (`app`,
//! `line_mode`); names (`file_names`).
//!
//! Stopping: [`Transfers::stop`] drops the stop channel that every job looks at between two
//! blocks of bytes, so each ends at its next block (a download's temporary file deleted),
//! and waits up to [`STOP_DEADLINE`] for them; one stuck in a network call (at most
//! [`IDLE_TIMEOUT`]) is left to end with the process, as the terminal's input thread is.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use ureq::http::StatusCode;

use crate::event::{FileEvent, FileJob, LocalFile};
use crate::file_names::{expand_home, numbered};
use crate::trust::{self, Trust};

/// Progress is reported at most this often per job.
pub const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// How long [`Transfers::stop`] waits for the jobs to end.
pub const STOP_DEADLINE: Duration = Duration::from_secs(2);

/// A read or write on the server's socket that waits longer than this fails the job: a
/// server gone silent does not hold a transfer for ever.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long to wait for the server to take the connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Names tried for a download before giving up: `photo.png`, `photo (1).png`, ...
const NAMES_TRIED: u32 = 1000;

/// The most of an answer's body read as text (a refusal's reason, a download URL).
const ANSWER_TEXT_LIMIT: u64 = 4096;

/// Bytes moved per block: between two blocks a job looks whether it should stop.
const BLOCK: usize = 64 * 1024;

/// Where a job's events go; false when nobody listens any more.
type Report = Arc<dyn Fn(FileEvent) -> bool + Send + Sync>;

/// The file threads, and what they share.
pub struct Transfers {
    report: Report,
    agent: ureq::Agent,
    /// The roots `agent` trusts, to tell a refused certificate.
    trust: Trust,
    /// `$HOME`, for `~` in the paths the user types.
    home: Option<PathBuf>,
    /// Never sent on: dropping it tells every job to stop.
    stop: Option<Sender<()>>,
    stopping: Receiver<()>,
    /// Each job sends its id here as it ends (from a guard: also when it panics).
    ended: Receiver<u64>,
    ending: Sender<u64>,
    running: Vec<(u64, JoinHandle<()>)>,
}

impl Transfers {
    /// File threads that report through `report`; an `https://` URL is fetched trusting
    /// `trust` (`--ca`'s roots, or the system's).
    pub fn new(
        report: impl Fn(FileEvent) -> bool + Send + Sync + 'static,
        trust: &Trust,
    ) -> Transfers {
        let config = ureq::Agent::config_builder()
            .tls_config(trust.files_config())
            // Every status is an answer to tell in words, not an error of the transport.
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_per_read(Some(IDLE_TIMEOUT))
            .timeout_per_write(Some(IDLE_TIMEOUT))
            .build();
        let (stop, stopping) = crossbeam_channel::bounded(0);
        let (ending, ended) = crossbeam_channel::unbounded();
        Transfers {
            report: Arc::new(report),
            agent: config.new_agent(),
            trust: trust.clone(),
            home: std::env::var_os("HOME").map(PathBuf::from),
            stop: Some(stop),
            stopping,
            ended,
            ending,
            running: Vec::new(),
        }
    }

    /// Starts `job` on a thread of its own. A thread that cannot start is reported as the
    /// job's failure.
    pub fn start(&mut self, job: FileJob) {
        self.reap();
        let id = job_id(&job);
        let context = Job {
            id,
            report: Arc::clone(&self.report),
            agent: self.agent.clone(),
            trust: self.trust.clone(),
            home: self.home.clone(),
            stopping: self.stopping.clone(),
        };
        let ending = self.ending.clone();
        let failed = job.clone();
        let spawned = thread::Builder::new()
            .name(format!("chat-file-{id}"))
            .spawn(move || {
                let _ended = Ended { id, ending };
                context.run(job);
            });
        match spawned {
            Ok(handle) => self.running.push((id, handle)),
            Err(error) => {
                let why = format!("no thread for it: {error}");
                (self.report)(failure(&failed, why));
            }
        }
    }

    /// Joins the jobs that have ended.
    fn reap(&mut self) {
        while let Ok(id) = self.ended.try_recv() {
            self.join(id);
        }
    }

    fn join(&mut self, id: u64) {
        if let Some(at) = self.running.iter().position(|(of, _)| *of == id) {
            let (_, handle) = self.running.swap_remove(at);
            let _ = handle.join();
        }
    }

    /// Tells every job to stop and joins them, waiting at most [`STOP_DEADLINE`].
    pub fn stop(mut self) {
        drop(self.stop.take());
        let deadline = Instant::now() + STOP_DEADLINE;
        while !self.running.is_empty() {
            match self.ended.recv_deadline(deadline) {
                Ok(id) => self.join(id),
                Err(_) => return,
            }
        }
    }
}

/// Sends a job's id when its thread ends, however it ends.
struct Ended {
    id: u64,
    ending: Sender<u64>,
}

impl Drop for Ended {
    fn drop(&mut self) {
        let _ = self.ending.send(self.id);
    }
}

fn job_id(job: &FileJob) -> u64 {
    match job {
        FileJob::Open { id, .. } | FileJob::Upload { id, .. } | FileJob::Download { id, .. } => *id,
    }
}

/// The event that ends `job` with `why`.
fn failure(job: &FileJob, why: String) -> FileEvent {
    match *job {
        FileJob::Open { id, .. } => FileEvent::Opened {
            id,
            result: Err(why),
        },
        FileJob::Upload { id, .. } => FileEvent::Uploaded {
            id,
            result: Err(why),
        },
        FileJob::Download { id, .. } => FileEvent::Saved {
            id,
            result: Err(why),
        },
    }
}

/// What one job's thread has.
struct Job {
    id: u64,
    report: Report,
    agent: ureq::Agent,
    trust: Trust,
    home: Option<PathBuf>,
    stopping: Receiver<()>,
}

impl Job {
    fn run(&self, job: FileJob) {
        let id = self.id;
        let event = match job {
            FileJob::Open { path, .. } => FileEvent::Opened {
                id,
                result: look_at(&expand_home(&path, self.home.as_deref())),
            },
            FileJob::Upload {
                path, url, size, ..
            } => FileEvent::Uploaded {
                id,
                result: self.upload(&path, &url, size),
            },
            FileJob::Download {
                url,
                size,
                name,
                to,
                ..
            } => FileEvent::Saved {
                id,
                result: self.download(&url, size, name.as_deref(), to.as_deref()),
            },
        };
        (self.report)(event);
    }

    /// `PUT`s `size` bytes of the file at `path` to `url`; returns the download URL the
    /// server answered with (the first line of its answer), if any.
    fn upload(&self, path: &Path, url: &str, size: u64) -> Result<Option<String>, String> {
        let file = File::open(path).map_err(|e| format!("{}: {}", path.display(), words(&e)))?;
        let mut body = Counted::new(file.take(size), self, size);
        let sent = self
            .agent
            .put(url)
            .header("content-length", size.to_string())
            .send(ureq::SendBody::from_reader(&mut body));
        if body.stopped {
            return Err("stopped".to_owned());
        }
        let mut response = sent.map_err(|e| http_failure(&e, url, &self.trust))?;
        let status = response.status();
        let text = answer_text(&mut response);
        if !status.is_success() {
            return Err(status_words(status, &text));
        }
        if body.done < size {
            return Err(format!(
                "the file is shorter than when it was looked at ({} of {size} bytes)",
                body.done
            ));
        }
        let first = text.lines().next().unwrap_or("").trim();
        Ok((!first.is_empty()).then(|| first.to_owned()))
    }

    /// `GET`s `url` into the place `/save` chose; returns where the file was saved.
    fn download(
        &self,
        url: &str,
        size: u64,
        name: Option<&str>,
        to: Option<&str>,
    ) -> Result<PathBuf, String> {
        let (folder, file_name) = destination(to, name, self.home.as_deref())?;
        let mut temporary = tempfile::Builder::new()
            .prefix(".chat-")
            .suffix(".part")
            // A saved file is the user's like any other (the umask applies), not private to
            // the user as a temporary file is.
            .permissions(fs::Permissions::from_mode(0o666))
            .tempfile_in(&folder)
            .map_err(|e| format!("cannot write in {}: {}", folder.display(), words(&e)))?;
        let mut response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| http_failure(&e, url, &self.trust))?;
        let status = response.status();
        if !status.is_success() {
            return Err(status_words(status, &answer_text(&mut response)));
        }
        // One byte past the size announced is enough to know the server sent too much.
        let body = response.body_mut().as_reader().take(size.saturating_add(1));
        let mut source = Counted::new(body, self, size);
        let copied = io::copy(&mut source, temporary.as_file_mut());
        if source.stopped {
            return Err("stopped".to_owned());
        }
        copied.map_err(|e| format!("the download failed: {}", words(&e)))?;
        if source.done != size {
            return Err(format!(
                "the server sent {} bytes, not the {size} announced",
                source.done
            ));
        }
        temporary
            .as_file_mut()
            .flush()
            .and_then(|()| temporary.as_file().sync_all())
            .map_err(|e| format!("cannot write in {}: {}", folder.display(), words(&e)))?;
        for n in 0..NAMES_TRIED {
            let path = folder.join(numbered(&file_name, n));
            match temporary.persist_noclobber(&path) {
                Ok(_) => return Ok(path),
                Err(error) if error.error.kind() == io::ErrorKind::AlreadyExists => {
                    temporary = error.file;
                }
                Err(error) => {
                    return Err(format!(
                        "cannot save {}: {}",
                        path.display(),
                        words(&error.error)
                    ));
                }
            }
        }
        Err(format!(
            "{NAMES_TRIED} files named like {file_name} are in {} already",
            folder.display()
        ))
    }
}

/// The file `/send` names: a regular file that can be read, and its base name. A refusal
/// does not repeat the path, which the user reads just before it.
fn look_at(path: &Path) -> Result<LocalFile, String> {
    let metadata = fs::metadata(path).map_err(|e| words(&e))?;
    if metadata.is_dir() {
        return Err("it is a folder; /send sends one file".to_owned());
    }
    if !metadata.is_file() {
        return Err("it is not a regular file".to_owned());
    }
    File::open(path).map_err(|e| words(&e))?;
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| "its name is not UTF-8 text; rename it to send it".to_owned())?;
    Ok(LocalFile {
        path: path.to_path_buf(),
        name: name.to_owned(),
        size: metadata.len(),
    })
}

/// The folder and the file name a download goes to. `to` is what `/save` was given: an
/// existing folder (or one written with a final `/`) takes the file under `name`; anything
/// else is the file's own path, in a folder that must exist. Nothing given: the current
/// folder.
fn destination(
    to: Option<&str>,
    name: Option<&str>,
    home: Option<&Path>,
) -> Result<(PathBuf, String), String> {
    let in_folder = |folder: PathBuf| match name {
        Some(name) => Ok((folder, name.to_owned())),
        None => Err(format!(
            "the server's name for it is no file name here; give one: {}/NAME",
            folder.display()
        )),
    };
    let Some(typed) = to else {
        return in_folder(absolute(Path::new(".")));
    };
    let path = expand_home(typed, home);
    if path.is_dir() {
        return in_folder(absolute(&path));
    }
    if typed.ends_with('/') {
        return Err(format!("no folder {}", path.display()));
    }
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(format!("no folder {}", folder.display()));
    }
    let folder = absolute(&folder);
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| format!("{} names no file", path.display()))?;
    Ok((folder, file_name.to_owned()))
}

/// `path` from the root, so that where a file was saved is told whatever the current folder
/// (`./photo.png` says little); as it is if the current folder cannot be read.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// A reader that counts what passes, reports progress, and stops when told to.
struct Counted<'a, R> {
    inner: R,
    job: &'a Job,
    size: u64,
    done: u64,
    last_report: Option<Instant>,
    /// The job was told to stop: the next read failed for that.
    stopped: bool,
}

impl<'a, R: Read> Counted<'a, R> {
    fn new(inner: R, job: &'a Job, size: u64) -> Counted<'a, R> {
        Counted {
            inner,
            job,
            size,
            done: 0,
            last_report: None,
            stopped: false,
        }
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if matches!(
            self.job.stopping.try_recv(),
            Err(TryRecvError::Disconnected)
        ) {
            self.stopped = true;
            return Err(io::Error::other("stopped"));
        }
        let wanted = buf.len().min(BLOCK);
        let read = self.inner.read(&mut buf[..wanted])?;
        self.done += read as u64;
        let due = self
            .last_report
            .is_none_or(|last| last.elapsed() >= PROGRESS_EVERY);
        let all = self.done >= self.size && read > 0;
        if (due && read > 0) || all {
            self.last_report = Some(Instant::now());
            (self.job.report)(FileEvent::Progress {
                id: self.job.id,
                done: self.done,
            });
        }
        Ok(read)
    }
}

/// An I/O error as people say it.
fn words(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file or folder".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => error.to_string(),
    }
}

/// A failed HTTP exchange with `url` (no status: the connection, the address, a timeout, a
/// certificate refused).
fn http_failure(error: &ureq::Error, url: &str, trust: &Trust) -> String {
    let host = || {
        url.parse::<ureq::http::Uri>()
            .ok()
            .and_then(|uri| uri.host().map(str::to_owned))
            .unwrap_or_else(|| url.to_owned())
    };
    match error {
        ureq::Error::Timeout(_) => "the server stopped answering".to_owned(),
        ureq::Error::Rustls(refused) => trust.explain(&host(), refused),
        ureq::Error::Io(io) => match trust::tls_error(io) {
            Some(refused) => trust.explain(&host(), refused),
            None => format!("the connection to the server failed: {}", words(io)),
        },
        ureq::Error::ConnectionFailed => "cannot connect to the server's web port".to_owned(),
        other => other.to_string(),
    }
}

/// The start of an answer's body, as text (a refusal's reason, an upload's download URL).
fn answer_text(response: &mut ureq::http::Response<ureq::Body>) -> String {
    response
        .body_mut()
        .with_config()
        .limit(ANSWER_TEXT_LIMIT)
        .read_to_string()
        .unwrap_or_default()
}

/// An HTTP status that is no success, in words: the server's own (the first line of its
/// answer) if it gave some, else what the status means.
fn status_words(status: StatusCode, detail: &str) -> String {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("");
    let detail = detail.lines().next().unwrap_or("").trim();
    if !detail.is_empty() {
        return format!("{detail} (HTTP {code} {reason})");
    }
    let what = match code {
        404 | 410 => "the server has no such file (it may have expired)",
        413 => "the server refused it as too large",
        400..=499 => "the server refused it",
        _ => "the server failed",
    };
    format!("{what} (HTTP {code} {reason})")
}

#[cfg(test)]
mod tests;
