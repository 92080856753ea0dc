//! The files sent with `UPLOAD` (issue 17): the uploads waiting for their bytes, the files
//! kept for download, the quota, and the URLs of both.
//!
//! In reading order:
//! - this file: [`Files`], what a command, an HTTP request or the sweep asks of them;
//! - `disk`: the folder, the description kept beside each file, the clean-up at start;
//! - `token`: [`Token`], the 128 random bits that name an upload or a file.
//!
//! An `UPLOAD` reserves its announced size against `--file-quota` and gets an upload URL,
//! valid once, for [`UPLOAD_WINDOW`] (or the file lifetime, if shorter). Its `PUT` takes the
//! upload out of the waiting ones ([`Files::start`]) as an [`Upload`], which holds the
//! reservation until the file is kept ([`Files::keep`]) or the upload fails (dropping it
//! gives the reservation back). A kept file counts against the quota until it expires or is
//! discarded, and is served under a token of its own, so knowing an upload URL tells nothing
//! of the file's.
//!
//! Out of scope: HTTP (`web::files`), who may send to whom and the `FILE` lines
//! (`registry::file_lines`). The state here is behind one short lock that no I/O happens
//! under; the disk is touched only by the methods that say so, which block and are called
//! from the web runtime's blocking threads and at start, never by a worker of the core.

mod disk;
mod token;

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chatd_proto::{Nick, ProtocolError, Room, Target};
use parking_lot::Mutex;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::config::Config;
use crate::server::conn_id::ConnId;
pub use disk::remove_file;
use disk::{Folder, Meta};
pub use token::Token;

/// How long an upload URL waits for its `PUT`: long enough to pick a file and start, short
/// enough that an abandoned `UPLOAD` does not hold its share of the quota for long.
pub const UPLOAD_WINDOW: Duration = Duration::from_secs(10 * 60);

/// Uploads one client may have waiting for their bytes at once: a few files dropped
/// together, but not the whole quota reserved by announcements alone.
pub const MAX_WAITING_PER_CLIENT: usize = 4;

/// The path of upload URLs, before the token.
pub const UPLOAD_PATH: &str = "/upload/";
/// The path of download URLs, before the token (and the name after it).
pub const FILES_PATH: &str = "/files/";

/// What a name keeps as it is in a URL's path: RFC 3986's unreserved characters. Everything
/// else, `/`, `%`, `?`, `#` and spaces included, is percent-encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Whom a file goes to, as checked when it was announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileTarget {
    /// Everyone registered (`UPLOAD *`).
    Lobby,
    /// The members of a room, spelled as its creator did.
    Room(Room),
    /// The connection that held the nick when the upload was announced, and only it: a
    /// file is never handed to someone who took the nick meanwhile.
    Nick { id: ConnId, nick: Nick },
}

impl FileTarget {
    fn target(&self) -> Target {
        match self {
            FileTarget::Lobby => Target::Lobby,
            FileTarget::Room(room) => Target::Room(room.clone()),
            FileTarget::Nick { nick, .. } => Target::Nick(nick.clone()),
        }
    }
}

/// Why a complete upload was not delivered: the file is then deleted, and its `PUT` fails
/// with this text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undelivered {
    /// The sender is no longer registered (it quit, or its connection ended).
    SenderGone,
    /// The sender is no longer in the room.
    NotInRoom(Room),
    /// The connection the file was for is gone.
    RecipientGone(Nick),
}

impl fmt::Display for Undelivered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Undelivered::SenderGone => {
                f.write_str("the sender left the chat before the upload was complete")
            }
            Undelivered::NotInRoom(room) => write!(f, "the sender is no longer in {room}"),
            Undelivered::RecipientGone(nick) => write!(f, "{nick} left the chat"),
        }
    }
}

/// What a `FILE` line carries besides its sender and target.
pub struct FileLine<'a> {
    pub size: u64,
    pub url: &'a str,
    pub name: &'a str,
}

