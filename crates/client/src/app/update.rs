//! [`update`], the one entry point that changes the state: it routes each event to the part
//! that handles it (`keys`, `paste`, `replies`, `files`) and handles the few left: a resize, the clock tick
//! (the reconnect countdown, the grace period after `/quit`, a login waiting to be sent
//! again, which `login` counts) and a signal. After every event, `history` asks what the
//! direct tabs wait to ask, if they can now.
//!
//! Out of scope: what a key, a `/command` or a server line does (`keys`, `submit`,
//! `replies`); carrying out the effects (the caller: `terminal`, or a test).

use chrono::NaiveTime;

use super::files::on_file_event;
use super::history;
use super::keys::{on_key, on_mouse};
use super::login;
use super::paste::on_paste;
use super::replies::on_net;
use super::state::{App, Conn, Effect, send};
use crate::event::Event;
use chatd_proto::Command;

/// Ticks (about a second each) to wait for `BYE` after `/quit` before leaving anyway.
pub const QUIT_GRACE_TICKS: u32 = 2;

/// Applies one event to the state; returns what the caller must do. `now` is the local time
/// stamped on new lines. No I/O happens here.
pub fn update(app: &mut App, event: Event, now: NaiveTime) -> Vec<Effect> {
    let mut effects = Vec::new();
    match event {
        Event::Key(key) => on_key(app, key, now, &mut effects),
        Event::Paste(text) => on_paste(app, &text, now, &mut effects),
        Event::Mouse(mouse) => on_mouse(app, mouse),
        Event::Resize { width, height } => app.size = (width, height),
        Event::Net(net) => on_net(app, net, now, &mut effects),
        Event::File(file) => on_file_event(app, file, now, &mut effects),
        Event::Tick => {
            on_tick(app, &mut effects);
            login::on_tick(app, &mut effects);
        }
        Event::Signal => {
            if app.online() {
                send(&mut effects, &Command::Quit { reason: None });
            }
            app.conn = Conn::Closed;
            effects.push(Effect::Exit);
        }
    }
    // Whatever the event was, it may have opened a direct tab or let the direct history be
    // asked.
    history::catch_up(app, &mut effects);
    effects
}

fn on_tick(app: &mut App, effects: &mut Vec<Effect>) {
    if let Conn::Waiting { retry_in } = &mut app.conn {
        *retry_in = retry_in.saturating_sub(1);
    }
    if let Some(ticks) = &mut app.quitting {
        *ticks += 1;
        if *ticks >= QUIT_GRACE_TICKS {
            app.conn = Conn::Closed;
            effects.push(Effect::Exit);
        }
    }
}
