//! `--plain`'s files (issue 17): `/send <path>` sends a file to the lobby (there are no tabs;
//! plain text goes there too), `/save <n> [path]` saves file `n`, with the full-screen
//! client's rules (`app::Uploads`, `app::Offers`, the file threads of `transfer`).
//!
//! The output stays the server's lines as received (`OK UPLOAD`, `OK FILE`, a refusal's
//! `ERR`, the `FILE` lines); what the client adds goes to the notes: the number of each new
//! file (`chat: [3] bob sent photo.png (1.2 MB): /save 3`), and each transfer's start and
//! end (`chat: sent photo.png (1.2 MB)`, `chat: saved [3] photo.png as ./photo.png`, or why
//! not). The `PONG`s of the `PING`s around an `UPLOAD` are not printed, as the login's is
//! not. When the input ends, the line mode waits for the transfers under way before it
//! quits ([`PlainFiles::idle`]).
//!
//! Out of scope: sending lines and printing the server's (`line_mode`); the file system and
//! HTTP (`transfer`).

use std::collections::HashMap;
use std::io::{self, Write};

use crossbeam_channel::Receiver;

use crate::app::{Offered, Offers, Taken, Told, Uploads, What};
use crate::event::{FileEvent, FileJob};
use crate::file_names::{human_size, safe_name};
use crate::printable::put_line;
use crate::transfer::Transfers;
use crate::trust::Trust;
use chatd_proto::{Reply, Target};

/// A download under way: the number `/save` was given and the server's name for it.
struct Saving {
    number: u64,
    name: String,
}

/// The line mode's uploads, numbered files, downloads, and the file threads.
pub struct PlainFiles {
    uploads: Uploads,
    offers: Offers,
    downloads: HashMap<u64, Saving>,
    /// `None` once stopped.
    transfers: Option<Transfers>,
    events: Receiver<FileEvent>,
}

/// What a server line is to the files.
pub enum FileLine {
    /// Not theirs.
    No,
    /// An upload's: printed as usual (`hide` false), or not at all (a `PONG` of ours).
    Ours { hide: bool },
}

impl PlainFiles {
    /// File threads whose HTTPS trusts `trust`.
    pub fn new(trust: &Trust) -> PlainFiles {
        let (report, events) = crossbeam_channel::unbounded();
        PlainFiles {
            uploads: Uploads::default(),
            offers: Offers::default(),
            downloads: HashMap::new(),
            transfers: Some(Transfers::new(
                move |event| report.send(event).is_ok(),
                trust,
            )),
            events,
        }
    }

    /// Where the file threads' events come.
    pub fn events(&self) -> Receiver<FileEvent> {
        self.events.clone()
    }

    /// Whether no transfer is under way.
    pub fn idle(&self) -> bool {
        self.uploads.is_empty() && self.downloads.is_empty()
    }

    fn start(&mut self, job: FileJob) {
        if let Some(transfers) = &mut self.transfers {
            transfers.start(job);
        }
    }

    /// `/send <path>`: to the lobby.
    pub fn send(&mut self, path: &str) {
        let job = self.uploads.send(path, Target::Lobby);
        self.start(job);
    }

    /// `/save <number> [path]`.
    pub fn save(
        &mut self,
        number: u64,
        path: Option<&str>,
        notes: &mut impl Write,
    ) -> io::Result<()> {
        let Some(offered) = self.offers.get(number).cloned() else {
            return put_line(notes, format_args!("chat: no file [{number}] to save"));
        };
        let id = self.uploads.next_id();
        self.downloads.insert(
            id,
            Saving {
                number,
                name: offered.name.clone(),
            },
        );
        self.start(FileJob::Download {
            id,
            url: offered.url,
            size: offered.size,
            name: safe_name(&offered.name),
            to: path.map(str::to_owned),
        });
        Ok(())
    }

