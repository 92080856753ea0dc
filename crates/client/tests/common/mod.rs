//! What the client's network tests share: [`Client`], the full-screen client as its loop
//! runs it (net and `update`, no screen); [`PlainChat`], `chat --plain` as a child process;
//! and [`Relay`], a TCP relay between a client and the server that a test cuts and holds
//! shut, to take a client away while the server stays up (issue 15).
//!
//! Out of scope: the tests themselves (`net.rs`, `resume.rs`, `accounts.rs`) and the server
//! (`chatd-testkit`).
#![allow(dead_code, reason = "each test binary uses a part of the harness")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chatd_client::app::{App, Conn, Effect, update};
use chatd_client::event::Event;
use chatd_client::net::{Net, NetConfig};
use chatd_client::password::{PASSWORD_ENV, Secret};
use chatd_client::transfer::Transfers;
use chatd_proto::Nick;
use chrono::NaiveTime;
use crossbeam_channel::Receiver;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use chatd_testkit::{DEADLINE, TestServer};

/// One client as the terminal loop runs it: events from `Net` into `update`, effects back
/// out, minus the screen.
pub struct Client {
    pub app: App,
    net: Option<Net>,
    /// The file threads, reporting into the same channel as the network.
    transfers: Option<Transfers>,
    events: Receiver<Event>,
    pub exited: bool,
}

impl Client {
    /// As [`Client::start`], with the password of `nick`'s account given (as `chat
    /// --password-file` gives it).
    pub fn start_with_password(addr: SocketAddr, nick: &str, password: &str) -> Client {
        let mut client = Client::start(addr, nick);
        client.app.remember_password(Secret::new(password));
        client
    }

    pub fn start(addr: SocketAddr, nick: &str) -> Client {
        Client::start_with(NetConfig::new(addr.to_string()), nick)
    }

    /// A client connecting as `config` says (TLS, the roots), with a short back-off: a
    /// restarted server is found again quickly.
    pub fn start_with(config: NetConfig, nick: &str) -> Client {
        let (tx, events) = crossbeam_channel::unbounded();
        let config = NetConfig {
            backoff_initial: Duration::from_millis(50),
            backoff_max: Duration::from_millis(400),
            ..config
        };
        let addr = config.addr.clone();
        let file_events = tx.clone();
        let transfers = Transfers::new(
            move |event| file_events.send(Event::File(event)).is_ok(),
            &config.trust,
        );
        let net = Net::start(config, tx).unwrap();
        let app = App::new(addr, Nick::parse(nick).unwrap(), (80, 24));
        Client {
            app,
            net: Some(net),
            transfers: Some(transfers),
            events,
            exited: false,
        }
    }

    pub fn apply(&mut self, event: Event) {
        let now = NaiveTime::from_hms_opt(12, 0, 0).unwrap();
        for effect in update(&mut self.app, event, now) {
            match effect {
                Effect::Send(line) => {
                    if let Some(net) = &self.net {
                        net.send(line);
                    }
                }
                Effect::Redraw => {}
                Effect::Exit => self.exited = true,
                Effect::Disconnect => {
                    if let Some(net) = self.net.take() {
                        net.stop();
                    }
                }
                Effect::File(job) => {
                    if let Some(transfers) = &mut self.transfers {
                        transfers.start(job);
                    }
                }
            }
        }
    }

    /// Handles events until `done` holds; fails the test at the deadline.
    pub fn until(&mut self, what: &str, done: impl Fn(&Client) -> bool) {
        let end = Instant::now() + DEADLINE;
        while !done(self) {
            match self.events.recv_deadline(end) {
                Ok(event) => self.apply(event),
                Err(_) => panic!(
                    "{}: no {what} within {DEADLINE:?}; lobby: {:?}",
                    self.app.nick,
                    texts(&self.app, 0)
                ),
            }
        }
    }

    pub fn online(&mut self) {
        self.until("registration", |c| c.app.conn == Conn::Online);
    }

    /// Types a line and presses Enter.
    pub fn enter(&mut self, line: &str) {
        for c in line.chars() {
            self.apply(Event::Key(KeyEvent::new(
                KeyCode::Char(c),
                KeyModifiers::NONE,
            )));
        }
        self.apply(Event::Key(KeyEvent::new(
            KeyCode::Enter,
            KeyModifiers::NONE,
        )));
    }

    pub fn users(&self) -> Vec<&str> {
        self.app.users.iter().map(Nick::as_str).collect()
    }

    pub fn tab_of(&self, label: &str) -> Option<usize> {
        self.app.tabs.iter().position(|t| t.label() == label)
    }

    pub fn has_line(&self, tab: &str, line: &str) -> bool {
        self.tab_of(tab)
            .is_some_and(|i| texts(&self.app, i).iter().any(|l| l == line))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(net) = self.net.take() {
            net.stop();
        }
        if let Some(transfers) = self.transfers.take() {
            transfers.stop();
        }
    }
}

/// Makes `nick` an account with `password`, and leaves: the nick is free, but protected.
pub fn register(server: &TestServer, nick: &str, password: &str) {
    let mut owner = server.client(nick);
    owner.send(&format!("REGISTER {password}"));
    owner.expect(&format!("OK REGISTER {nick}"));
    owner.send("QUIT");
    owner.expect("BYE");
    owner.expect_closed();
}

/// A tab's lines as `<from> text`, `*from* text`, `-!- notice`, `!!! error`, `--- info`.
pub fn texts(app: &App, tab: usize) -> Vec<String> {
    app.tabs[tab]
        .lines()
        .iter()
        .map(|line| line.body.to_string())
        .collect()
}

