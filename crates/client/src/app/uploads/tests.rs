//! Tests of [`Uploads`]: the lines an upload asks with, the answer between its two `PONG`s
//! (and only there), several uploads at once, `OK FILE` matched, a lost connection.

use std::path::PathBuf;

use super::*;
use chatd_proto::{Nick, Room};

fn file(name: &str, size: u64) -> Result<LocalFile, String> {
    Ok(LocalFile {
        path: PathBuf::from(format!("/home/al/{name}")),
        name: name.to_owned(),
        size,
    })
}

fn reply(line: &str) -> Reply {
    Reply::parse(line).unwrap()
}

/// An upload of `name` to `to` asked for: its id and the lines sent.
fn asked(uploads: &mut Uploads, name: &str, size: u64, to: Target) -> (u64, Vec<String>) {
    let FileJob::Open { id, path } = uploads.send(&format!("~/{name}"), to) else {
        panic!("a /send starts by looking at the file");
    };
    assert_eq!(path, format!("~/{name}"));
    let told = uploads.opened(id, file(name, size), true).unwrap();
    let What::Ask(lines) = told.what else {
        panic!("{told:?}");
    };
    (id, lines)
}

fn tell(taken: Taken) -> Told {
    match taken {
        Taken::Tell(told) => told,
        other => panic!("{other:?}"),
    }
}

#[test]
fn issue_17_an_upload_is_asked_between_two_pings_and_put_once_the_url_comes() {
    let mut uploads = Uploads::default();
    let (id, lines) = asked(&mut uploads, "photo.png", 1200, Target::Lobby);
    assert_eq!(
        lines,
        [
            format!("PING chat-upload-{id}"),
            "UPLOAD * 1200 photo.png".to_owned(),
            format!("PING chat-upload-{id}-end"),
        ]
    );
    assert_eq!(
        uploads.on_reply(&reply(&format!("PONG chat-upload-{id}"))),
        Taken::Quiet
    );
    let url = "http://127.0.0.1:8080/upload/00ff";
    assert_eq!(
        uploads.on_reply(&reply(&format!("OK UPLOAD {url}"))),
        Taken::Quiet
    );
    let told = tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{id}-end"))));
    assert_eq!(
        (told.id, told.to, told.name.as_str()),
        (id, Target::Lobby, "photo.png")
    );
    assert_eq!(
        told.what,
        What::Put(FileJob::Upload {
            id,
            path: PathBuf::from("/home/al/photo.png"),
            url: url.to_owned(),
            size: 1200,
        })
    );
    // Progress is told when the percentage changes.
    assert_eq!(uploads.progress(id, 480).unwrap().what, What::Progress(40));
    assert_eq!(uploads.progress(id, 481), None);
    assert_eq!(uploads.put_ended(id, Ok(None)), None);
    let told = tell(uploads.on_reply(&reply("OK FILE http://127.0.0.1:8080/files/abcd/photo.png")));
    assert_eq!((told.id, told.what), (id, What::Sent));
    assert!(uploads.is_empty());
}

#[test]
fn issue_17_the_pong_without_an_ok_upload_is_a_refusal_told_with_the_err_before_it() {
    let mut uploads = Uploads::default();
    let (id, _) = asked(&mut uploads, "big.iso", 30_000_000, Target::Lobby);
    // An `ERR` before the first `PONG` answers a line sent before the `UPLOAD`: not ours.
    let earlier = reply("ERR NO_SUCH_NICK no one called bob is online");
    assert_eq!(uploads.on_reply(&earlier), Taken::No);
    uploads.on_reply(&reply(&format!("PONG chat-upload-{id}")));
    let refusal =
        reply("ERR FILE_TOO_LARGE a file has at most 26214400 bytes on this server, not 30000000");
    assert_eq!(uploads.on_reply(&refusal), Taken::Quiet);
    let told = tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{id}-end"))));
    assert_eq!(
        told.what,
        What::NotSent(
            "a file has at most 26214400 bytes on this server, not 30000000 (FILE_TOO_LARGE)"
                .to_owned()
        )
    );
    assert!(uploads.is_empty());
    // After the window, an `ERR` is somebody else's again.
    assert_eq!(uploads.on_reply(&refusal), Taken::No);
}

