//! What the file tests (issue 17) share: a server with its web listener, an HTTP client
//! (`ureq`, with no status taken for an error), `UPLOAD` and its `PUT`, raw requests for
//! the bodies a real client never sends, random contents, and the files' folder as a list.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Config, DEADLINE, TestClient, TestServer};

/// A server with its web listener, its config then adjusted by `adjust`.
pub fn server(adjust: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::with_web(adjust)
}

/// An HTTP client whose every answer is read, errors included, within the deadline.
pub fn http() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(DEADLINE))
        .build()
        .into()
}

/// An HTTP answer: its status, headers and body.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn answer(mut response: ureq::http::Response<ureq::Body>) -> Answer {
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .unwrap();
    Answer {
        status: response.status().as_u16(),
        headers,
        body,
    }
}

/// `PUT url` with `bytes` as the body.
pub fn put(url: &str, bytes: &[u8]) -> Answer {
    answer(http().put(url).send(bytes).unwrap())
}

/// `GET url`.
pub fn get(url: &str) -> Answer {
    answer(http().get(url).call().unwrap())
}

/// `HEAD url`.
pub fn head(url: &str) -> Answer {
    answer(http().head(url).call().unwrap())
}

/// Sends `UPLOAD <target> <size> <name>` and returns the upload URL of its `OK UPLOAD`.
pub fn announce(client: &mut TestClient, target: &str, size: usize, name: &str) -> String {
    client.send(&format!("UPLOAD {target} {size} {name}"));
    let line = client.recv();
    let url = line
        .strip_prefix("OK UPLOAD ")
        .unwrap_or_else(|| panic!("expected OK UPLOAD, got {line:?}"));
    url.to_owned()
}

/// Announces `bytes` as `name` for `target`, sends them, and returns the download URL from
/// the sender's `OK FILE`, after checking the `PUT`'s answer names it too.
pub fn send_file(client: &mut TestClient, target: &str, bytes: &[u8], name: &str) -> String {
    let url = announce(client, target, bytes.len(), name);
    let answer = put(&url, bytes);
    assert_eq!(answer.status, 201, "{}", answer.text());
    let line = client.recv();
    let download = line
        .strip_prefix("OK FILE ")
        .unwrap_or_else(|| panic!("expected OK FILE, got {line:?}"));
    assert_eq!(answer.text(), format!("{download}\n"));
    download.to_owned()
}

/// `count` bytes that differ from run to run and from one call to the next.
pub fn random_bytes(count: usize) -> Vec<u8> {
    use std::hash::{BuildHasher, RandomState};
    let mut state = RandomState::new().hash_one(count) | 1;
    (0..count)
        .map(|_| {
            // xorshift64: enough to tell one file's bytes from another's.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// The parts of a `FILE` line: (sender, size, URL, name), after its room if it has one.
pub fn file_line(line: &str) -> (String, usize, String, String) {
    let rest = line
        .strip_prefix("FILE ")
        .unwrap_or_else(|| panic!("expected a FILE line, got {line:?}"));
    let rest = match rest.starts_with('#') {
        true => rest.split_once(' ').unwrap().1,
        false => rest,
    };
    let mut words = rest.splitn(4, ' ');
    let mut next = || words.next().unwrap().to_owned();
    let (from, size, url, name) = (next(), next(), next(), next());
    (from, size.parse().unwrap(), url, name)
}

/// Sends `request` (its head, and whatever body it has) on a connection of its own and
/// returns everything the server answers up to its close, or up to a reset after that.
pub fn raw(web: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(web).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(request).unwrap();
    read_to_close(&mut stream)
}

/// What the server answers on `stream` up to its close.
pub fn read_to_close(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(read) => answer.extend_from_slice(&buffer[..read]),
            // A close with unread bytes resets: what came before is the answer.
            Err(error) if error.kind() == ErrorKind::ConnectionReset => break,
            Err(error) => panic!("reading the answer: {error} (after {answer:?})"),
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// The head of a `PUT` of `url`'s path to `web`, with the headers given (each ending in
/// `\r\n`).
pub fn put_head(url: &str, headers: &str) -> String {
    let path = &url[url.find("/upload/").unwrap()..];
    format!("PUT {path} HTTP/1.1\r\nHost: chatd\r\n{headers}\r\n")
}

/// The names in `dir` and below, as paths relative to it, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut todo = vec![dir.to_owned()];
    while let Some(at) = todo.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            names.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                todo.push(path);
            }
        }
    }
    names.sort();
    names
}

/// Polls `done` until it holds, at most [`DEADLINE`]: for what only the clock brings about
/// (an expiry), which no protocol line announces.
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + DEADLINE;
    while !done() {
        assert!(
            Instant::now() < end,
            "{what} did not happen within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
