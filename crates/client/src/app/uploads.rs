//! The files `/send` sends (issue 17), from the file looked at to the server's `OK FILE`:
//! [`Uploads`], shared by the full-screen client and the line mode. Pure: it returns the
//! lines to send, the jobs to start and what to tell, and its callers do them.
//!
//! An upload goes through three stages. Opening: the file thread looks at the file (its
//! size and name). Asking: `PING chat-upload-<id>`, `UPLOAD <target> <size> <name>`, `PING
//! chat-upload-<id>-end` are sent together. The server answers lines in order, so the
//! `OK UPLOAD` or `ERR` between the two `PONG`s answers this `UPLOAD` and nothing else: not
//! an `ERR` of a `MSG` sent just before it (a `MSG` that worked gets no answer, so without
//! the first `PONG` its refusal could not be told from the upload's), nor of a line sent
//! after. The second `PONG` without an `OK UPLOAD` means refused: the `ERR` between them is
//! why. Sending: the file's bytes go to the URL with an HTTP `PUT` on a thread of their
//! own; the upload ends with `OK FILE <url>` ("sent") or with the `PUT`'s failure. `OK
//! FILE` names no upload: it is matched to the upload whose `PUT` was answered with its URL
//! (when that answer came first), else by the file name its URL ends with, else to an
//! upload whose bytes have all gone, else to the oldest sending. A connection lost while
//! asking loses the answer (not sent); while sending, the `PUT` goes on, and since no
//! `OK FILE` can come on a new connection, its success is the upload's.
//!
//! Out of scope: the file system and HTTP (`transfer`), which tab is told (`files`, and
//! `line_mode` for its notes).

use std::path::PathBuf;

use chatd_proto::{Command, ErrorCode, FileName, Reply, Target};

use crate::event::{FileJob, LocalFile};
use crate::file_names::{name_in_url, percent};

/// The start of the tokens of the `PING`s around an `UPLOAD`.
const TOKEN_PREFIX: &str = "chat-upload-";
/// The end of the token of the `PING` after an `UPLOAD`.
const TOKEN_END: &str = "-end";

/// The uploads under way, in the order they were asked for.
#[derive(Debug, Clone, Default)]
pub struct Uploads {
    /// The id of the next job: uploads and downloads share them, so file events never mix.
    next_id: u64,
    list: Vec<Upload>,
}

/// One file being sent.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Upload {
    id: u64,
    to: Target,
    /// The path as typed until the file is looked at, then its base name.
    name: String,
    /// Where the file is, once looked at.
    path: PathBuf,
    size: u64,
    stage: Stage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Stage {
    /// The file thread looks at the file.
    Opening,
    /// `UPLOAD` sent between two `PING`s; `open` once the first `PONG` came, so the next
    /// `OK UPLOAD` or `ERR` is its answer.
    Asking {
        open: bool,
        url: Option<String>,
        refusal: Option<String>,
    },
    /// The `PUT` is under way: `done` bytes sent so far. `put_ended`: it succeeded, and the
    /// `OK FILE` is awaited; `url`, the download URL its answer gave. `orphan`: the
    /// connection it was asked on was lost, so no `OK FILE` will come and the `PUT`'s
    /// success is the end.
    Sending {
        done: u64,
        put_ended: bool,
        url: Option<String>,
        orphan: bool,
    },
}

/// Something about one upload for the caller to do or tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Told {
    pub id: u64,
    /// Where it goes: the tab that hears of it.
    pub to: Target,
    /// Its name (the path as typed, before the file was looked at).
    pub name: String,
    pub size: u64,
    pub what: What,
}

/// What happened to an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// Send these lines, in order (`PING`, `UPLOAD`, `PING`).
    Ask(Vec<String>),
    /// The server gave a URL: start this job (the `PUT`); the transfer starts at 0 %.
    Put(FileJob),
    /// This share of it is sent (told only when the percentage changes).
    Progress(u8),
    /// The server has it and delivered it (`OK FILE`, or the `PUT`'s success once the
    /// connection that would have carried `OK FILE` is gone).
    Sent,
    /// It was not sent, and why.
    NotSent(String),
}

/// Whether a server line was the uploads' business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// Not an upload's: handle it as usual.
    No,
    /// An upload's, with nothing to tell yet (a `PONG`, an `OK UPLOAD`, an `ERR` told at
    /// the next `PONG`).
    Quiet,
    Tell(Told),
}

