//! History (issue 15): what the client asks with `HISTORY` and where the answers go. After a
//! reconnect, every open tab asks for the lines after the last id it saw and shows them in
//! place, under a rule that counts them, paging on until the server has no more; a room just
//! joined shows its latest lines above the join, with a rule between old and new; PgUp at
//! the top of a tab prepends older lines, the view staying where it was. Times of history
//! lines are the server's, shown in local time (`App::utc_offset`).
//!
//! Direct tabs (issue 16) take part only while the connection holds an account, whose
//! direct messages the server keeps (`Account::direct_history`): a guest never asks, so it
//! never gets `ERR LOGIN_REQUIRED`. What a direct tab still has to ask waits in its
//! [`CatchUp`] until it can be asked, checked after every event ([`catch_up`]): a tab opened
//! since the login (by `/msg`, `/query`, a line that came, or a message that waited for the
//! login) shows its latest lines above what it shows, with the same rule as a join; a tab
//! that was open when the connection was lost resumes after the last id it had seen then,
//! the missed lines going where the tab ended when the login came back (after the notices of
//! the reconnect and the login, above the messages that waited for the login and anything
//! said since). Nothing is asked before the `PONG` that follows `OK LOGIN`
//! (`Account::delivery_barrier`): the messages that waited for the account come first, as
//! `HIST` blocks that look like the answer to a `HISTORY` of the same nick, and they are in
//! the account's history too, with the same ids, so each line is shown once. An
//! `ERR LOGIN_REQUIRED` that answers a `HISTORY <nick>` anyway (the account was deleted
//! meanwhile) is taken quietly, and nothing more is asked of the direct history until the
//! next login.
//!
//! Nothing is asked of a server that did not turn `CAP ids` on. A server that knows ids but
//! not `HISTORY` answers `ERR UNKNOWN_COMMAND`: taken silently, and nothing more is asked on
//! that connection. An answer for a tab closed meanwhile is dropped. Lines put above those a
//! tab shows (a join's, a new direct tab's, PgUp's) count as read; missed lines as unread.
//!
//! Out of scope: which lines a tab already shows and putting lines in place (`tab`); when a
//! reconnect, a login or a join happens (`nick`, `replies`, `login`); whether the connection
//! holds an account (`account`); the keys (`keys`).

use chrono::{DateTime, NaiveTime};

use super::files::file_body;
use super::state::{App, Asked, Effect, Fetch, send};
use super::tab::{Body, CatchUp, SCROLLBACK_LEN, Tab, TabKind};
use chatd_proto::{
    Capability, Command, DEFAULT_HISTORY, ErrorCode, HistoryRequest, MAX_HISTORY, MessageId, Page,
    Reply, Target, UtcMillis,
};

/// Lines asked for when joining a room and per PgUp at the top of a tab.
pub const HISTORY_PAGE: u16 = DEFAULT_HISTORY;

/// After a reconnect: tab `index` asks for what it missed, after the last id it saw (or, if
/// it never saw one, the newest id seen anywhere before the connection was lost). Its lines
/// go at the end of the tab as it is now, above whatever arrives live meanwhile.
pub(super) fn resume(app: &mut App, index: usize, effects: &mut Vec<Effect>) {
    let Some(after) = app.tabs[index].last_id.or(app.resume_from) else {
        return;
    };
    let at = app.tabs[index].end_seq();
    resume_at(app, index, after, at, effects);
}

/// Tab `index` asks for the lines after `after`, to go at `at`; returns whether it was sent.
fn resume_at(
    app: &mut App,
    index: usize,
    after: MessageId,
    at: u64,
    effects: &mut Vec<Effect>,
) -> bool {
    ask(
        app,
        index,
        Fetch::Resume,
        MAX_HISTORY,
        Page::After(after),
        at,
        effects,
    )
}

/// A new connection: every direct tab in step with the account's history resumes once
/// logged in again, after the newest id it has seen (or seen anywhere), which is noted now,
/// before the messages that waited for the login come in and move its last id past the
/// lines missed before them.
pub(super) fn on_connected(app: &mut App) {
    let newest = app.newest_id;
    let direct = |tab: &&mut Tab| matches!(tab.kind, TabKind::Direct(_));
    for tab in app.tabs.iter_mut().filter(direct) {
        tab.catch_up = match tab.catch_up {
            CatchUp::Nothing => match tab.last_id.or(newest) {
                Some(after) => CatchUp::Resume { after, at: None },
                None => CatchUp::Latest,
            },
            // Not asked on the last connection: after the same id as then.
            CatchUp::Resume { after, .. } => CatchUp::Resume { after, at: None },
            CatchUp::Latest => CatchUp::Latest,
        };
    }
}