#[test]
fn issue_17_an_older_server_that_knows_no_upload_is_told_as_such() {
    let mut uploads = Uploads::default();
    let (id, _) = asked(&mut uploads, "a.txt", 3, Target::Lobby);
    uploads.on_reply(&reply(&format!("PONG chat-upload-{id}")));
    uploads.on_reply(&reply(
        "ERR UNKNOWN_COMMAND unknown command UPLOAD; try HELP",
    ));
    let told = tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{id}-end"))));
    assert_eq!(
        told.what,
        What::NotSent("this server takes no files (unknown command UPLOAD; try HELP)".to_owned())
    );
}

#[test]
fn issue_17_a_name_the_protocol_refuses_or_no_connection_sends_nothing() {
    let mut uploads = Uploads::default();
    let FileJob::Open { id, .. } = uploads.send("~/x", Target::Lobby) else {
        panic!();
    };
    let told = uploads.opened(id, file("bad\u{1b}name", 3), true).unwrap();
    let What::NotSent(why) = told.what else {
        panic!("{told:?}");
    };
    assert!(
        why.contains("U+001B") && why.ends_with("rename the file to send it"),
        "{why}"
    );
    assert!(uploads.is_empty());
    let FileJob::Open { id, .. } = uploads.send("~/x", Target::Lobby) else {
        panic!();
    };
    let told = uploads.opened(id, file("x", 3), false).unwrap();
    assert_eq!(told.what, What::NotSent("not connected".to_owned()));
    let FileJob::Open { id, .. } = uploads.send("~/gone", Target::Lobby) else {
        panic!();
    };
    let why = "no such file or folder".to_owned();
    let told = uploads.opened(id, Err(why.clone()), true).unwrap();
    assert_eq!(
        (told.name.as_str(), told.what),
        ("~/gone", What::NotSent(why))
    );
    assert!(uploads.is_empty());
}

#[test]
fn issue_17_several_uploads_each_get_their_own_answer() {
    let mut uploads = Uploads::default();
    let bob = Target::Nick(Nick::parse("bob").unwrap());
    let rust = Target::Room(Room::parse("#rust").unwrap());
    let (first, _) = asked(&mut uploads, "a.png", 10, bob.clone());
    let (second, lines) = asked(&mut uploads, "b.png", 20, rust.clone());
    assert_eq!(lines[1], "UPLOAD #rust 20 b.png");
    let (third, _) = asked(&mut uploads, "c.png", 30, Target::Lobby);
    assert!(first < second && second < third);
    // The server answers in order: first's window, second's, third's.
    uploads.on_reply(&reply(&format!("PONG chat-upload-{first}")));
    uploads.on_reply(&reply("OK UPLOAD http://h/upload/1"));
    let told = tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{first}-end"))));
    assert!(
        matches!(told.what, What::Put(FileJob::Upload { ref url, .. }) if url == "http://h/upload/1")
    );
    assert_eq!(told.to, bob);
    uploads.on_reply(&reply(&format!("PONG chat-upload-{second}")));
    uploads.on_reply(&reply(
        "ERR QUOTA 4 of your uploads wait for their bytes already; send those first",
    ));
    let told = tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{second}-end"))));
    assert_eq!(told.to, rust);
    assert!(matches!(told.what, What::NotSent(ref why) if why.ends_with("(QUOTA)")));
    uploads.on_reply(&reply(&format!("PONG chat-upload-{third}")));
    uploads.on_reply(&reply("OK UPLOAD http://h/upload/3"));
    tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{third}-end"))));
    // Both are sending; `OK FILE` names c.png: the third, though the first is older.
    let told = tell(uploads.on_reply(&reply("OK FILE http://h/files/ff/c.png")));
    assert_eq!((told.id, told.what), (third, What::Sent));
    // A name that matches none: the one whose bytes have all gone.
    uploads.progress(first, 10);
    let told = tell(uploads.on_reply(&reply("OK FILE http://h/files/ee/renamed.png")));
    assert_eq!(told.id, first);
    assert!(uploads.is_empty());
    assert_eq!(
        uploads.on_reply(&reply("OK FILE http://h/files/dd/x")),
        Taken::No
    );
    assert_eq!(
        uploads.on_reply(&reply("OK UPLOAD http://h/upload/9")),
        Taken::No
    );
    assert_eq!(uploads.on_reply(&reply("PONG someone-else")), Taken::No);
}

