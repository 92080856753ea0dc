//! The login part of the soak: accounts registered at the start, each with two clients. One
//! logs in to it with the right password over and over, from the well-behaved clients'
//! address, says a numbered line that every well-behaved client must get, waits for its
//! `PING` barrier and quits. The other sends wrong passwords, for that account and for nicks
//! that are no account, from an address of its own, and must only ever be refused:
//! `BAD_LOGIN`, or `TOO_MANY_ATTEMPTS` once the throttle slows its address down or locks it.
//! No line from the server may hold a password. At the end each account is deleted again
//! (`UNREGISTER`), so that a server that outlives the run keeps none of them.
//!
//! In scope: the accounts ([`Logins`]), the clients' loops and their connections.
//! Out of scope: the rules and the counts (`login`), the receivers' check of the numbered
//! lines (`chatter`), when the clients run (`mod.rs`: in each half, done before its settle).
//!
//! Every wait has a deadline: the reply timeout, plus the throttle's longest delay for the
//! answer to a wrong password.

use std::io::{self, Write};
use std::net::{IpAddr, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::loadgen::client::{self, SocketOptions};
use crate::soak::login::{
    AccountFailures, LoginCounts, LoginFigures, PASSWORD_MARK, WrongAnswer, holds_password,
    judge_wrong,
};
use crate::soak::shared::Shared;
use chatd_proto::{Command, Nick, Password, Reply, StatName};

/// The pause between two logins of one account: each is an Argon2id check, tens of
/// milliseconds of a core by design, on threads that yield to the chat.
const RIGHT_EVERY: Duration = Duration::from_millis(500);
/// The pause between two connections of a wrong-password client.
const WRONG_EVERY: Duration = Duration::from_millis(250);
/// Wrong passwords one connection sends at most, each after the answer to the one before.
const WRONG_PER_CONNECTION: u32 = 3;
/// The longest the throttle holds back the answer to a failed check (protocol.md).
const LONGEST_DELAY: Duration = Duration::from_secs(8);
/// Logins tried to delete an account at the end, each of which the register timeout may cut.
const DELETE_TRIES: u32 = 3;
/// Chat nick numbers of the nicks that are no account: far above every sender's.
const UNKNOWN_NICKS: u32 = 1_000_000_000;

/// One account and what its clients share.
struct Account {
    nick: Nick,
    password: String,
    /// Its numbered sender: the number of its chat nick.
    sender: usize,
    /// Numbered lines said so far, over all halves: only its right-password client writes it,
    /// one half after the other.
    said: AtomicU32,
    /// Wrong passwords sent for it since its last right login; locked for a moment by either
    /// client, never across a wait.
    failures: Mutex<AccountFailures>,
    /// Wrong passwords its wrong-password client has sent, over all halves: numbers the
    /// passwords and the unknown nicks.
    wrong_tried: AtomicU32,
}

/// The accounts of a run, registered.
pub struct Logins<'a> {
    shared: &'a Shared,
    accounts: Vec<Account>,
    /// Whether wrong passwords are sent: only from addresses of their own.
    wrong: bool,
    seed: u64,
    /// `STATS logins_failed` once the accounts were registered.
    logins_failed_before: u64,
}