/// `OK LOGIN`, once told (and, while registering, the registration with it): the direct
/// tabs that resume note where their missed lines go, the end of the tab now; and the `PING`
/// barrier goes out, whose `PONG` says the messages that waited for the account are in.
pub(super) fn on_logged_in(app: &mut App, effects: &mut Vec<Effect>) {
    for tab in &mut app.tabs {
        let end = tab.end_seq();
        if let CatchUp::Resume { at: at @ None, .. } = &mut tab.catch_up {
            *at = Some(end);
        }
    }
    if app.caps.has(Capability::Ids) && !app.no_history {
        effects.push(Effect::Send(app.account.delivery_barrier()));
    }
}

/// `OK REGISTER`: a new account keeps nothing yet (one of the same nick deleted before took
/// its lines with it), so the direct tabs have nothing to ask.
pub(super) fn nothing_kept(app: &mut App) {
    for tab in &mut app.tabs {
        tab.catch_up = CatchUp::Nothing;
    }
}

/// After every event: each direct tab asks what its [`CatchUp`] says, if the direct history
/// can be asked now. A tab whose request cannot go yet (one of its requests is not answered
/// yet) asks after a later event.
pub(super) fn catch_up(app: &mut App, effects: &mut Vec<Effect>) {
    if !app.account.direct_history() {
        return;
    }
    for index in 0..app.tabs.len() {
        let tab = &app.tabs[index];
        let sent = match tab.catch_up {
            CatchUp::Nothing => continue,
            CatchUp::Latest => {
                let top = tab.seq(0);
                ask(
                    app,
                    index,
                    Fetch::Latest,
                    HISTORY_PAGE,
                    Page::Latest,
                    top,
                    effects,
                )
            }
            CatchUp::Resume { after, at } => {
                let at = at.unwrap_or_else(|| tab.end_seq());
                resume_at(app, index, after, at, effects)
            }
        };
        if sent {
            app.tabs[index].catch_up = CatchUp::Nothing;
        }
    }
}

/// `OK JOIN` for room tab `index`, before the join is told: a room joined again after a
/// reconnect resumes; one just joined shows its latest lines above the join.
pub(super) fn on_joined(app: &mut App, index: usize, again: bool, effects: &mut Vec<Effect>) {
    let resumes = app.tabs[index].last_id.or(app.resume_from).is_some();
    if again && resumes {
        resume(app, index, effects);
    } else {
        let at = app.tabs[index].end_seq();
        ask(
            app,
            index,
            Fetch::Latest,
            HISTORY_PAGE,
            Page::Latest,
            at,
            effects,
        );
    }
}

/// PgUp reached the top of the tab shown: ask for the lines before the oldest one shown
/// (the latest ones, if it shows none with an id), unless the server said there are none.
pub(super) fn older(app: &mut App, now: NaiveTime, effects: &mut Vec<Effect>) {
    let tab = &app.tabs[app.current];
    if tab.history_start || !app.online() {
        return;
    }
    let room = SCROLLBACK_LEN.saturating_sub(tab.lines().len());
    if room == 0 {
        app.info(now, "the scrollback is full: no older lines are loaded");
        return;
    }
    let count = u16::try_from(room).map_or(HISTORY_PAGE, |room| room.min(HISTORY_PAGE));
    let page = tab.oldest_id().map_or(Page::Latest, Page::Before);
    let at = tab.seq(0);
    ask(app, app.current, Fetch::Older, count, page, at, effects);
}

/// Sends one `HISTORY` for tab `index`, if the server has history and the tab has one that
/// can be asked now (a direct tab's, while the connection holds an account) and is not being
/// fetched already; returns whether it was sent.
fn ask(
    app: &mut App,
    index: usize,
    fetch: Fetch,
    count: u16,
    page: Page,
    at: u64,
    effects: &mut Vec<Effect>,
) -> bool {
    if !app.caps.has(Capability::Ids) || app.no_history || !app.online() {
        return false;
    }
    let tab = &app.tabs[index];
    let target = match &tab.kind {
        TabKind::Lobby => Target::Lobby,
        TabKind::Room(room) => Target::Room(room.clone()),
        TabKind::Direct(nick) if app.account.direct_history() => Target::Nick(nick.clone()),
        TabKind::Direct(_) => return false,
    };
    if app.history_asked.iter().any(|asked| asked.tab == tab.uid) {
        return false;
    }
    let request = HistoryRequest {
        target: target.clone(),
        count,
        page,
    };
    send(effects, &Command::History(request));
    app.history_asked.push_back(Asked {
        target,
        tab: tab.uid,
        fetch,
        count,
        at,
        rule_at: at,
        added: 0,
        last: None,
    });
    true
}