/// `chat --plain` as a child process: stdin written by the test, stdout and stderr read line
/// by line with deadlines.
pub struct PlainChat {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    pub stdout: Receiver<String>,
    pub stderr: Receiver<String>,
    readers: Vec<JoinHandle<()>>,
}

impl PlainChat {
    pub fn spawn(addr: SocketAddr, nick: &str) -> PlainChat {
        PlainChat::spawn_with(addr, nick, &[], None)
    }

    /// `chat --plain` with more flags, and `CHAT_PASSWORD` set to `password` (unset when
    /// `None`, whatever the test's own environment holds). Its stdin is a pipe: no terminal.
    pub fn spawn_with(
        addr: SocketAddr,
        nick: &str,
        flags: &[&str],
        password: Option<&str>,
    ) -> PlainChat {
        PlainChat::spawn_at(&addr.to_string(), nick, flags, password)
    }

    /// [`PlainChat::spawn_with`] with `--addr` as given (a host name, no port).
    pub fn spawn_at(addr: &str, nick: &str, flags: &[&str], password: Option<&str>) -> PlainChat {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chat"));
        command
            .args(["--plain", "--addr", addr, "--nick", nick])
            .args(flags)
            .env_remove(PASSWORD_ENV);
        if let Some(password) = password {
            command.env(PASSWORD_ENV, password);
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut readers = Vec::new();
        let mut lines = |pipe: Box<dyn std::io::Read + Send>| {
            let (tx, rx) = crossbeam_channel::unbounded();
            readers.push(thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { return };
                    let _ = tx.send(line);
                }
            }));
            rx
        };
        let stdout = lines(Box::new(child.stdout.take().unwrap()));
        let stderr = lines(Box::new(child.stderr.take().unwrap()));
        PlainChat {
            stdin: child.stdin.take(),
            child: Some(child),
            stdout,
            stderr,
            readers,
        }
    }

    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).unwrap();
        stdin.flush().unwrap();
    }

    pub fn close_stdin(&mut self) {
        drop(self.stdin.take());
    }

    /// The next stdout line; fails at the deadline.
    pub fn expect(&self, expected: &str) {
        match self.stdout.recv_timeout(DEADLINE) {
            Ok(line) => assert_eq!(line, expected),
            Err(_) => panic!("no stdout line {expected:?} within {DEADLINE:?}"),
        }
    }

    /// Reads stdout until the line `wanted`; fails at the deadline.
    pub fn expect_line(&self, wanted: &str) {
        self.lines_until(wanted);
    }

    /// Stdout lines up to the line `last`, which ends them; fails at the deadline.
    pub fn lines_until(&self, last: &str) -> Vec<String> {
        let end = Instant::now() + DEADLINE;
        let mut lines = Vec::new();
        loop {
            match self.stdout.recv_deadline(end) {
                Ok(line) if line == last => return lines,
                Ok(line) => lines.push(line),
                Err(_) => panic!("no stdout line {last:?} within {DEADLINE:?}: {lines:#?}"),
            }
        }
    }

    pub fn expect_note(&self, needle: &str) {
        match self.stderr.recv_timeout(DEADLINE) {
            Ok(line) => assert!(line.contains(needle), "{line:?} lacks {needle:?}"),
            Err(_) => panic!("no stderr line with {needle:?} within {DEADLINE:?}"),
        }
    }

    /// Waits for the exit, at most the deadline; stdout must have nothing more.
    pub fn wait(mut self) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let waiter = thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = rx
            .recv_timeout(DEADLINE)
            .expect("chat --plain did not exit in time")
            .unwrap();
        waiter.join().unwrap();
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let rest: Vec<String> = self.stdout.try_iter().collect();
        assert!(rest.is_empty(), "more output: {rest:?}");
        status
    }
}

impl Drop for PlainChat {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP relay on `127.0.0.1:0` to `upstream`: each connection accepted is copied both ways
/// to a new connection to `upstream`. [`Relay::cut`] ends every connection and keeps the
/// relay shut (a connection accepted meanwhile is closed at once, as a dead network would
/// have it) until [`Relay::open`].
pub struct Relay {
    pub addr: SocketAddr,
    shared: Arc<Mutex<RelayState>>,
    acceptor: Option<JoinHandle<()>>,
}

#[derive(Default)]
struct RelayState {
    shut: bool,
    stopping: bool,
    /// Both ends of every connection relayed, to cut them.
    streams: Vec<TcpStream>,
    copiers: Vec<JoinHandle<()>>,
}

impl Relay {
    pub fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(RelayState::default()));
        let state = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name("relay-acceptor".to_owned())
            .spawn(move || {
                for client in listener.incoming() {
                    let Ok(client) = client else { continue };
                    let mut state = state.lock().unwrap();
                    if state.stopping {
                        return;
                    }
                    if state.shut {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(upstream) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    for (from, to) in [(&client, &server), (&server, &client)] {
                        let (from, to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
                        state.copiers.push(thread::spawn(move || copy(from, to)));
                    }
                    state.streams.extend([client, server]);
                }
            })
            .unwrap();
        Relay {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// Ends every relayed connection and refuses new ones until [`Relay::open`].
    pub fn cut(&self) {
        let mut state = self.shared.lock().unwrap();
        state.shut = true;
        for stream in state.streams.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn open(&self) {
        self.shared.lock().unwrap().shut = false;
    }
}

/// Copies until either side ends, then ends both.
fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.cut();
        self.shared.lock().unwrap().stopping = true;
        // Wakes the acceptor, which then sees `stopping`.
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let copiers = std::mem::take(&mut self.shared.lock().unwrap().copiers);
        for copier in copiers {
            let _ = copier.join();
        }
    }
}