impl<'a> Logins<'a> {
    /// Registers an account for each of the run's login senders, under its chat nick, from
    /// the well-behaved clients' address, and reads `STATS logins_failed`.
    pub fn register(shared: &'a Shared, seed: u64) -> Result<Logins<'a>, String> {
        let mut rng = fastrand::Rng::with_seed(seed ^ 0x6c6f_6769_6e73);
        let accounts = shared
            .login_senders()
            .map(|sender| {
                let number = u32::try_from(sender).expect("senders fit in u32");
                let nick = shared.names.chat.nick(number);
                Ok(Account {
                    nick: Nick::parse(&nick).map_err(|e| format!("{nick}: {e}"))?,
                    password: format!("{PASSWORD_MARK}{sender}-{:016x}", rng.u64(..)),
                    sender,
                    said: AtomicU32::new(0),
                    failures: Mutex::new(AccountFailures::default()),
                    wrong_tried: AtomicU32::new(0),
                })
            })
            .collect::<Result<Vec<Account>, String>>()?;
        let mut logins = Logins {
            shared,
            accounts,
            wrong: shared.sources.spread(),
            seed,
            logins_failed_before: 0,
        };
        let mut echoes = LoginCounts::default();
        let mut before = None;
        for account in &logins.accounts {
            let nick = &account.nick;
            let read = logins
                .on_connection(shared.sources.well_behaved(), &mut echoes, |conn| {
                    conn.hears_others = true;
                    conn.send(&Command::Nick(nick.clone()))?;
                    conn.expect("OK NICK", |reply| *reply == Reply::OkNick(nick.clone()))?;
                    let password = Password::new(&account.password)
                        .map_err(|e| format!("the soak's password breaks the rule: {e:?}"))?;
                    conn.send(&Command::Register(password))?;
                    conn.expect("OK REGISTER", |reply| {
                        *reply == Reply::OkRegister(nick.clone())
                    })?;
                    let failed = conn.logins_failed()?;
                    conn.quit()?;
                    Ok(failed)
                })
                .map_err(|e| format!("registering account {nick}: {e}"))?;
            before = Some(read);
        }
        if let Some(problem) = echoes.first_problem {
            return Err(format!("registering the accounts: {problem}"));
        }
        logins.logins_failed_before = before.unwrap_or(0);
        Ok(logins)
    }

    /// Runs every account's clients until `end`; each finishes what it started. Returns what
    /// they counted.
    pub fn run_until(&self, end: Instant) -> LoginCounts {
        thread::scope(|scope| {
            let mut clients = Vec::new();
            for (number, account) in self.accounts.iter().enumerate() {
                let right = thread::Builder::new()
                    .name(format!("soak-login-{number}"))
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, move || self.right_client(account, end))
                    .expect("a login client's thread starts");
                clients.push(right);
                if self.wrong {
                    let wrong = thread::Builder::new()
                        .name(format!("soak-wrong-login-{number}"))
                        .stack_size(256 * 1024)
                        .spawn_scoped(scope, move || self.wrong_client(number, account, end))
                        .expect("a wrong-password client's thread starts");
                    clients.push(wrong);
                }
            }
            let mut counts = LoginCounts::default();
            for client in clients {
                counts += client.join().expect("a login client does not panic");
            }
            counts
        })
    }

    /// After the last half: logs in to each account once more, deletes it, reads
    /// `STATS logins_failed` on the last one's connection, and adds it all up with `counts`.
    pub fn finish(self, mut counts: LoginCounts) -> LoginFigures {
        let mut after = None;
        for (number, account) in self.accounts.iter().enumerate() {
            let last = number + 1 == self.accounts.len();
            let source = self.shared.sources.well_behaved();
            let mut tries = 0;
            let result = loop {
                tries += 1;
                let deleted = self.on_connection(source, &mut counts, |conn| {
                    Self::delete(account, last, conn)
                });
                match deleted {
                    // Cut while its password was checked: the account is still there.
                    Ok(Deleted::Cut) => {
                        counts.right_cut += 1;
                        if tries == DELETE_TRIES {
                            break Err(format!("cut by the register timeout {tries} times"));
                        }
                    }
                    Ok(Deleted::Done(failed)) => break Ok(failed),
                    Err(e) => break Err(e),
                }
            };
            match result {
                Ok(failed) => {
                    counts.right += 1;
                    after = after.or(failed);
                }
                Err(e) => {
                    counts.right_failed += 1;
                    counts.problem(|| format!("deleting account {}: {e}", account.nick));
                }
            }
        }
        LoginFigures {
            accounts: self.accounts.len(),
            wrong_sent: self.wrong,
            lines: self
                .accounts
                .iter()
                .map(|account| u64::from(account.said.load(Ordering::Acquire)))
                .sum(),
            counts,
            logins_failed: after.map(|after| (self.logins_failed_before, after)),
        }
    }

    /// Logs in to `account`, deletes it, reads `STATS logins_failed` if `last`, and quits.
    fn delete(account: &Account, last: bool, conn: &mut Conn<'_>) -> Result<Deleted, String> {
        if conn.log_in(account)? == LogIn::Cut {
            return Ok(Deleted::Cut);
        }
        conn.send(&Command::Unregister(Password::given(&account.password)))?;
        conn.expect("OK UNREGISTER", |reply| {
            *reply == Reply::OkUnregister(account.nick.clone())
        })?;
        let failed = if last {
            Some(conn.logins_failed()?)
        } else {
            None
        };
        conn.quit()?;
        Ok(Deleted::Done(failed))
    }