impl Uploads {
    /// A fresh id for a file job (an upload's or a download's).
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// `/send <path>` to `to`: the job that looks at the file; the rest follows its event.
    pub fn send(&mut self, path: &str, to: Target) -> FileJob {
        let id = self.next_id();
        self.list.push(Upload {
            id,
            to,
            name: path.to_owned(),
            path: PathBuf::new(),
            size: 0,
            stage: Stage::Opening,
        });
        FileJob::Open {
            id,
            path: path.to_owned(),
        }
    }

    /// Whether no upload is under way (the line mode waits for that before it quits).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The file of upload `id` was looked at: the lines that ask for the upload, or why it
    /// cannot be sent (a name the protocol refuses is refused here, and nothing is sent).
    /// `online`: lines can be sent now. `None` for an id that is no upload's.
    pub fn opened(
        &mut self,
        id: u64,
        result: Result<LocalFile, String>,
        online: bool,
    ) -> Option<Told> {
        let at = self.position(id)?;
        if self.list[at].stage != Stage::Opening {
            return None;
        }
        let upload = &mut self.list[at];
        let what = match result {
            Err(why) => What::NotSent(why),
            Ok(file) => {
                upload.name = file.name;
                upload.path = file.path;
                upload.size = file.size;
                match FileName::parse(&upload.name) {
                    Err(fault) => What::NotSent(format!("{fault}; rename the file to send it")),
                    Ok(_) if !online => What::NotSent("not connected".to_owned()),
                    Ok(name) => {
                        let lines = vec![
                            ping(id, ""),
                            Command::Upload {
                                target: upload.to.clone(),
                                size: upload.size,
                                name,
                            }
                            .to_string(),
                            ping(id, TOKEN_END),
                        ];
                        upload.stage = Stage::Asking {
                            open: false,
                            url: None,
                            refusal: None,
                        };
                        What::Ask(lines)
                    }
                }
            }
        };
        Some(match what {
            What::NotSent(_) => self.finish(at, what),
            what => self.told(at, what),
        })
    }

    /// Reads `reply` if it is an upload's: the `PONG`s around an `UPLOAD`, its answer, or an
    /// `OK FILE`.
    pub fn on_reply(&mut self, reply: &Reply) -> Taken {
        match reply {
            Reply::Pong { token: Some(token) } => self.on_pong(token),
            Reply::OkUpload { url } => match self.answering() {
                Some(at) => {
                    if let Stage::Asking { url: slot, .. } = &mut self.list[at].stage {
                        *slot = Some(url.clone());
                    }
                    Taken::Quiet
                }
                None => Taken::No,
            },
            Reply::Err { code, text } => match self.answering() {
                Some(at) => {
                    if let Stage::Asking { refusal, .. } = &mut self.list[at].stage {
                        *refusal = Some(refusal_text(code, text));
                    }
                    Taken::Quiet
                }
                None => Taken::No,
            },
            Reply::OkFile { url } => match self.delivered(url) {
                Some(at) => Taken::Tell(self.finish(at, What::Sent)),
                None => Taken::No,
            },
            _ => Taken::No,
        }
    }

    fn on_pong(&mut self, token: &str) -> Taken {
        let Some((id, end)) = parse_token(token) else {
            return Taken::No;
        };
        let Some(at) = self.position(id) else {
            // An upload given up when its connection was lost.
            return Taken::Quiet;
        };
        let Stage::Asking { open, url, refusal } = &mut self.list[at].stage else {
            return Taken::Quiet;
        };
        if !end {
            *open = true;
            return Taken::Quiet;
        }
        let (url, refusal) = (url.take(), refusal.take());
        match url {
            Some(url) => {
                let upload = &mut self.list[at];
                let job = FileJob::Upload {
                    id,
                    path: upload.path.clone(),
                    url,
                    size: upload.size,
                };
                upload.stage = Stage::Sending {
                    done: 0,
                    put_ended: false,
                    url: None,
                    orphan: false,
                };
                Taken::Tell(self.told(at, What::Put(job)))
            }
            None => {
                let why = refusal.unwrap_or_else(|| "the server did not take it".to_owned());
                Taken::Tell(self.finish(at, What::NotSent(why)))
            }
        }
    }

    /// `done` bytes of upload `id` are sent: told when the percentage changes.
    pub fn progress(&mut self, id: u64, done: u64) -> Option<Told> {
        let at = self.position(id)?;
        let size = self.list[at].size;
        let Stage::Sending { done: was, .. } = &mut self.list[at].stage else {
            return None;
        };
        let before = percent(*was, size);
        *was = done;
        let now = percent(done, size);
        (now != before).then(|| self.told(at, What::Progress(now)))
    }