/// The figures of `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileCounts {
    /// Uploads completed and delivered since the start, and their bytes.
    pub uploads: u64,
    pub uploaded_bytes: u64,
    /// Files that can be downloaded now, and their bytes.
    pub kept: u64,
    pub kept_bytes: u64,
}

/// The files of one server. Cloning it is cheap: every clone is the same files.
#[derive(Clone)]
pub struct Files {
    shared: Arc<Shared>,
}

struct Shared {
    folder: Folder,
    /// The start of every URL (`Config::web_base`).
    base: String,
    max_size: u64,
    quota: u64,
    lifetime: Duration,
    /// How long an upload URL is valid: [`UPLOAD_WINDOW`], or `lifetime` if shorter.
    window: Duration,
    /// The uploads and files, and the bytes they hold of the quota. A mutex: every use is
    /// a few map operations (the sweep walks the maps), and nothing waits under it; it is
    /// taken under no other lock, and none is taken under it.
    state: Mutex<State>,
    /// Counted once per delivered upload, read by `/metrics`.
    uploads: AtomicU64,
    uploaded_bytes: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Bytes of the files kept.
    used: u64,
    /// Bytes announced by the uploads waiting or under way.
    reserved: u64,
    waiting: HashMap<Token, Waiting>,
    kept: HashMap<Token, Meta>,
    /// Files that expired, forgotten here (their bytes back in the quota at once), still on
    /// the disk until the sweep deletes them.
    doomed: Vec<Token>,
}

impl State {
    /// Forgets the files and upload URLs that expired by `now`, giving their bytes back: done
    /// at every look, so the quota frees up when a file expires, not when the sweep comes.
    fn expire(&mut self, now: SystemTime) {
        let State {
            used,
            reserved,
            waiting,
            kept,
            doomed,
        } = self;
        waiting.retain(|_, upload| {
            let valid = upload.deadline > now;
            if !valid {
                *reserved -= upload.part.size;
            }
            valid
        });
        kept.retain(|&token, meta| {
            let valid = meta.expires > now;
            if !valid {
                *used -= meta.size;
                doomed.push(token);
            }
            valid
        });
    }
}

/// An upload between its `UPLOAD` and its `PUT`.
struct Waiting {
    part: UploadPart,
    /// Its URL is no longer valid after this.
    deadline: SystemTime,
}

/// What an `UPLOAD` said, and who said it.
#[derive(Debug, Clone)]
struct UploadPart {
    sender: ConnId,
    /// The sender's nick then, kept in the file's description.
    from: Nick,
    to: FileTarget,
    size: u64,
    name: String,
}

/// An upload whose `PUT` has begun: it holds its share of the quota until it becomes a file
/// ([`Files::keep`]) or is dropped.
pub struct Upload {
    shared: Arc<Shared>,
    token: Token,
    part: UploadPart,
    /// Whether the quota still holds `size` bytes for it.
    reserved: bool,
}

impl Upload {
    pub fn sender(&self) -> ConnId {
        self.part.sender
    }

    pub fn target(&self) -> &FileTarget {
        &self.part.to
    }

    /// The size announced: exactly this many bytes must come.
    pub fn size(&self) -> u64 {
        self.part.size
    }

    pub fn name(&self) -> &str {
        &self.part.name
    }

    /// Where its bytes are written until they are all there.
    pub fn partial_path(&self) -> PathBuf {
        self.shared.folder.partial_path(self.token)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.reserved {
            self.shared.state.lock().reserved -= self.part.size;
        }
    }
}

/// A file just kept, not yet announced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub token: Token,
    /// Where it is downloaded from.
    pub url: String,
}

/// A file as a download finds it.
pub struct Download {
    pub path: PathBuf,
    pub size: u64,
    pub name: String,
}