    /// Logs in to `account` with its password, says a numbered line, waits for a barrier,
    /// quits; again and again until `end` (at least once).
    fn right_client(&self, account: &Account, end: Instant) -> LoginCounts {
        let mut counts = LoginCounts::default();
        loop {
            let result =
                self.on_connection(self.shared.sources.well_behaved(), &mut counts, |conn| {
                    self.right_session(account, conn)
                });
            match result {
                Ok(LogIn::Done) => counts.right += 1,
                Ok(LogIn::Cut) => counts.right_cut += 1,
                Err(e) => {
                    counts.right_failed += 1;
                    counts.problem(|| {
                        format!("logging in to {} with its password: {e}", account.nick)
                    });
                }
            }
            if !pause_until(RIGHT_EVERY, end) {
                return counts;
            }
        }
    }

    fn right_session(&self, account: &Account, conn: &mut Conn<'_>) -> Result<LogIn, String> {
        let clears = account.failures.lock().before_right();
        if conn.log_in(account)? == LogIn::Cut {
            return Ok(LogIn::Cut);
        }
        account.failures.lock().after_right(clears);
        let seq = account.said.load(Ordering::Acquire);
        let mut line = String::from("ALL ");
        self.shared.payload(account.sender, seq, &mut line);
        line.push('\n');
        conn.send_raw(line.as_bytes())?;
        account.said.store(seq + 1, Ordering::Release);
        self.shared.set_sent(account.sender, seq + 1);
        let token = format!("login-{seq}");
        conn.send(&Command::Ping {
            token: Some(&token),
        })?;
        conn.expect(
            "PONG",
            |reply| matches!(reply, Reply::Pong { token: Some(got) } if *got == token),
        )?;
        conn.quit()?;
        Ok(LogIn::Done)
    }

    /// Sends wrong passwords, now for `account` (while its budget allows), now for nicks that
    /// are no account, from wrong-password client `number`'s address: a few on each
    /// connection, until `end` (at least one connection).
    fn wrong_client(&self, number: usize, account: &Account, end: Instant) -> LoginCounts {
        let source = self.shared.sources.wrong_login(number);
        let first = account.wrong_tried.load(Ordering::Acquire);
        let mut rng =
            fastrand::Rng::with_seed(self.seed ^ ((number as u64) << 32) ^ u64::from(first));
        let mut counts = LoginCounts::default();
        loop {
            let attempts = rng.u32(1..=WRONG_PER_CONNECTION);
            let mut answers = Vec::new();
            let result = self.on_connection(source, &mut counts, |conn| {
                self.wrong_connection((number, account), (attempts, &mut rng), conn, &mut answers)
            });
            for (on_account, answer, line) in answers {
                if on_account {
                    counts.wrong_on_accounts += 1;
                } else {
                    counts.wrong_on_unknown += 1;
                }
                counts.wrong_answered(&answer, &line);
            }
            if let Err(e) = result {
                counts.wrong_broken += 1;
                counts.problem(|| format!("wrong-password client {number}: {e}"));
            }
            if !pause_until(WRONG_EVERY, end) {
                return counts;
            }
        }
    }

    /// One connection of a wrong-password client: `attempts` wrong passwords, each answer
    /// put in `answers` (whether it was for the account, how it was judged, the line), then
    /// `QUIT`; or the end of the connection if the register timeout cuts it first.
    fn wrong_connection(
        &self,
        (number, account): (usize, &Account),
        (attempts, rng): (u32, &mut fastrand::Rng),
        conn: &mut Conn<'_>,
        answers: &mut Vec<(bool, WrongAnswer, String)>,
    ) -> Result<(), String> {
        let wait = self.shared.reply_timeout() + LONGEST_DELAY;
        for _ in 0..attempts {
            let tried = account.wrong_tried.fetch_add(1, Ordering::AcqRel);
            // Now one, now the other: `start_wrong` is asked only when the account is chosen.
            let on_account = rng.bool() && account.failures.lock().start_wrong();
            let nick = if on_account {
                account.nick.clone()
            } else {
                let index = UNKNOWN_NICKS + number as u32 * 1_000_000 + tried % 1_000_000;
                Nick::parse(&self.shared.names.chat.nick(index)).map_err(|e| e.to_string())?
            };
            let password = format!("{PASSWORD_MARK}wrong-{number}-{tried}");
            let sent = conn.send(&Command::Login {
                nick,
                password: Password::given(&password),
            });
            // Read even after a failed write: a BYE the server sent first may explain it.
            let answer = match (conn.next("the answer to a wrong password", wait), sent) {
                (Ok(reply), _) => Ok(reply),
                (Err(_), Err(write)) => Err(write),
                (Err(read), Ok(())) => Err(read),
            };
            let judged = answer.map(|reply| (judge_wrong(&reply), reply.to_string()));
            if on_account {
                // A connection that broke may have had its check counted.
                let counted = judged
                    .as_ref()
                    .map_or(WrongAnswer::Cut, |(answer, _)| answer.clone());
                account.failures.lock().end_wrong(&counted);
            }
            let (answer, line) = judged?;
            let cut = answer == WrongAnswer::Cut;
            answers.push((on_account, answer, line));
            if cut {
                conn.cut_in_time()?;
                return conn.expect_end();
            }
        }
        conn.quit()
    }

