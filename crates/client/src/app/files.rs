//! Files in the full-screen client (issue 17): `/send <path>` and `/save <n> [path]`, the
//! `FILE` lines shown numbered, and what the file threads and the server say of them, told
//! in the tab concerned.
//!
//! `/send` sends to the current tab's room or person, or to everyone from the lobby: the
//! file is looked at by a file thread (an effect), then asked for (`uploads`), then `PUT`
//! by a file thread, its progress one line of the tab rewritten in place, its end a line
//! below (`sent photo.png (1.2 MB)`, or why not). `/save` downloads a numbered file
//! (`offers`) into the current folder, a folder, or a file's path, under the server's name
//! made safe (`file_names::safe_name`), never over a file; its progress and end are told in
//! the tab it was typed in.
//!
//! The client asks `CAP files`, so a lobby file comes as `FILE * ...` (`Reply::LobbyFile`)
//! and a `FILE` without a target is a direct one, for the sender's tab ([`file_body`] takes
//! `direct` for that). From a server that refused `CAP files`, a `FILE` without a room is
//! shown in the lobby: it does not say whether it went to everyone or to us alone, and the
//! lobby is where nothing private is taken for public.
//!
//! Out of scope: the upload's bookkeeping (`uploads`), the numbering (`offers`), the file
//! system and HTTP (`crate::transfer`), parsing the commands (`crate::commands`).

use chrono::NaiveTime;

use super::offers::Offered;
use super::state::{App, Download, Effect, can_send};
use super::tab::{Body, TabKind};
use super::uploads::{Taken, Told, What};
use crate::event::{FileEvent, FileJob};
use crate::file_names::{human_size, percent, safe_name};
use chatd_proto::{Nick, Reply, Target};

/// `/send <path>` in the current tab.
pub(super) fn send_file(app: &mut App, path: &str, now: NaiveTime, effects: &mut Vec<Effect>) {
    let to = match app.tab().kind.clone() {
        TabKind::Lobby => Target::Lobby,
        TabKind::Room(room) if !app.tab().joined => {
            app.error(now, format!("you are not in {room}: /join {room}"));
            return;
        }
        TabKind::Room(room) => Target::Room(room),
        TabKind::Direct(nick) => Target::Nick(nick),
    };
    if can_send(app, now) {
        let job = app.uploads.send(path, to);
        effects.push(Effect::File(job));
    }
}

/// `/save <number> [path]`.
pub(super) fn save(
    app: &mut App,
    number: u64,
    path: Option<&str>,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) {
    let Some(offered) = app.offers.get(number).cloned() else {
        let text = if app.offers.forgotten(number) {
            format!("file [{number}] is forgotten: only the newest files are kept for /save")
        } else {
            match app.offers.last() {
                Some(last) => format!("no file [{number}]: the files so far are [1] to [{last}]"),
                None => format!("no file [{number}]: nobody has sent a file yet"),
            }
        };
        app.error(now, text);
        return;
    };
    let id = app.uploads.next_id();
    let name = safe_name(&offered.name);
    if name.is_none() && path.is_none() {
        app.error(
            now,
            format!(
                "file [{number}] is named {:?}, which is no file name here: /save {number} PATH \
                 names it",
                offered.name
            ),
        );
        return;
    }
    app.downloads.insert(
        id,
        Download {
            number,
            name: offered.name.clone(),
            size: offered.size,
            tab: app.tab().uid,
            done: 0,
        },
    );
    let text = progress_text("saving", &offered.name, offered.size, "0 %");
    set_transfer(app, app.current, id, text, now);
    effects.push(Effect::File(FileJob::Download {
        id,
        url: offered.url,
        size: offered.size,
        name,
        to: path.map(str::to_owned),
    }));
}

/// A `FILE` line as a line of its tab, numbered for `/save`.
pub(super) fn file_body(
    app: &mut App,
    from: Nick,
    size: u64,
    url: String,
    name: String,
    direct: bool,
) -> Body {
    let own = from.key() == app.nick.key();
    let number = app.offers.offer(Offered {
        from: from.clone(),
        size,
        url,
        name: name.clone(),
    });
    Body::File {
        number,
        from,
        name,
        size,
        direct,
        own,
    }
}

/// Reads `reply` if it is about one of our uploads; returns whether it was.
pub(super) fn on_reply(
    app: &mut App,
    reply: &Reply,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) -> bool {
    match app.uploads.on_reply(reply) {
        Taken::No => false,
        Taken::Quiet => true,
        Taken::Tell(told) => {
            tell(app, told, now, effects);
            true
        }
    }
}

/// The connection was lost: the uploads it was asking for are not sent.
pub(super) fn connection_lost(app: &mut App, now: NaiveTime, effects: &mut Vec<Effect>) {
    for told in app.uploads.connection_lost() {
        tell(app, told, now, effects);
    }
}