#[test]
fn issue_17_a_failed_put_ends_the_upload_with_its_reason() {
    let mut uploads = Uploads::default();
    let (id, _) = asked(&mut uploads, "a.png", 10, Target::Lobby);
    uploads.on_reply(&reply(&format!("PONG chat-upload-{id}")));
    uploads.on_reply(&reply("OK UPLOAD http://h/upload/1"));
    tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{id}-end"))));
    let why = "the server refused it as too large (HTTP 413 Payload Too Large)".to_owned();
    let told = uploads.put_ended(id, Err(why.clone())).unwrap();
    assert_eq!(told.what, What::NotSent(why));
    assert!(uploads.is_empty());
}

#[test]
fn issue_17_a_lost_connection_loses_the_answers_but_not_the_puts() {
    let mut uploads = Uploads::default();
    let (sending, _) = asked(&mut uploads, "b.png", 10, Target::Lobby);
    let (done, _) = asked(&mut uploads, "c.png", 10, Target::Lobby);
    let (asking, _) = asked(&mut uploads, "a.png", 10, Target::Lobby);
    let FileJob::Open { id: opening, .. } = uploads.send("~/d.png", Target::Lobby) else {
        panic!();
    };
    for id in [sending, done] {
        uploads.on_reply(&reply(&format!("PONG chat-upload-{id}")));
        uploads.on_reply(&reply("OK UPLOAD http://h/upload/x"));
        tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{id}-end"))));
    }
    uploads.on_reply(&reply(&format!("PONG chat-upload-{asking}")));
    assert_eq!(uploads.put_ended(done, Ok(None)), None);
    let lost = || What::NotSent("the connection was lost before the server answered".to_owned());
    let told: Vec<(u64, What)> = uploads
        .connection_lost()
        .into_iter()
        .map(|told| (told.id, told.what))
        .collect();
    assert_eq!(told, [(done, What::Sent), (asking, lost())]);
    // The `PONG` of the old connection that was still due means nothing now.
    assert_eq!(
        uploads.on_reply(&reply(&format!("PONG chat-upload-{asking}-end"))),
        Taken::Quiet
    );
    // The `PUT` under way still ends its upload: no `OK FILE` can come now.
    assert_eq!(
        uploads.put_ended(sending, Ok(None)).unwrap().what,
        What::Sent
    );
    // The file still being looked at is asked on the next connection.
    assert!(matches!(
        uploads
            .opened(opening, file("d.png", 1), true)
            .unwrap()
            .what,
        What::Ask(_)
    ));
}

#[test]
fn issue_17_ok_file_goes_to_the_upload_whose_put_was_answered_with_its_url() {
    let mut uploads = Uploads::default();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (id, _) = asked(&mut uploads, "same.png", 10, Target::Lobby);
        uploads.on_reply(&reply(&format!("PONG chat-upload-{id}")));
        uploads.on_reply(&reply("OK UPLOAD http://h/upload/x"));
        tell(uploads.on_reply(&reply(&format!("PONG chat-upload-{id}-end"))));
        ids.push(id);
    }
    let url = "http://h/files/02/same.png";
    assert_eq!(uploads.put_ended(ids[1], Ok(Some(url.to_owned()))), None);
    let told = tell(uploads.on_reply(&reply(&format!("OK FILE {url}"))));
    assert_eq!((told.id, told.what), (ids[1], What::Sent));
    let told = tell(uploads.on_reply(&reply("OK FILE http://h/files/01/same.png")));
    assert_eq!(told.id, ids[0]);
}
