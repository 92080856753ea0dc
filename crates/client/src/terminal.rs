//! The full-screen client's loop: sets the terminal up, starts the threads, hands every event
//! to `app::update`, carries out the effects, draws, and restores the terminal.
//!
//! In scope: the terminal (raw mode and the alternate screen through `ratatui::init`, mouse
//! capture and bracketed paste, restoring them all on exit, on panic and on signals), the
//! `chat-input` thread (keys, pastes, mouse, resizes and the one-second tick), the
//! `chat-signals` thread, and the file threads' handle (`transfer`). Out of scope: what an event means (`app`) and what the screen shows
//! (`ui`).

use std::io::{self, IsTerminal, stdout};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use chrono::Offset as _;
use crossbeam_channel::{Receiver, Sender, TryRecvError};
use ratatui::crossterm::event::{
    self as term, DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste,
    EnableMouseCapture,
};
use ratatui::crossterm::execute;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::app::{App, Effect, Settings, update};
use crate::event::Event;
use crate::net::{Net, NetConfig};
use crate::password::Secret;
use crate::transfer::Transfers;
use crate::ui;
use chatd_proto::Nick;

/// How often the input thread looks whether it should stop. crossterm has no way to wake a
/// thread blocked reading the terminal, so this thread alone waits with a timeout. Input
/// never waits for it: crossterm (with `use-dev-tty`, see Cargo.toml) wakes as soon as bytes
/// are there, also those left over from a paste longer than its 1 KiB read buffer.
const INPUT_POLL: Duration = Duration::from_millis(200);

/// How long leaving waits for the input thread. When the terminal has gone away (the window
/// was closed: SIGHUP) crossterm's `poll` never returns (it retries the failing read without
/// end), so the thread is left to end with the process rather than joined.
const INPUT_STOP_DEADLINE: Duration = Duration::from_millis(500);

/// Events handled between two draws at most, so a flood of lines still lets the screen update.
const BATCH: usize = 512;

/// Runs the client on the server `net` names until the user quits. The terminal is restored
/// whatever happens. `password`, if given, logs in to `nick` when the server says it is
/// registered.
pub fn run(
    net: NetConfig,
    nick: Nick,
    password: Option<Secret>,
    settings: Settings,
) -> io::Result<()> {
    if !stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err(io::Error::other(
            "not a terminal: run it in one, or use --plain for pipes and scripts",
        ));
    }
    let mut terminal = ratatui::try_init()?;
    // ratatui's panic hook restores raw mode and the screen; mouse capture and bracketed
    // paste are ours to undo (a shell left in bracketed paste mode shows pastes wrapped in
    // `^[[200~`).
    let restore_screen = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(stdout(), DisableBracketedPaste, DisableMouseCapture);
        restore_screen(info);
    }));
    let result = execute!(stdout(), EnableMouseCapture, EnableBracketedPaste).and_then(|()| {
        let size = terminal.size()?;
        let mut app = App::new(net.addr.clone(), nick, (size.width, size.height));
        app.settings = settings;
        if let Some(password) = password {
            app.remember_password(password);
        }
        // History lines carry UTC times; they are shown in local time, as live lines are.
        app.utc_offset = chrono::Local::now().offset().fix();
        event_loop(&mut terminal, app, net)
    });
    let _ = execute!(stdout(), DisableBracketedPaste, DisableMouseCapture);
    ratatui::restore();
    result
}

fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut app: App,
    net_config: NetConfig,
) -> io::Result<()> {
    let (events, inbox) = crossbeam_channel::unbounded();
    // `None` once another client took our account over: nothing is sent any more.
    let trust = net_config.trust.clone();
    let mut net = Some(Net::start(net_config, events.clone())?);
    let input = InputThread::start(events.clone())?;
    let file_events = events.clone();
    let mut transfers = Transfers::new(
        move |event| file_events.send(Event::File(event)).is_ok(),
        &trust,
    );
    let signals = SignalThread::start(events)?;
    let result = (|| -> io::Result<()> {
        loop {
            terminal.draw(|frame| ui::render(&app, frame))?;
            let Ok(first) = inbox.recv() else {
                return Ok(());
            };
            for event in std::iter::once(first).chain(inbox.try_iter().take(BATCH)) {
                let now = chrono::Local::now().time();
                for effect in update(&mut app, event, now) {
                    match effect {
                        Effect::Send(line) => {
                            if let Some(net) = &net {
                                net.send(line);
                            }
                        }
                        Effect::Redraw => terminal.clear()?,
                        Effect::Exit => return Ok(()),
                        Effect::Disconnect => {
                            if let Some(net) = net.take() {
                                net.stop();
                            }
                        }
                        Effect::File(job) => transfers.start(job),
                    }
                }
            }
        }
    })();
    if let Some(net) = net {
        net.stop();
    }
    input.stop();
    signals.stop();
    transfers.stop();
    result
}

/// The `chat-input` thread: terminal events and the tick, into the event channel.
struct InputThread {
    stop: Option<Sender<()>>,
    /// Disconnected when the thread has ended (it holds the sender).
    ended: Receiver<()>,
    handle: Option<JoinHandle<()>>,
}

impl InputThread {
    fn start(events: Sender<Event>) -> io::Result<InputThread> {
        let (stop, stopped) = crossbeam_channel::bounded(0);
        let (ending, ended) = crossbeam_channel::bounded::<()>(0);
        let handle = thread::Builder::new()
            .name("chat-input".to_owned())
            .spawn(move || {
                let _ending = ending;
                input_loop(&events, &stopped);
            })?;
        Ok(InputThread {
            stop: Some(stop),
            ended,
            handle: Some(handle),
        })
    }

    /// Stops and joins the thread; if it does not end within [`INPUT_STOP_DEADLINE`] (a
    /// terminal that is gone), it is left to end with the process.
    fn stop(mut self) {
        drop(self.stop.take());
        let ended = matches!(
            self.ended.recv_timeout(INPUT_STOP_DEADLINE),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected)
        );
        if let (true, Some(handle)) = (ended, self.handle.take()) {
            let _ = handle.join();
        }
    }
}

fn input_loop(events: &Sender<Event>, stopped: &Receiver<()>) {
    const TICK: Duration = Duration::from_secs(1);
    let mut next_tick = Instant::now() + TICK;
    loop {
        if !matches!(stopped.try_recv(), Err(TryRecvError::Empty)) {
            return;
        }
        let wait = next_tick
            .saturating_duration_since(Instant::now())
            .min(INPUT_POLL);
        let event = match term::poll(wait) {
            Ok(true) => match term::read() {
                Ok(term::Event::Key(key)) => Some(Event::Key(key)),
                Ok(term::Event::Paste(text)) => Some(Event::Paste(text)),
                Ok(term::Event::Mouse(mouse)) => Some(Event::Mouse(mouse)),
                Ok(term::Event::Resize(width, height)) => Some(Event::Resize { width, height }),
                Ok(_) => None,
                Err(_) => return,
            },
            Ok(false) => None,
            Err(_) => return,
        };
        if let Some(event) = event {
            if events.send(event).is_err() {
                return;
            }
        }
        if Instant::now() >= next_tick {
            next_tick += TICK;
            if events.send(Event::Tick).is_err() {
                return;
            }
        }
    }
}

/// The `chat-signals` thread: SIGTERM, SIGHUP and SIGINT become [`Event::Signal`], so the
/// loop ends and the terminal is restored. Closing the signal handle ends it.
struct SignalThread {
    close: signal_hook::iterator::Handle,
    handle: JoinHandle<()>,
}

impl SignalThread {
    fn start(events: Sender<Event>) -> io::Result<SignalThread> {
        let mut signals = Signals::new([SIGTERM, SIGHUP, SIGINT])?;
        let close = signals.handle();
        let handle = thread::Builder::new()
            .name("chat-signals".to_owned())
            .spawn(move || {
                for _ in signals.forever() {
                    if events.send(Event::Signal).is_err() {
                        return;
                    }
                }
            })?;
        Ok(SignalThread { close, handle })
    }

    fn stop(self) {
        self.close.close();
        let _ = self.handle.join();
    }
}
