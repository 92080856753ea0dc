//! Unit tests of the file lines in `reply` (issue 17): `OK UPLOAD`, `OK FILE`, `FILE` and
//! `FILE #room`, each exactly as protocol.md shows it, with and without an id, and the
//! errors of `UPLOAD`.

use super::*;
use crate::caps::{CapSet, Capability};
use crate::file_name::FileNameFault;

fn nick(text: &str) -> Nick {
    Nick::parse(text).unwrap()
}

const URL: &str = "http://127.0.0.1:8080/files/0123456789abcdef0123456789abcdef/a%20b.txt";

#[test]
fn issue_17_file_lines_read_as_documented() {
    let tea = Room::parse("#tea").unwrap();
    let file = |name: &str| Reply::File {
        from: nick("alice"),
        size: 1024,
        url: URL.to_owned(),
        name: name.to_owned(),
    };
    for (line, reply, carries_id) in [
        (
            "OK UPLOAD http://127.0.0.1:8080/upload/00ff",
            Reply::OkUpload {
                url: "http://127.0.0.1:8080/upload/00ff".to_owned(),
            },
            false,
        ),
        (
            &format!("OK FILE {URL}"),
            Reply::OkFile {
                url: URL.to_owned(),
            },
            false,
        ),
        (
            &format!("FILE alice 1024 {URL} a b.txt"),
            file("a b.txt"),
            true,
        ),
        (
            &format!("FILE alice 1024 {URL} a  b.txt "),
            file("a  b.txt "),
            true,
        ),
        (
            &format!("FILE #tea alice 0 {URL} été.png"),
            Reply::RoomFile {
                room: tea,
                from: nick("alice"),
                size: 0,
                url: URL.to_owned(),
                name: "été.png".to_owned(),
            },
            true,
        ),
    ] {
        assert_eq!(Reply::parse(line), Ok(reply.clone()), "{line}");
        assert_eq!(reply.to_string(), line);
        assert_eq!(reply.carries_id(), carries_id, "{line}");
        assert_eq!(reply.capability(), None, "{line}");
        let stamped = format!("@42 {line}");
        assert_eq!(
            Reply::parse_with_id(&stamped).is_ok(),
            carries_id,
            "{stamped}"
        );
    }
}

#[test]
fn issue_17_a_lobby_file_says_so_to_a_client_with_cap_files_only() {
    let lobby = Reply::LobbyFile {
        from: nick("alice"),
        size: 7,
        url: URL.to_owned(),
        name: "notes.txt".to_owned(),
    };
    let line = format!("FILE * alice 7 {URL} notes.txt");
    assert_eq!(Reply::parse(&line), Ok(lobby.clone()));
    assert_eq!(lobby.to_string(), line);
    assert!(lobby.carries_id());
    assert_eq!(lobby.capability(), Some(Capability::Files));
    let v1 = Reply::File {
        from: nick("alice"),
        size: 7,
        url: URL.to_owned(),
        name: "notes.txt".to_owned(),
    };
    assert_eq!(lobby.without_capability(), Some(v1.clone()));
    assert_eq!(lobby.form_for(CapSet::NONE).as_deref(), Some(&v1));
    let with = CapSet::NONE.with(Capability::Files);
    assert_eq!(lobby.form_for(with).as_deref(), Some(&lobby));
    // A nick is never `*`: a direct file's line cannot be read as a lobby one.
    assert!(Nick::parse("*").is_err());
}

#[test]
fn issue_17_malformed_file_lines_are_refused() {
    for bad in [
        "OK UPLOAD",
        "OK UPLOAD a b",
        "OK FILE",
        "FILE",
        "FILE alice",
        "FILE alice 12",
        "FILE alice 12 http://x/files/1",
        "FILE alice 12 http://x/files/1 ",
        "FILE alice -1 http://x/files/1 a",
        "FILE alice 1k http://x/files/1 a",
        "FILE alice 18446744073709551616 http://x/files/1 a",
        "FILE 1alice 12 http://x/files/1 a",
        "FILE #tea alice 12 http://x/files/1",
        "FILE # alice 12 http://x/files/1 a",
    ] {
        assert!(Reply::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn issue_17_upload_errors_have_their_codes() {
    for (error, code, text) in [
        (
            ProtocolError::FileTooLarge {
                size: 30_000_000,
                max: 26_214_400,
            },
            ErrorCode::FileTooLarge,
            "a file has at most 26214400 bytes on this server, not 30000000",
        ),
        (
            ProtocolError::Quota { free: 1000 },
            ErrorCode::Quota,
            "the server has room for 1000 more bytes of files now; try a smaller file, or later",
        ),
        (
            ProtocolError::UploadsWaiting { max: 4 },
            ErrorCode::Quota,
            "4 of your uploads wait for their bytes already; send those first",
        ),
        (
            ProtocolError::BadFileName(FileNameFault::Dots),
            ErrorCode::BadFileName,
            "a file name cannot be . or ..",
        ),
        (
            ProtocolError::NoFiles,
            ErrorCode::NoFiles,
            "this server takes no files: its web listener is off",
        ),
    ] {
        assert_eq!(error.code(), code);
        let reply = Reply::from(&error);
        let line = format!("ERR {} {text}", code.as_str());
        assert_eq!(reply.to_string(), line);
        assert_eq!(Reply::parse(&line), Ok(reply));
    }
}