    /// A file thread's event; returns the lines to send (an `UPLOAD` and its `PING`s).
    pub fn on_event(
        &mut self,
        event: FileEvent,
        online: bool,
        notes: &mut impl Write,
    ) -> io::Result<Vec<String>> {
        let told = match event {
            FileEvent::Opened { id, result } => self.uploads.opened(id, result, online),
            FileEvent::Progress { .. } => None,
            FileEvent::Uploaded { id, result } => self.uploads.put_ended(id, result),
            FileEvent::Saved { id, result } => {
                if let Some(Saving { number, name }) = self.downloads.remove(&id) {
                    match result {
                        Ok(path) => put_line(
                            notes,
                            format_args!("chat: saved [{number}] {name} as {}", path.display()),
                        )?,
                        Err(why) => put_line(
                            notes,
                            format_args!("chat: [{number}] {name} not saved: {why}"),
                        )?,
                    }
                }
                None
            }
        };
        match told {
            Some(told) => self.tell(told, notes),
            None => Ok(Vec::new()),
        }
    }

    /// Reads `reply` if it is about one of our uploads.
    pub fn on_reply(&mut self, reply: &Reply, notes: &mut impl Write) -> io::Result<FileLine> {
        let hide = matches!(reply, Reply::Pong { .. });
        match self.uploads.on_reply(reply) {
            Taken::No => return Ok(FileLine::No),
            Taken::Quiet => {}
            Taken::Tell(told) => {
                // Only `Put` comes from a server line, which sends nothing.
                self.tell(told, notes)?;
            }
        }
        Ok(FileLine::Ours { hide })
    }

    /// A line printed (live, or from history): a file offered for the first time gets its
    /// number, told in a note.
    pub fn offered(&mut self, reply: &Reply, notes: &mut impl Write) -> io::Result<()> {
        let inner;
        let reply = match reply {
            Reply::Hist { line, .. } => match Reply::parse(line) {
                Ok(parsed) => {
                    inner = parsed;
                    &inner
                }
                Err(_) => return Ok(()),
            },
            reply => reply,
        };
        let (Reply::File {
            from,
            size,
            url,
            name,
        }
        | Reply::LobbyFile {
            from,
            size,
            url,
            name,
        }
        | Reply::RoomFile {
            from,
            size,
            url,
            name,
            ..
        }) = reply
        else {
            return Ok(());
        };
        let before = self.offers.last();
        let number = self.offers.offer(Offered {
            from: from.clone(),
            size: *size,
            url: url.clone(),
            name: name.clone(),
        });
        if before.is_some_and(|last| number <= last) {
            return Ok(());
        }
        put_line(
            notes,
            format_args!(
                "chat: [{number}] {from} sent {name} ({}): /save {number}",
                human_size(*size)
            ),
        )
    }

    /// The connection was lost: the uploads it was asking for are not sent.
    pub fn connection_lost(&mut self, notes: &mut impl Write) -> io::Result<()> {
        for told in self.uploads.connection_lost() {
            self.tell(told, notes)?;
        }
        Ok(())
    }

    /// Tells what happened to an upload, starts its `PUT`; returns the lines to send.
    fn tell(&mut self, told: Told, notes: &mut impl Write) -> io::Result<Vec<String>> {
        let Told {
            name, size, what, ..
        } = told;
        match what {
            What::Ask(lines) => return Ok(lines),
            What::Put(job) => {
                self.start(job);
                put_line(
                    notes,
                    format_args!("chat: sending {name} ({})", human_size(size)),
                )?;
            }
            What::Progress(_) => {}
            What::Sent => put_line(
                notes,
                format_args!("chat: sent {name} ({})", human_size(size)),
            )?,
            What::NotSent(why) => put_line(notes, format_args!("chat: {name} not sent: {why}"))?,
        }
        Ok(Vec::new())
    }

    /// Stops the transfers under way (at the end of the run).
    pub fn stop(&mut self) {
        if let Some(transfers) = self.transfers.take() {
            transfers.stop();
        }
    }
}
