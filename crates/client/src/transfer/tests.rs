//! Tests of the file threads against a one-request HTTP server of their own (the end-to-end
//! tests use chatd's): the file looked at, the `PUT` streamed with its length, a download
//! saved under a free name and never over a file, the failures told in words and leaving
//! nothing behind.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::time::Duration;

use crossbeam_channel::Receiver;

use std::os::unix::fs::PermissionsExt;

use super::*;

/// A server for one HTTP exchange: answers `status` with `body`, and hands back the request
/// it got (head and body).
fn one_exchange(status: &'static str, body: Vec<u8>) -> (String, Receiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (got, request) = crossbeam_channel::bounded(1);
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            head.push_str(&line);
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        let length = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length: "))
            .map_or(0, |n| n.trim().parse::<usize>().unwrap());
        let mut sent = vec![0; length];
        reader.read_exact(&mut sent).unwrap();
        let mut stream = stream;
        write!(
            stream,
            "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .unwrap();
        stream.write_all(&body).unwrap();
        got.send((head, sent)).unwrap();
    });
    (format!("http://{addr}/x/photo.png"), request)
}

/// File threads whose events are collected, and the events' receiver.
fn transfers() -> (Transfers, Receiver<FileEvent>) {
    let (report, events) = crossbeam_channel::unbounded();
    (
        Transfers::new(move |event| report.send(event).is_ok(), &Trust::system()),
        events,
    )
}

/// Events until the one that ends a job, which is returned with the progress before it.
fn until_end(events: &Receiver<FileEvent>) -> (Vec<u64>, FileEvent) {
    let mut progress = Vec::new();
    loop {
        match events.recv_timeout(Duration::from_secs(10)).unwrap() {
            FileEvent::Progress { done, .. } => progress.push(done),
            end => return (progress, end),
        }
    }
}

fn names_in(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn issue_17_the_file_to_send_is_looked_at_with_a_tilde_for_home() {
    let home = tempfile::tempdir().unwrap();
    fs::write(home.path().join("cat pic.png"), b"12345").unwrap();
    let file = look_at(&expand_home("~/cat pic.png", Some(home.path()))).unwrap();
    assert_eq!(
        file,
        LocalFile {
            path: home.path().join("cat pic.png"),
            name: "cat pic.png".to_owned(),
            size: 5,
        }
    );
    let missing = look_at(&home.path().join("nope")).unwrap_err();
    assert_eq!(missing, "no such file or folder");
    let folder = look_at(home.path()).unwrap_err();
    assert_eq!(folder, "it is a folder; /send sends one file");
}

#[test]
fn issue_17_a_download_goes_to_a_folder_under_its_name_or_to_the_path_given() {
    let home = tempfile::tempdir().unwrap();
    let folder = home.path().to_path_buf();
    let sub = folder.join("sub");
    fs::create_dir(&sub).unwrap();
    let home_of = Some(folder.as_path());
    let at = |to: Option<&str>, name: Option<&str>| destination(to, name, home_of);
    // Where a file was saved is told from the root.
    let here = std::env::current_dir().unwrap();
    assert_eq!(
        at(None, Some("a.png")),
        Ok((here.clone(), "a.png".to_owned()))
    );
    assert_eq!(
        at(Some("~/sub"), Some("a.png")),
        Ok((sub.clone(), "a.png".to_owned()))
    );
    assert_eq!(
        at(Some("~/sub/"), Some("a.png")),
        Ok((sub.clone(), "a.png".to_owned()))
    );
    assert_eq!(
        at(Some("~/sub/b.png"), Some("a.png")),
        Ok((sub.clone(), "b.png".to_owned()))
    );
    assert_eq!(at(Some("b.png"), None), Ok((here, "b.png".to_owned())));
    assert!(
        at(Some("~/none/"), Some("a.png"))
            .unwrap_err()
            .starts_with("no folder")
    );
    assert!(
        at(Some("~/none/b.png"), Some("a.png"))
            .unwrap_err()
            .starts_with("no folder")
    );
    let unnamed = at(Some("~/sub"), None).unwrap_err();
    assert!(unnamed.contains("give one"), "{unnamed}");
}

#[test]
fn issue_17_an_upload_is_a_put_of_the_file_with_its_length() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("photo.png");
    let bytes: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();
    fs::write(&path, &bytes).unwrap();
    let download = "http://127.0.0.1:8080/files/ab/photo.png";
    let (url, request) = one_exchange("201 Created", format!("{download}\n").into_bytes());
    let (mut transfers, events) = transfers();
    transfers.start(FileJob::Upload {
        id: 7,
        path,
        url,
        size: bytes.len() as u64,
    });
    let (progress, end) = until_end(&events);
    assert_eq!(
        end,
        FileEvent::Uploaded {
            id: 7,
            result: Ok(Some(download.to_owned()))
        }
    );
    assert_eq!(progress.last(), Some(&(bytes.len() as u64)));
    assert!(
        progress.windows(2).all(|pair| pair[0] < pair[1]),
        "{progress:?}"
    );
    let (head, sent) = request.recv().unwrap();
    assert!(head.starts_with("PUT /x/photo.png HTTP/1.1\r\n"), "{head}");
    assert!(head.contains("content-length: 200000\r\n"), "{head}");
    assert!(sent == bytes);
    transfers.stop();
}