impl Files {
    /// The files of a server with `config` whose web listener is bound to `web`, or `None`
    /// without a web listener to carry them. The folder is `<data-dir>/files`, or a
    /// temporary one with `--ephemeral`; what a start finds in it is cleaned up and counted
    /// (see `disk`). Blocks on the disk: at start.
    pub fn open(config: &Config, web: Option<SocketAddr>) -> io::Result<Option<Files>> {
        // The address bound, not the one asked for: `--http 127.0.0.1:0` has a port by now.
        let bound = Config {
            http: web,
            ..config.clone()
        };
        let Some(base) = bound.web_base() else {
            return Ok(None);
        };
        let (folder, kept) = if config.ephemeral {
            (Folder::temporary()?, Vec::new())
        } else {
            let root = config.data_dir.join("files");
            Folder::open(root.clone(), SystemTime::now()).map_err(|error| {
                io::Error::new(
                    error.kind(),
                    format!("the files' folder {}: {error}", root.display()),
                )
            })?
        };
        let state = State {
            used: kept.iter().map(|(_, meta)| meta.size).sum(),
            kept: kept.into_iter().collect(),
            ..State::default()
        };
        let lifetime = config.file_lifetime;
        Ok(Some(Files {
            shared: Arc::new(Shared {
                folder,
                base,
                max_size: config.max_file_size as u64,
                quota: config.file_quota as u64,
                lifetime,
                window: lifetime.min(UPLOAD_WINDOW),
                state: Mutex::new(state),
                uploads: AtomicU64::new(0),
                uploaded_bytes: AtomicU64::new(0),
            }),
        }))
    }

    /// `FILE_TOO_LARGE` for a size over `--max-file-size`.
    pub fn check_size(&self, size: u64) -> Result<(), ProtocolError> {
        let max = self.shared.max_size;
        if size > max {
            return Err(ProtocolError::FileTooLarge { size, max });
        }
        Ok(())
    }

    /// `UPLOAD`, once its target was checked: reserves `size` bytes of the quota and returns
    /// the upload URL. `QUOTA` when the bytes kept and reserved leave too little, or when
    /// the sender has [`MAX_WAITING_PER_CLIENT`] uploads waiting.
    pub fn reserve(
        &self,
        sender: ConnId,
        from: Nick,
        to: FileTarget,
        size: u64,
        name: &str,
    ) -> Result<String, ProtocolError> {
        self.check_size(size)?;
        let shared = &self.shared;
        let token = Token::new();
        let deadline = SystemTime::now() + shared.window;
        // Expired entries go first, so that their bytes count as free.
        let mut state = shared.state.lock();
        state.expire(SystemTime::now());
        let free = shared.quota.saturating_sub(state.used + state.reserved);
        if size > free {
            return Err(ProtocolError::Quota { free });
        }
        let waiting = state.waiting.values();
        if waiting.filter(|w| w.part.sender == sender).count() >= MAX_WAITING_PER_CLIENT {
            return Err(ProtocolError::UploadsWaiting {
                max: MAX_WAITING_PER_CLIENT,
            });
        }
        state.reserved += size;
        let part = UploadPart {
            sender,
            from,
            to,
            size,
            name: name.to_owned(),
        };
        state.waiting.insert(token, Waiting { part, deadline });
        drop(state);
        Ok(format!("{}{UPLOAD_PATH}{token}", shared.base))
    }

    /// The `PUT` of upload `token` begins: the upload, taken out of the waiting ones (its
    /// URL is used up), or `None` if no upload has that token or its URL expired.
    pub fn start(&self, token: Token) -> Option<Upload> {
        let mut state = self.shared.state.lock();
        let waiting = state.waiting.remove(&token)?;
        if waiting.deadline <= SystemTime::now() {
            state.reserved -= waiting.part.size;
            return None;
        }
        Some(Upload {
            shared: Arc::clone(&self.shared),
            token,
            part: waiting.part,
            reserved: true,
        })
    }