    /// Upload `id`'s `PUT` ended: a failure ends the upload; a success (with the download
    /// URL the server answered, if any) waits for `OK FILE`, unless its connection is gone.
    pub fn put_ended(&mut self, id: u64, result: Result<Option<String>, String>) -> Option<Told> {
        let at = self.position(id)?;
        let Stage::Sending {
            put_ended,
            url,
            orphan,
            ..
        } = &mut self.list[at].stage
        else {
            return None;
        };
        match result {
            Err(why) => Some(self.finish(at, What::NotSent(why))),
            Ok(_) if *orphan => Some(self.finish(at, What::Sent)),
            Ok(answered) => {
                *put_ended = true;
                *url = answered;
                None
            }
        }
    }

    /// The connection was lost: uploads waiting for the server's answer are not sent; the
    /// `PUT`s under way go on, but their `OK FILE` will not come.
    pub fn connection_lost(&mut self) -> Vec<Told> {
        let mut told = Vec::new();
        let mut at = 0;
        while at < self.list.len() {
            match &mut self.list[at].stage {
                Stage::Asking { .. } => {
                    let why = "the connection was lost before the server answered";
                    told.push(self.finish(at, What::NotSent(why.to_owned())));
                    continue;
                }
                Stage::Sending {
                    put_ended: true, ..
                } => {
                    told.push(self.finish(at, What::Sent));
                    continue;
                }
                Stage::Sending { orphan, .. } => *orphan = true,
                Stage::Opening => {}
            }
            at += 1;
        }
        told
    }

    fn position(&self, id: u64) -> Option<usize> {
        self.list.iter().position(|upload| upload.id == id)
    }

    /// The upload whose answer comes now: the first asking one whose first `PONG` came and
    /// that has no answer yet (the windows between the `PONG`s follow each other in order).
    fn answering(&self) -> Option<usize> {
        self.list.iter().position(|upload| {
            matches!(
                &upload.stage,
                Stage::Asking {
                    open: true,
                    url: None,
                    refusal: None
                }
            )
        })
    }

    /// The sending upload an `OK FILE <url>` is for (see the module's doc).
    fn delivered(&self, url: &str) -> Option<usize> {
        let answered = |upload: &Upload| matches!(&upload.stage, Stage::Sending { url: Some(answered), .. } if answered == url);
        if let Some(at) = self.list.iter().position(answered) {
            return Some(at);
        }
        let named = name_in_url(url);
        let sending = |upload: &&Upload| matches!(upload.stage, Stage::Sending { .. });
        let all_sent = |upload: &&Upload| {
            matches!(upload.stage, Stage::Sending { done, put_ended, .. }
                if put_ended || done >= upload.size)
        };
        let candidates = || self.list.iter().filter(sending);
        let same_name = |upload: &&Upload| named.as_deref() == Some(upload.name.as_str());
        let found = candidates()
            .filter(same_name)
            .find(all_sent)
            .or_else(|| candidates().find(same_name))
            .or_else(|| candidates().find(all_sent))
            .or_else(|| candidates().next())?;
        self.position(found.id)
    }

    fn told(&self, at: usize, what: What) -> Told {
        let upload = &self.list[at];
        Told {
            id: upload.id,
            to: upload.to.clone(),
            name: upload.name.clone(),
            size: upload.size,
            what,
        }
    }

    /// Ends upload `at`, telling `what`.
    fn finish(&mut self, at: usize, what: What) -> Told {
        let told = self.told(at, what);
        self.list.remove(at);
        told
    }
}

/// The `PING` before (`end` empty) or after ([`TOKEN_END`]) upload `id`'s `UPLOAD`.
fn ping(id: u64, end: &str) -> String {
    let token = format!("{TOKEN_PREFIX}{id}{end}");
    Command::Ping {
        token: Some(&token),
    }
    .to_string()
}

/// The upload id a `PONG`'s token names, and whether it is the `PING` after the `UPLOAD`.
fn parse_token(token: &str) -> Option<(u64, bool)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (digits, end) = match rest.strip_suffix(TOKEN_END) {
        Some(digits) => (digits, true),
        None => (rest, false),
    };
    digits.parse().ok().map(|id| (id, end))
}

/// A refusal as the user reads it: the server's words, and its code for the record.
fn refusal_text(code: &ErrorCode, text: &str) -> String {
    match code {
        ErrorCode::UnknownCommand => format!("this server takes no files ({text})"),
        _ => format!("{text} ({code})"),
    }
}

#[cfg(test)]
mod tests;