#[test]
fn issue_17_a_refused_upload_is_told_in_words() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("a.txt");
    fs::write(&path, b"abc").unwrap();
    let (url, _request) = one_exchange("413 Payload Too Large", b"over the limit\n".to_vec());
    let (mut transfers, events) = transfers();
    transfers.start(FileJob::Upload {
        id: 1,
        path,
        url,
        size: 3,
    });
    let (_, end) = until_end(&events);
    assert_eq!(
        end,
        FileEvent::Uploaded {
            id: 1,
            result: Err("over the limit (HTTP 413 Payload Too Large)".to_owned())
        }
    );
    transfers.stop();
}

#[test]
fn issue_17_a_download_never_replaces_a_file() {
    let folder = tempfile::tempdir().unwrap();
    fs::write(folder.path().join("photo.png"), b"mine").unwrap();
    fs::write(folder.path().join("photo (1).png"), b"mine too").unwrap();
    let (url, request) = one_exchange("200 OK", b"theirs".to_vec());
    let (mut transfers, events) = transfers();
    transfers.start(FileJob::Download {
        id: 3,
        url,
        size: 6,
        name: Some("photo.png".to_owned()),
        to: Some(folder.path().to_str().unwrap().to_owned()),
    });
    let (_, end) = until_end(&events);
    let saved = folder.path().join("photo (2).png");
    assert_eq!(
        end,
        FileEvent::Saved {
            id: 3,
            result: Ok(saved.clone())
        }
    );
    assert!(
        request
            .recv()
            .unwrap()
            .0
            .starts_with("GET /x/photo.png HTTP/1.1\r\n")
    );
    assert_eq!(fs::read(&saved).unwrap(), b"theirs");
    assert_eq!(fs::read(folder.path().join("photo.png")).unwrap(), b"mine");
    // Not private as a temporary file is: as any file the user makes there.
    let mode = |name: &str| {
        let metadata = fs::metadata(folder.path().join(name)).unwrap();
        metadata.permissions().mode() & 0o777
    };
    assert_eq!(mode("photo (2).png"), mode("photo.png"));
    assert_eq!(
        names_in(folder.path()),
        ["photo (1).png", "photo (2).png", "photo.png"]
    );
    transfers.stop();
}

#[test]
fn issue_17_a_failed_download_leaves_nothing_behind() {
    let folder = tempfile::tempdir().unwrap();
    let to = Some(folder.path().to_str().unwrap().to_owned());
    let (mut transfers, events) = transfers();
    // Fewer bytes than announced.
    let (url, _request) = one_exchange("200 OK", b"abc".to_vec());
    transfers.start(FileJob::Download {
        id: 1,
        url,
        size: 10,
        name: Some("a.txt".to_owned()),
        to: to.clone(),
    });
    let (_, end) = until_end(&events);
    assert_eq!(
        end,
        FileEvent::Saved {
            id: 1,
            result: Err("the server sent 3 bytes, not the 10 announced".to_owned())
        }
    );
    let (url, _request) = one_exchange("404 Not Found", Vec::new());
    transfers.start(FileJob::Download {
        id: 2,
        url,
        size: 10,
        name: Some("a.txt".to_owned()),
        to,
    });
    let (_, end) = until_end(&events);
    let FileEvent::Saved {
        id: 2,
        result: Err(why),
    } = end
    else {
        panic!("{end:?}");
    };
    assert!(why.starts_with("the server has no such file"), "{why}");
    assert!(why.ends_with("(HTTP 404 Not Found)"), "{why}");
    assert!(
        names_in(folder.path()).is_empty(),
        "{:?}",
        names_in(folder.path())
    );
    transfers.stop();
}