    /// Opens a connection from `source`, runs `session` on it, and counts in `counts` the
    /// lines from the server that held a password.
    fn on_connection<T>(
        &self,
        source: Option<IpAddr>,
        counts: &mut LoginCounts,
        session: impl FnOnce(&mut Conn<'_>) -> Result<T, String>,
    ) -> Result<T, String> {
        let mut conn = Conn::open(self.shared, source).map_err(|e| format!("connect: {e}"))?;
        let result = session(&mut conn);
        if let Some(line) = conn.first_echo.take() {
            counts.echoed += conn.echoed;
            counts.problem(|| format!("a line from the server held a password: {line:?}"));
        }
        result
    }
}

/// Waits `pause`, cut short at `end`; `false` once `end` has passed.
fn pause_until(pause: Duration, end: Instant) -> bool {
    let now = Instant::now();
    if now >= end {
        return false;
    }
    thread::sleep(pause.min(end - now));
    Instant::now() < end
}

/// How a `LOGIN` with the right password ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LogIn {
    Done,
    /// Cut by the register timeout while the password was being checked.
    Cut,
}

/// How deleting an account at the end went.
enum Deleted {
    /// With `STATS logins_failed`, if it was asked for.
    Done(Option<u64>),
    /// The register timeout cut the login short.
    Cut,
}

/// One connection of a login client: its socket, the bytes read and not yet used, and the
/// lines that held a password.
struct Conn<'a> {
    shared: &'a Shared,
    /// Just before connecting: the server's register timeout runs from a moment later.
    opened: Instant,
    stream: TcpStream,
    pending: Vec<u8>,
    /// The greeting came (it comes first, once).
    greeted: bool,
    /// `NICK`, or `LOGIN` with the right password, was sent: others' `JOIN`, `NICK`, `QUIT`
    /// and `ALL` may come, before the answer too (the server registers the connection,
    /// then queues the answer). Never so on a connection that sends wrong passwords.
    hears_others: bool,
    echoed: u64,
    first_echo: Option<String>,
}

impl<'a> Conn<'a> {
    fn open(shared: &'a Shared, source: Option<IpAddr>) -> io::Result<Conn<'a>> {
        let options = SocketOptions {
            source,
            ..SocketOptions::default()
        };
        Ok(Conn {
            shared,
            opened: Instant::now(),
            stream: client::connect_with(shared.addr, &options)?,
            pending: Vec::new(),
            greeted: false,
            hears_others: false,
            echoed: 0,
            first_echo: None,
        })
    }

    fn send(&mut self, command: &Command<'_>) -> Result<(), String> {
        self.send_raw(format!("{command}\n").as_bytes())
    }

    fn send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        (&self.stream)
            .write_all(bytes)
            .map_err(|e| format!("write: {e}"))
    }

    /// `LOGIN` with the account's password, and its `OK LOGIN`: [`LogIn::Done`]. Or
    /// [`LogIn::Cut`]: the check took longer than the register timeout, which ended the
    /// connection first (not before its time); the connection is over.
    fn log_in(&mut self, account: &Account) -> Result<LogIn, String> {
        self.hears_others = true;
        self.send(&Command::Login {
            nick: account.nick.clone(),
            password: Password::given(&account.password),
        })?;
        let reply = self.next("OK LOGIN", self.shared.reply_timeout())?;
        if reply == Reply::OkLogin(account.nick.clone()) {
            return Ok(LogIn::Done);
        }
        if judge_wrong(&reply) != WrongAnswer::Cut {
            return Err(format!("{reply} instead of OK LOGIN"));
        }
        self.cut_in_time()?;
        self.expect_end()?;
        Ok(LogIn::Cut)
    }