fn same_target(a: &Target, b: &Target) -> bool {
    match (a, b) {
        (Target::Lobby, Target::Lobby) => true,
        (Target::Room(a), Target::Room(b)) => a.key() == b.key(),
        (Target::Nick(a), Target::Nick(b)) => a.key() == b.key(),
        _ => false,
    }
}

/// The oldest request for `target` not answered yet.
fn asked_for(app: &App, target: &Target) -> Option<usize> {
    app.history_asked
        .iter()
        .position(|asked| same_target(&asked.target, target))
}

/// A direct message (or file) that waited for our account while we were away, delivered
/// after `OK LOGIN` as `HIST <from> <id> <time> MSG <from> <text>` (or `FILE <from> ...`):
/// into the sender's tab, with the time it was sent. False for any other line.
pub(super) fn on_waiting(
    app: &mut App,
    target: &Target,
    id: MessageId,
    time: UtcMillis,
    line: &str,
) -> bool {
    let Target::Nick(sender) = target else {
        return false;
    };
    let reply = Reply::parse(line);
    let from = match &reply {
        Ok(Reply::Msg { from, .. } | Reply::File { from, .. }) => from.clone(),
        _ => return false,
    };
    if from.key() != sender.key() {
        return false;
    }
    if app.ignores(&from) {
        return true;
    }
    let body = match reply {
        Ok(Reply::File {
            from,
            size,
            url,
            name,
        }) => file_body(app, from, size, url, name, true),
        Ok(Reply::Msg { from, text }) => Body::message(from, &text, true, false),
        _ => return false,
    };
    let index = app.open(TabKind::Direct(from));
    if app.tabs[index].has_id(id) {
        return true;
    }
    let line = app.line(local_time(app, time), body, Some(id));
    let end = app.tabs[index].end_seq();
    app.put(index, end, line);
    true
}

/// One `HIST` line: put in place in the tab that asked for it, unless that tab shows it
/// already (seen live, or in an earlier page), it is one of our own messages shown when we
/// sent it, or its sender is ignored. Returns false for a line nobody asked for (the caller
/// shows it as it came).
pub(super) fn on_hist(
    app: &mut App,
    target: &Target,
    id: MessageId,
    time: UtcMillis,
    line: &str,
) -> bool {
    let Some(position) = asked_for(app, target) else {
        return false;
    };
    app.history_asked[position].last = Some(id);
    let uid = app.history_asked[position].tab;
    let Some(index) = app.tabs.iter().position(|tab| tab.uid == uid) else {
        return true;
    };
    let body = match (target, Reply::parse(line)) {
        // Both sides of a direct conversation: ours are under our nick (the account's).
        (Target::Nick(_), Ok(Reply::Msg { from, text })) => {
            let own = from.key() == app.nick.key();
            Body::message(from, &text, true, own)
        }
        (Target::Lobby | Target::Room(_), Ok(Reply::All { from, text })) => {
            Body::message(from, &text, false, false)
        }
        (Target::Lobby | Target::Room(_), Ok(Reply::RoomMsg { from, text, .. })) => {
            Body::message(from, &text, false, false)
        }
        (Target::Lobby | Target::Room(_), Ok(Reply::Me { from, text, .. })) => Body::Chat {
            from,
            text,
            direct: false,
            own: false,
            action: true,
        },
        // A file, numbered as a live one is (the same file keeps its number).
        (
            Target::Nick(_),
            Ok(Reply::File {
                from,
                size,
                url,
                name,
            }),
        ) => file_body(app, from, size, url, name, true),
        (
            Target::Lobby | Target::Room(_),
            Ok(
                Reply::File {
                    from,
                    size,
                    url,
                    name,
                }
                | Reply::RoomFile {
                    from,
                    size,
                    url,
                    name,
                    ..
                },
            ),
        ) => file_body(app, from, size, url, name, false),
        // Not a line this conversation keeps: nothing to show.
        _ => return true,
    };
    let from = match &body {
        Body::Chat { from, .. } | Body::File { from, .. } => from,
        _ => return true,
    };
    if app.ignores(from) || app.tabs[index].has_id(id) {
        return true;
    }
    if app.tabs[index].take_own(&body, id) {
        app.newest_id = app.newest_id.max(Some(id));
        return true;
    }
    let time = local_time(app, time);
    let line = app.line(time, body, Some(id));
    let asked = &app.history_asked[position];
    let at = asked.at;
    let added = match asked.fetch {
        Fetch::Resume => app.put(index, at, line),
        Fetch::Latest | Fetch::Older => app.put_old(index, at, line),
    };
    if added {
        let asked = &mut app.history_asked[position];
        asked.at += 1;
        asked.added += 1;
    }
    true
}

