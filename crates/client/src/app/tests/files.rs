//! `/send`, `/save` and the `FILE` lines (issue 17): numbered as they arrive and from
//! history, an upload asked between two `PING`s, refused, put and told in its tab, a
//! download asked and told.

use std::path::PathBuf;

use super::*;
use crate::event::{FileEvent, FileJob, LocalFile};

const URL: &str = "http://127.0.0.1:8080/files/0123456789abcdef0123456789abcdef/a%20b.txt";

fn tab_index(app: &App, label: &str) -> usize {
    app.tabs
        .iter()
        .position(|tab| tab.label() == label)
        .unwrap()
}

fn file_event(app: &mut App, event: FileEvent) -> Vec<Effect> {
    update(app, Event::File(event), at())
}

fn jobs(effects: &[Effect]) -> Vec<&FileJob> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::File(job) => Some(job),
            _ => None,
        })
        .collect()
}

/// `/send <path>` typed: the id of the job that looks at the file.
fn send(app: &mut App, path: &str) -> u64 {
    let effects = enter(app, &format!("/send {path}"));
    match jobs(&effects)[..] {
        [FileJob::Open { id, path: typed }] => {
            assert_eq!(typed, path);
            *id
        }
        _ => panic!("{effects:?}"),
    }
}

/// The file thread found `name` of `size` bytes: the lines sent.
fn opened(app: &mut App, id: u64, name: &str, size: u64) -> Vec<String> {
    let result = Ok(LocalFile {
        path: PathBuf::from(format!("/home/alice/{name}")),
        name: name.to_owned(),
        size,
    });
    let effects = file_event(app, FileEvent::Opened { id, result });
    sent(&effects).into_iter().map(str::to_owned).collect()
}

#[test]
fn issue_17_a_file_is_a_numbered_line_of_its_tab() {
    let mut app = in_rust();
    server(&mut app, &format!("FILE * bob 1234567 {URL} a b.txt"));
    assert_eq!(
        last(&app.tabs[0]),
        "[1] bob sent a b.txt (1.2 MB) — /save 1"
    );
    let other = "http://127.0.0.1:8080/files/ff/empty";
    server(&mut app, &format!("FILE #rust bob 0 {other} empty"));
    assert_eq!(last(&app.tabs[1]), "[2] bob sent empty (0 bytes) — /save 2");
    // The same file again (its URL) keeps its number.
    server(&mut app, &format!("FILE #rust bob 1234567 {URL} a b.txt"));
    assert_eq!(
        last(&app.tabs[1]),
        "[1] bob sent a b.txt (1.2 MB) — /save 1"
    );
    // A file counts as unread in a tab not shown, as a message does.
    assert_eq!(app.tabs[0].unread, 1);
    enter(&mut app, "/ignore bob");
    let before = shown(&app.tabs[0]).len();
    server(&mut app, "FILE * bob 3 http://127.0.0.1:8080/files/ee/x x");
    assert_eq!(shown(&app.tabs[0]).len(), before);
    enter(&mut app, "/unignore bob");
    // With `CAP files`, a `FILE` without a target is to us alone: the sender's tab.
    server(&mut app, "FILE bob 5 http://127.0.0.1:8080/files/dd/y y");
    let direct = app
        .tabs
        .iter()
        .position(|tab| tab.kind == TabKind::Direct(Nick::parse("bob").unwrap()))
        .expect("bob's tab");
    assert_eq!(
        last(&app.tabs[direct]),
        "[3] bob sent y (5 bytes) — /save 3"
    );
    // An `OK FILE` that answers no upload of ours is shown as it came.
    server(&mut app, "OK FILE http://h/files/1/x");
    assert_eq!(
        last(&app.tabs[app.current]),
        "--- server: OK FILE http://h/files/1/x"
    );
}

#[test]
fn issue_17_a_file_from_history_is_numbered_as_a_live_one() {
    let mut app = online();
    enter(&mut app, "/join #rust");
    let effects = server(&mut app, "OK JOIN #rust");
    assert_eq!(sent(&effects), ["HISTORY #rust 50"]);
    server(
        &mut app,
        &format!("HIST #rust 7 2026-12-06T11:59:00.000Z FILE #rust bob 12 {URL} a b.txt"),
    );
    server(&mut app, "END HISTORY #rust 1");
    let index = tab_index(&app, "#rust");
    assert!(
        shown(&app.tabs[index]).contains(&"[1] bob sent a b.txt (12 bytes) — /save 1".to_owned()),
        "{:?}",
        shown(&app.tabs[index])
    );
    // The same line live, with its id: shown once, same number.
    let before = shown(&app.tabs[index]).len();
    server(&mut app, &format!("@7 FILE #rust bob 12 {URL} a b.txt"));
    assert_eq!(shown(&app.tabs[index]).len(), before);
    assert_eq!(app.offers.last(), Some(1));
}