    /// Makes the upload whose bytes are all at its partial path a file that can be
    /// downloaded, for `--file-days` from now, under a new token; its share of the quota
    /// becomes the file's. Blocks on the disk.
    pub fn keep(&self, mut upload: Upload) -> io::Result<Stored> {
        let shared = &self.shared;
        let token = Token::new();
        let meta = Meta {
            size: upload.part.size,
            expires: SystemTime::now() + shared.lifetime,
            from: upload.part.from.clone(),
            to: upload.part.to.target(),
            name: upload.part.name.clone(),
        };
        shared.folder.keep(&upload.partial_path(), token, &meta)?;
        let url = self.download_url(token, &meta.name);
        let mut state = shared.state.lock();
        state.reserved -= meta.size;
        state.used += meta.size;
        state.kept.insert(token, meta);
        upload.reserved = false;
        Ok(Stored { token, url })
    }

    /// A kept file that will not be announced after all: deleted, its bytes freed. Blocks on
    /// the disk.
    pub fn discard(&self, token: Token) {
        {
            let mut state = self.shared.state.lock();
            if let Some(meta) = state.kept.remove(&token) {
                state.used -= meta.size;
            }
        }
        self.shared.folder.delete(token);
    }

    /// A file was announced to its recipients: counted for `/metrics`.
    pub fn delivered(&self, size: u64) {
        self.shared.uploads.fetch_add(1, Ordering::Relaxed);
        self.shared
            .uploaded_bytes
            .fetch_add(size, Ordering::Relaxed);
    }

    /// File `token`, if it can be downloaded now.
    pub fn download(&self, token: Token) -> Option<Download> {
        let mut state = self.shared.state.lock();
        state.expire(SystemTime::now());
        let meta = state.kept.get(&token)?;
        Some(Download {
            path: self.shared.folder.path(token),
            size: meta.size,
            name: meta.name.clone(),
        })
    }

    /// The senders of the uploads waiting for their bytes, for the sweep to ask which are
    /// gone (asked after this returns: no lock of the registry is taken under this one).
    pub fn waiting_senders(&self) -> Vec<ConnId> {
        let state = self.shared.state.lock();
        let mut senders: Vec<ConnId> = state.waiting.values().map(|w| w.part.sender).collect();
        senders.sort_unstable();
        senders.dedup();
        senders
    }

    /// Forgets what expired by `now` (files, and upload URLs) and the uploads waiting for a
    /// sender in `gone`, giving their bytes back to the quota; returns the files to delete
    /// from the disk ([`Files::delete`]): those that expired since the last sweep.
    pub fn sweep(&self, now: SystemTime, gone: &[ConnId]) -> Vec<Token> {
        let mut state = self.shared.state.lock();
        state.expire(now);
        let State {
            reserved, waiting, ..
        } = &mut *state;
        waiting.retain(|_, upload| {
            let present = !gone.contains(&upload.part.sender);
            if !present {
                *reserved -= upload.part.size;
            }
            present
        });
        std::mem::take(&mut state.doomed)
    }

    /// When the next file or upload URL expires, if any does.
    pub fn next_expiry(&self) -> Option<SystemTime> {
        let state = self.shared.state.lock();
        let files = state.kept.values().map(|meta| meta.expires);
        let uploads = state.waiting.values().map(|upload| upload.deadline);
        files.chain(uploads).min()
    }

    /// Deletes the files `tokens` from the disk. Blocks on the disk.
    pub fn delete(&self, tokens: &[Token]) {
        for &token in tokens {
            self.shared.folder.delete(token);
        }
    }

    pub fn counts(&self) -> FileCounts {
        let (kept, kept_bytes) = {
            let mut state = self.shared.state.lock();
            state.expire(SystemTime::now());
            (state.kept.len() as u64, state.used)
        };
        FileCounts {
            uploads: self.shared.uploads.load(Ordering::Relaxed),
            uploaded_bytes: self.shared.uploaded_bytes.load(Ordering::Relaxed),
            kept,
            kept_bytes,
        }
    }

    /// `<base>/files/<token>/<name, percent-encoded>`: the name is there for a browser or
    /// `curl -O` to save the file under; the token alone finds it.
    fn download_url(&self, token: Token, name: &str) -> String {
        let name = utf8_percent_encode(name, PATH_SEGMENT);
        format!("{}{FILES_PATH}{token}/{name}", self.shared.base)
    }
}

#[cfg(test)]
mod tests;