    /// A `BYE register timeout` came: not before `--register-timeout`.
    fn cut_in_time(&self) -> Result<(), String> {
        let (took, timeout) = (self.opened.elapsed(), self.shared.config.register_timeout);
        if took < timeout {
            return Err(format!(
                "BYE register timeout {took:?} after connecting, before --register-timeout \
                 {timeout:?}"
            ));
        }
        Ok(())
    }

    /// `STATS`, and its `logins_failed`.
    fn logins_failed(&mut self) -> Result<u64, String> {
        self.send(&Command::Stats)?;
        let deadline = Instant::now() + self.shared.reply_timeout();
        let mut failed = None;
        loop {
            match self.next(
                "END STATS",
                deadline.saturating_duration_since(Instant::now()),
            )? {
                Reply::Stat {
                    name: StatName::LoginsFailed,
                    value,
                } => failed = Some(value),
                Reply::Stat { .. } => {}
                Reply::EndStats => {
                    return failed.ok_or_else(|| "STATS has no logins_failed".to_owned());
                }
                other => return Err(format!("{other} among the STATS lines")),
            }
        }
    }

    /// `QUIT`, its `BYE` and the end of the stream.
    fn quit(&mut self) -> Result<(), String> {
        self.send(&Command::Quit { reason: None })?;
        let reply = self.next("BYE", self.shared.reply_timeout())?;
        match reply {
            Reply::Bye { reason: None } => {}
            // A connection that never registered may run out of time just before its QUIT
            // is read.
            _ if !self.hears_others && judge_wrong(&reply) == WrongAnswer::Cut => {
                self.cut_in_time()?;
            }
            other => return Err(format!("{other} instead of BYE")),
        }
        self.expect_end()
    }

    /// The next line must be what `want` accepts.
    fn expect(&mut self, what: &str, want: impl FnOnce(&Reply) -> bool) -> Result<(), String> {
        let reply = self.next(what, self.shared.reply_timeout())?;
        if want(&reply) {
            Ok(())
        } else {
            Err(format!("{reply} instead of {what}"))
        }
    }

    /// The next line for this client, within `wait`: the greeting is skipped, the server's
    /// `PING` answered, and once others may be heard, their comings and goings and `ALL` lines
    /// skipped.
    fn next(&mut self, what: &str, wait: Duration) -> Result<Reply, String> {
        self.next_line(what, wait)
            .map_err(|e| format!("waiting for {what}: {e}"))
    }

    fn next_line(&mut self, what: &str, wait: Duration) -> io::Result<Reply> {
        let Conn {
            stream,
            pending,
            greeted,
            hears_others,
            echoed,
            first_echo,
            ..
        } = self;
        let mut found = None;
        client::read_lines(stream, pending, Instant::now() + wait, what, |bytes| {
            let text = std::str::from_utf8(bytes)
                .map_err(|_| io::Error::other(format!("a line that is not UTF-8: {bytes:?}")))?;
            if holds_password(text) {
                *echoed += 1;
                first_echo.get_or_insert_with(|| text.to_owned());
            }
            let reply = Reply::parse(text)
                .map_err(|e| io::Error::other(format!("unparsable line {text:?}: {e}")))?;
            match reply {
                Reply::Hello { .. } if !*greeted => *greeted = true,
                Reply::Ping { token } => {
                    let pong = Command::Pong {
                        token: token.as_deref(),
                    };
                    (&*stream).write_all(format!("{pong}\n").as_bytes())?;
                }
                Reply::Join(_)
                | Reply::NickChanged { .. }
                | Reply::Quit { .. }
                | Reply::All { .. }
                    if *hears_others => {}
                other => {
                    found = Some(other);
                    return Ok(true);
                }
            }
            Ok(false)
        })?;
        Ok(found.expect("read_lines returns Ok only once the callback found a line"))
    }

    /// The server closes (after `BYE`), with nothing more.
    fn expect_end(&mut self) -> Result<(), String> {
        match self.next_line("the end of the stream", self.shared.reply_timeout()) {
            Ok(reply) => Err(format!("{reply} after BYE")),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(()),
            Err(e) => Err(format!("waiting for the end of the stream: {e}")),
        }
    }
}