#[test]
fn issue_17_send_asks_between_two_pings_puts_the_bytes_and_tells_the_outcome() {
    let mut app = online();
    let id = send(&mut app, "~/photo.png");
    assert_eq!(
        opened(&mut app, id, "photo.png", 1_200_000),
        [
            format!("PING chat-upload-{id}"),
            "UPLOAD * 1200000 photo.png".to_owned(),
            format!("PING chat-upload-{id}-end"),
        ]
    );
    assert!(server(&mut app, &format!("PONG chat-upload-{id}")).is_empty());
    let url = "http://127.0.0.1:8080/upload/00ff";
    assert!(server(&mut app, &format!("OK UPLOAD {url}")).is_empty());
    let effects = server(&mut app, &format!("PONG chat-upload-{id}-end"));
    assert_eq!(
        jobs(&effects),
        [&FileJob::Upload {
            id,
            path: PathBuf::from("/home/alice/photo.png"),
            url: url.to_owned(),
            size: 1_200_000,
        }]
    );
    assert_eq!(last(&app.tabs[0]), "--- sending photo.png (1.2 MB): 0 %");
    let lines = shown(&app.tabs[0]).len();
    // Progress rewrites the one line; a message in between stays where it is.
    server(&mut app, "ALL bob look");
    file_event(&mut app, FileEvent::Progress { id, done: 480_000 });
    let tab = shown(&app.tabs[0]);
    assert_eq!(tab.len(), lines + 1);
    assert_eq!(tab[lines - 1], "--- sending photo.png (1.2 MB): 40 %");
    file_event(
        &mut app,
        FileEvent::Progress {
            id,
            done: 1_200_000,
        },
    );
    assert!(
        file_event(
            &mut app,
            FileEvent::Uploaded {
                id,
                result: Ok(None)
            }
        )
        .is_empty()
    );
    server(
        &mut app,
        "OK FILE http://127.0.0.1:8080/files/abcd/photo.png",
    );
    let tab = shown(&app.tabs[0]);
    assert_eq!(tab[lines - 1], "--- sending photo.png (1.2 MB): 100 %");
    assert_eq!(tab.last().unwrap(), "-!- sent photo.png (1.2 MB)");
}

#[test]
fn issue_17_a_refused_upload_is_told_in_its_tab_with_the_servers_reason() {
    let mut app = in_rust();
    // A `MSG` just before the upload, whose refusal comes before the upload's first `PONG`.
    enter(&mut app, "/msg nobody hi");
    app.switch_to(1);
    let id = send(&mut app, "big.iso");
    assert_eq!(
        opened(&mut app, id, "big.iso", 30_000_000)[1],
        "UPLOAD #rust 30000000 big.iso"
    );
    // The user goes to the lobby meanwhile; the answer is still the room's.
    app.switch_to(0);
    server(&mut app, "ERR NO_SUCH_NICK no one called nobody is online");
    assert_eq!(
        last(&app.tabs[0]),
        "!!! no one called nobody is online (NO_SUCH_NICK)"
    );
    server(&mut app, &format!("PONG chat-upload-{id}"));
    let before = shown(&app.tabs[0]);
    server(
        &mut app,
        "ERR FILE_TOO_LARGE a file has at most 26214400 bytes on this server, not 30000000",
    );
    let effects = server(&mut app, &format!("PONG chat-upload-{id}-end"));
    assert!(effects.is_empty(), "{effects:?}");
    assert_eq!(shown(&app.tabs[0]), before);
    assert_eq!(
        last(&app.tabs[1]),
        "!!! big.iso not sent: a file has at most 26214400 bytes on this server, not 30000000 \
         (FILE_TOO_LARGE)"
    );
}