/// `END HISTORY`: the request is answered. A resume pages on while pages come back with
/// lines (and the scrollback has room), then puts its rule; a join puts its rule under the
/// lines; PgUp finding nothing older says so at the top. Returns false for an answer nobody
/// asked for.
pub(super) fn on_end(
    app: &mut App,
    target: &Target,
    count: usize,
    effects: &mut Vec<Effect>,
) -> bool {
    let Some(position) = asked_for(app, target) else {
        return false;
    };
    let asked = app
        .history_asked
        .remove(position)
        .expect("the position was just found");
    let Some(index) = app.tabs.iter().position(|tab| tab.uid == asked.tab) else {
        return true;
    };
    match asked.fetch {
        Fetch::Resume => {
            let full = asked.added >= SCROLLBACK_LEN;
            if let (false, true, Some(last)) = (full, count > 0, asked.last) {
                let request = HistoryRequest {
                    target: asked.target.clone(),
                    count: asked.count,
                    page: Page::After(last),
                };
                send(effects, &Command::History(request));
                app.history_asked.push_back(Asked {
                    last: None,
                    ..asked
                });
                return true;
            }
            if asked.added > 0 {
                let text = if full {
                    format!(
                        "{} missed while away, more than the scrollback holds: the latest \
                         ones were not loaded",
                        asked.added
                    )
                } else {
                    format!("{} missed while away", asked.added)
                };
                rule(app, index, asked.rule_at, text);
            }
        }
        Fetch::Latest if asked.added > 0 => {
            let lines = plural(asked.added, "earlier line");
            rule(app, index, asked.at, format!("{lines} above, new below"));
        }
        Fetch::Latest => {}
        Fetch::Older if count == 0 => {
            app.tabs[index].history_start = true;
            let at = app.tabs[index].seq(0);
            rule(app, index, at, "no older lines".to_owned());
        }
        Fetch::Older => {}
    }
    true
}

/// An `ERR` that answers our `HISTORY` rather than a line the user sent: the client sends no
/// other line that can get `UNKNOWN_COMMAND` (the answers to `CAP` are taken before) or
/// `BAD_HISTORY`, and a `LOGIN_REQUIRED` while the oldest `HISTORY` waiting is a direct
/// tab's is its answer (an account command waiting, which gets it too, reads it first: no
/// `HISTORY <nick>` is sent after one, and when one follows a `HISTORY`, both get the same
/// answer, each taking one). Taken silently; a server without `HISTORY` is asked no more,
/// nor the direct history of a connection it says holds no account.
pub(super) fn refused(app: &mut App, code: &ErrorCode) -> bool {
    let Some(oldest) = app.history_asked.front() else {
        return false;
    };
    match code {
        ErrorCode::UnknownCommand => app.no_history = true,
        ErrorCode::BadHistory => {}
        ErrorCode::LoginRequired if matches!(oldest.target, Target::Nick(_)) => {
            app.account.history_refused();
        }
        _ => return false,
    }
    app.history_asked.pop_front();
    true
}

fn rule(app: &mut App, index: usize, at: u64, text: String) {
    let time = app.tabs[index]
        .lines()
        .get(at.saturating_sub(app.tabs[index].seq(0)) as usize)
        .map_or(NaiveTime::MIN, |line| line.time);
    let line = app.line(time, Body::Rule(text), None);
    app.put(index, at, line);
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The local time of a moment the server gave in UTC.
fn local_time(app: &App, time: UtcMillis) -> NaiveTime {
    i64::try_from(time.millis())
        .ok()
        .and_then(DateTime::from_timestamp_millis)
        .map_or(NaiveTime::MIN, |utc| {
            utc.with_timezone(&app.utc_offset).time()
        })
}
