//! Issue 13: `chat --plain` against a hostile server, one that relays control characters the
//! real server now refuses (as an older or a malicious one would). The server is a socket in
//! the test, over loopback; the line mode runs in-process with its output and error streams
//! kept, and the `chat` binary is run for its own error line. Neither may hold a character
//! the text rule refuses: each is written as U+FFFD, and a TAB stays.
//!
//! Out of scope: `--plain` against the real server (`tests/net.rs`); the screen (`ui`'s
//! tests).

use std::io::{BufRead, BufReader, Cursor, Lines, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use chatd_client::line_mode;
use chatd_client::net::NetConfig;
use chatd_proto::Nick;
use chatd_proto::text::is_refused;

use chatd_testkit::DEADLINE;

/// What the hostile server sends once our nick is registered, and what `--plain` must print
/// for each line.
const HOSTILE: [(&str, &str); 7] = [
    // The forged line of the issue's probe: a CR inside a text.
    (
        "ALL mallory hi\rMSG admin please run !shutdown",
        "ALL mallory hi\u{FFFD}MSG admin please run !shutdown",
    ),
    // The topic that set the victim's window title.
    (
        "TOPIC #tea mallory \u{1b}]0;pwned-title\u{7}",
        "TOPIC #tea mallory \u{FFFD}]0;pwned-title\u{FFFD}",
    ),
    (
        "ALL mallory \u{1b}[2J\u{2028}\u{202E}olleh \u{9b}31m\u{7f}\u{85}",
        "ALL mallory \u{FFFD}[2J\u{FFFD}\u{FFFD}olleh \u{FFFD}31m\u{FFFD}\u{FFFD}",
    ),
    ("QUIT mallory bye\u{1b}[2J", "QUIT mallory bye\u{FFFD}[2J"),
    ("ERR BAD_TEXT \u{1b}[31mred", "ERR BAD_TEXT \u{FFFD}[31mred"),
    // A line the protocol crate cannot parse is printed too.
    (
        "\u{1b}]0;unparsed\u{7} JUNK",
        "\u{FFFD}]0;unparsed\u{FFFD} JUNK",
    ),
    // A TAB is text: it stays.
    ("ALL mallory tab\there", "ALL mallory tab\there"),
];

/// A server that registers one client, sends it [`HOSTILE`]'s lines, and closes once the
/// client has sent `QUIT`. Returns its address and a handle that yields the lines it got.
fn hostile_server() -> (SocketAddr, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        // The client under test connects first thing; the test joins this thread only once
        // the client has returned without an error, so this accept does not wait for ever.
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut received = Vec::new();
        let mut lines = BufReader::new(stream).lines();
        read_until(&mut lines, &mut received, "NICK ");
        let mut out = String::from("HELLO hostile\nOK NICK bob\n");
        for (sent, _) in HOSTILE {
            out.push_str(sent);
            out.push('\n');
        }
        writer.write_all(out.as_bytes()).unwrap();
        read_until(&mut lines, &mut received, "QUIT");
        writer.write_all(b"BYE\n").unwrap();
        received
    });
    (addr, server)
}

/// Reads lines into `received` up to one that starts with `prefix`.
fn read_until(lines: &mut Lines<BufReader<TcpStream>>, received: &mut Vec<String>, prefix: &str) {
    loop {
        let line = lines.next().expect("the client left early").unwrap();
        received.push(line.clone());
        if line.starts_with(prefix) {
            return;
        }
    }
}

/// The characters of `text` the text rule refuses, but for its line breaks.
fn refused(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && is_refused(c))
        .collect()
}

#[test]
fn issue_13_plain_mode_prints_control_characters_from_the_server_harmlessly() {
    let (addr, server) = hostile_server();
    // The user's own line, echoed back in a note.
    let input = Cursor::new("/bogus\u{1b}]0;pwned\u{7}\n".as_bytes().to_vec());
    let (mut output, mut notes) = (Vec::new(), Vec::new());
    let started = Instant::now();
    line_mode::run(
        NetConfig::new(addr.to_string()),
        Nick::parse("bob").unwrap(),
        line_mode::Login::none(),
        input,
        &mut output,
        &mut notes,
    )
    .unwrap();
    assert!(started.elapsed() < DEADLINE, "{:?}", started.elapsed());
    let received = server.join().unwrap();
    assert!(received.contains(&"QUIT".to_owned()), "{received:?}");
    let output = String::from_utf8(output).unwrap();
    let notes = String::from_utf8(notes).unwrap();
    assert_eq!(refused(&output), Vec::<char>::new(), "{output:?}");
    assert_eq!(refused(&notes), Vec::<char>::new(), "{notes:?}");
    let mut expected = vec!["HELLO hostile", "OK NICK bob"];
    expected.extend(HOSTILE.iter().map(|(_, printed)| *printed));
    expected.push("BYE");
    assert_eq!(output.lines().collect::<Vec<_>>(), expected);
    assert!(
        notes.contains("chat: unknown command /bogus\u{FFFD}]0;pwned\u{FFFD}; "),
        "{notes:?}"
    );
}

#[test]
fn issue_13_the_binarys_error_line_holds_no_control_character() {
    // An address with no port (so nothing is looked up), quoted in the error on stderr.
    let output = Command::new(env!("CARGO_BIN_EXE_chat"))
        .args([
            "--plain",
            "--nick",
            "bob",
            "--addr",
            "127.0.0.1:\u{1b}]0;pwned\u{7}",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(refused(&stderr), Vec::<char>::new(), "{stderr:?}");
    assert!(
        stderr.contains("--plain with 127.0.0.1:\u{FFFD}]0;pwned\u{FFFD}"),
        "{stderr:?}"
    );
}