#[test]
fn issue_17_send_goes_to_the_tabs_room_or_person_and_needs_a_connection_and_a_good_name() {
    let mut app = in_rust();
    server(&mut app, "MSG bob hi");
    let bob = tab_index(&app, "bob");
    app.switch_to(bob);
    let id = send(&mut app, "a.txt");
    assert_eq!(opened(&mut app, id, "a.txt", 3)[1], "UPLOAD bob 3 a.txt");
    // A name the protocol refuses is refused here, and nothing is sent.
    let id = send(&mut app, "odd");
    assert!(opened(&mut app, id, "bad\u{202e}name", 3).is_empty());
    assert!(last(app.tab()).starts_with("!!! bad\u{202e}name not sent: the file name has U+202E"));
    let id = send(&mut app, "gone.txt");
    let effects = file_event(
        &mut app,
        FileEvent::Opened {
            id,
            result: Err("no such file or folder".to_owned()),
        },
    );
    assert!(effects.is_empty());
    assert_eq!(
        last(app.tab()),
        "!!! gone.txt not sent: no such file or folder"
    );
    net(
        &mut app,
        NetEvent::Lost {
            reason: "reset".to_owned(),
            retry_in: std::time::Duration::from_secs(1),
        },
    );
    let effects = enter(&mut app, "/send a.txt");
    assert!(jobs(&effects).is_empty());
    assert_eq!(last(app.tab()), "!!! not connected: nothing was sent");
}

#[test]
fn issue_17_save_downloads_a_numbered_file_and_tells_where_it_went() {
    let mut app = online();
    let effects = enter(&mut app, "/save 1");
    assert!(jobs(&effects).is_empty());
    assert_eq!(
        last(app.tab()),
        "!!! no file [1]: nobody has sent a file yet"
    );
    server(&mut app, &format!("FILE bob 12 {URL} ../../a b.txt"));
    let effects = enter(&mut app, "/save 2");
    assert!(jobs(&effects).is_empty());
    assert_eq!(
        last(app.tab()),
        "!!! no file [2]: the files so far are [1] to [1]"
    );
    let effects = enter(&mut app, "/save 1 ~/Downloads");
    let [
        FileJob::Download {
            id,
            url,
            size,
            name,
            to,
        },
    ] = jobs(&effects)[..]
    else {
        panic!("{effects:?}");
    };
    // Only the base name of what the server says is used.
    assert_eq!(
        (url.as_str(), *size, name.as_deref(), to.as_deref()),
        (URL, 12, Some("a b.txt"), Some("~/Downloads"))
    );
    let id = *id;
    assert_eq!(last(app.tab()), "--- saving ../../a b.txt (12 bytes): 0 %");
    file_event(&mut app, FileEvent::Progress { id, done: 6 });
    assert_eq!(last(app.tab()), "--- saving ../../a b.txt (12 bytes): 50 %");
    let saved = PathBuf::from("/home/alice/Downloads/a b (1).txt");
    file_event(
        &mut app,
        FileEvent::Saved {
            id,
            result: Ok(saved),
        },
    );
    let tab = shown(app.tab());
    assert_eq!(
        tab[tab.len() - 2..],
        [
            "--- saving ../../a b.txt (12 bytes): 100 %",
            "-!- saved [1] ../../a b.txt as /home/alice/Downloads/a b (1).txt"
        ]
    );
}

#[test]
fn issue_17_a_failed_save_and_a_name_that_is_no_file_name() {
    let mut app = online();
    server(&mut app, &format!("FILE bob 12 {URL} .."));
    let effects = enter(&mut app, "/save 1");
    assert!(jobs(&effects).is_empty());
    assert_eq!(
        last(app.tab()),
        "!!! file [1] is named \"..\", which is no file name here: /save 1 PATH names it"
    );
    let effects = enter(&mut app, "/save 1 mine.txt");
    let [FileJob::Download { id, name: None, .. }] = jobs(&effects)[..] else {
        panic!("{effects:?}");
    };
    let id = *id;
    file_event(&mut app, FileEvent::Progress { id, done: 3 });
    let why = "the server sent 3 bytes, not the 12 announced".to_owned();
    file_event(
        &mut app,
        FileEvent::Saved {
            id,
            result: Err(why),
        },
    );
    let tab = shown(app.tab());
    assert_eq!(
        tab[tab.len() - 2..],
        [
            "--- saving .. (12 bytes): stopped at 25 %",
            "!!! [1] .. not saved: the server sent 3 bytes, not the 12 announced"
        ]
    );
}