/// What a file thread reported.
pub(super) fn on_file_event(
    app: &mut App,
    event: FileEvent,
    now: NaiveTime,
    effects: &mut Vec<Effect>,
) {
    match event {
        FileEvent::Opened { id, result } => {
            let online = app.online();
            if let Some(told) = app.uploads.opened(id, result, online) {
                tell(app, told, now, effects);
            }
        }
        FileEvent::Progress { id, done } if app.downloads.contains_key(&id) => {
            let download = app.downloads.get_mut(&id).expect("looked up just above");
            let before = percent(download.done, download.size);
            download.done = done;
            let shown = percent(done, download.size);
            if shown != before {
                let (name, size, tab) = (download.name.clone(), download.size, download.tab);
                let text = progress_text("saving", &name, size, &format!("{shown} %"));
                let index = tab_of(app, tab);
                set_transfer(app, index, id, text, now);
            }
        }
        FileEvent::Progress { id, done } => {
            if let Some(told) = app.uploads.progress(id, done) {
                tell(app, told, now, effects);
            }
        }
        FileEvent::Uploaded { id, result } => {
            if let Some(told) = app.uploads.put_ended(id, result) {
                tell(app, told, now, effects);
            }
        }
        FileEvent::Saved { id, result } => {
            let Some(download) = app.downloads.remove(&id) else {
                return;
            };
            let index = tab_of(app, download.tab);
            let Download {
                number,
                name,
                size,
                done,
                ..
            } = download;
            match result {
                Ok(path) => {
                    let text = progress_text("saving", &name, size, "100 %");
                    set_transfer(app, index, id, text, now);
                    let text = format!("saved [{number}] {name} as {}", path.display());
                    app.notice(index, now, text);
                }
                Err(why) => {
                    let stopped = format!("stopped at {} %", percent(done, size));
                    let text = progress_text("saving", &name, size, &stopped);
                    set_transfer(app, index, id, text, now);
                    let text = format!("[{number}] {name} not saved: {why}");
                    app.add(index, now, Body::Error(text));
                }
            }
        }
    }
}

/// Carries out and tells what happened to an upload, in the tab of its target.
fn tell(app: &mut App, told: Told, now: NaiveTime, effects: &mut Vec<Effect>) {
    let Told {
        id,
        to,
        name,
        size,
        what,
    } = told;
    let index = upload_tab(app, &to);
    match what {
        What::Ask(lines) => effects.extend(lines.into_iter().map(Effect::Send)),
        What::Put(job) => {
            effects.push(Effect::File(job));
            let text = progress_text("sending", &name, size, "0 %");
            set_transfer(app, index, id, text, now);
        }
        What::Progress(shown) => {
            let text = progress_text("sending", &name, size, &format!("{shown} %"));
            set_transfer(app, index, id, text, now);
        }
        What::Sent => {
            if app.tabs[index].transfer_line(id).is_some() {
                let text = progress_text("sending", &name, size, "100 %");
                set_transfer(app, index, id, text, now);
            }
            app.notice(index, now, format!("sent {name} ({})", human_size(size)));
        }
        What::NotSent(why) => {
            if let Some(line) = app.tabs[index].transfer_line(id) {
                if let Body::Transfer { text, .. } = &mut line.body {
                    text.push_str(", stopped");
                }
            }
            app.add(index, now, Body::Error(format!("{name} not sent: {why}")));
        }
    }
}

/// `sending photo.png (1.2 MB): 40 %`.
fn progress_text(doing: &str, name: &str, size: u64, state: &str) -> String {
    format!("{doing} {name} ({}): {state}", human_size(size))
}

/// Rewrites the progress line of job `id` in tab `index`, or adds it if the tab has none.
fn set_transfer(app: &mut App, index: usize, id: u64, text: String, now: NaiveTime) {
    match app.tabs[index].transfer_line(id) {
        Some(line) => line.body = Body::Transfer { id, text },
        None => app.add(index, now, Body::Transfer { id, text }),
    }
}

/// The tab that hears of an upload to `to`: the lobby's, the room's (the lobby if it was
/// closed), or the person's (opened again if it was closed).
fn upload_tab(app: &mut App, to: &Target) -> usize {
    match to {
        Target::Lobby => 0,
        Target::Room(room) => app.room_tab(room).unwrap_or(0),
        Target::Nick(nick) => app.open(TabKind::Direct(nick.clone())),
    }
}

/// The tab with [`Tab::uid`](super::tab::Tab) `uid`, or the current one if it was closed.
fn tab_of(app: &App, uid: u64) -> usize {
    app.tabs
        .iter()
        .position(|tab| tab.uid == uid)
        .unwrap_or(app.current)
}
