// What each line from the server does to the page: the conversations it goes to, the member
// lists and topics it keeps current, the answers to our own commands, and the errors, each
// shown where the user looks for it (next to the login field, in the join form, in the
// conversation it concerns).
// Out of scope: the session's state and the connection (chat.js), the wire spelling
// (wire.js).

import { chatLine } from './view.js';
import { fold, parseLine } from './wire.js';

/** Errors that answer a `JOIN`. */
const JOIN_ERRORS = new Set([
  'BAD_ROOM',
  'ALREADY_IN_ROOM',
  'TOO_MANY_ROOMS',
  'NO_MORE_ROOMS',
  'INVITE_ONLY',
  'TOO_MANY_ATTEMPTS',
  'BAD_KEY',
  'ROOM_FULL',
]);

/** Errors that answer an `UPLOAD`. */
const FILE_ERRORS = new Set(['FILE_TOO_LARGE', 'QUOTA', 'BAD_FILE_NAME', 'NO_FILES']);

/** Errors about the nick of the login form; the others concern the password. */
const NICK_ERRORS = new Set(['NICK_TAKEN', 'BAD_NICK', 'NICK_REGISTERED', 'NO_SUCH_NICK']);

/** Reads one line from the server and does what it says. */
export function handleLine(chat, raw) {
  const line = parseLine(raw);
  const handler = HANDLERS[line.kind];
  if (handler) handler(chat, line);
  else chat.notice(chat.replyTab, raw, 'info');
}

// The tab a chat line or file belongs to: the lobby, its room, or the direct conversation
// with its sender. Null for a room the page is not in.
function tabOf(chat, line) {
  if (line.target === '*') return chat.lobby;
  if (line.target) return chat.find('room', line.target);
  return chat.directTab(line.from);
}

const isMe = (chat, nick) => chat.me !== null && fold(nick) === fold(chat.me);

const HANDLERS = {
  hello: () => {},
  'ok-cap': (chat, { cap }) => {
    if (chat.capsUnanswered > 0) chat.capsUnanswered -= 1;
    chat.caps.add(cap);
  },
  'ok-nick': (chat, { nick }) => {
    if (!chat.registered) {
      chat.onRegistered(nick);
      return;
    }
    const old = chat.me;
    chat.me = nick;
    if (chat.account && fold(old) !== fold(nick)) {
      // Renaming leaves the account (protocol.md "Accounts"): a guest from now on.
      chat.account = false;
      chat.directHistory = false;
    }
    if (!chat.account) chat.identity = { mode: 'guest', nick };
    chat.ui.nickChanged(nick);
    chat.notice(chat.replyTab, `you are now ${nick}`);
  },
  'ok-login': (chat, { nick }) => {
    chat.account = true;
    chat.identity = { ...chat.identity, nick };
    if (chat.registered) {
      chat.me = nick;
      chat.ui.nickChanged(nick);
      chat.notice(chat.replyTab, `logged in as ${nick}`);
    } else {
      chat.onRegistered(nick);
    }
    chat.onLoggedIn();
  },
  'ok-register': (chat, { nick }) => {
    chat.registering = false;
    chat.account = true;
    chat.identity = { ...chat.identity, mode: 'login', nick };
    // A new account keeps nothing yet: the direct conversations have nothing to ask.
    chat.directHistory = chat.caps.has('ids');
    for (const tab of chat.tabs) tab.wantsLatest = false;
    chat.ui.loggedIn(true);
    chat.notice(chat.lobby, `${nick} is your account now: log in with it next time`);
  },
  'ok-register-room': (chat, { room }) => {
    chat.notice(chat.find('room', room) ?? chat.replyTab, `${room} is registered: it stays when empty and over restarts`);
  },
  'ok-join': (chat, { room }) => {
    const existing = chat.find('room', room);
    const tab = existing ?? chat.roomTab(room);
    tab.name = room;
    tab.joined = true;
    tab.owner = null;
    tab.members.clear();
    const at = chat.joining.indexOf(fold(room));
    if (at !== -1) chat.joining.splice(at, 1);
    chat.joinedNow.add(fold(room));
    if (chat.caps.has('ids')) {
      if (tab.resumeAfter !== null) chat.history.resume(tab, tab.resumeAfter);
      else chat.history.latest(tab);
    } else {
      tab.busy(false);
    }
    tab.resumeAfter = null;
    if (!existing) {
      chat.notice(tab, `you joined ${room}`);
      chat.activate(tab);
    }
    chat.ui.joined(room);
    chat.ui.tabsChanged();
  },
  'ok-part': (chat, { room }) => {
    const tab = chat.find('room', room);
    if (tab) chat.remove(tab);
    chat.notice(chat.lobby, `you left ${room}`);
  },
  'room-join': (chat, { room, nick }) => {
    const tab = chat.find('room', room);
    if (!tab) return;
    tab.addMember(nick);
    chat.notice(tab, `${nick} joined ${tab.name}`);
    chat.ui.membersChanged(tab);
  },
  'room-part': (chat, { room, nick, reason }) => {
    const tab = chat.find('room', room);
    if (!tab) return;
    tab.removeMember(nick);
    chat.notice(tab, `${nick} left ${tab.name}${reason ? ` (${reason})` : ''}`);
    chat.ui.membersChanged(tab);
  },
  join: (chat, { nick }) => {
    if (chat.lobby.counted === null) chat.lobby.addMember(nick);
    chat.notice(chat.lobby, `${nick} is online`);
    chat.ui.membersChanged(chat.lobby);
  },
  quit: (chat, { nick, reason }) => {
    const why = reason ? ` (${reason})` : '';
    chat.lobby.removeMember(nick);
    chat.notice(chat.lobby, `${nick} left${why}`);
    for (const tab of chat.tabs) {
      if (tab.kind === 'room' && tab.removeMember(nick)) chat.notice(tab, `${nick} left${why}`);
      if (tab.kind === 'direct' && tab.key === fold(nick)) chat.notice(tab, `${nick} left${why}`);
    }
    chat.ui.membersChanged(null);
  },
  nick: (chat, { from, to }) => {
    chat.lobby.renameMember(from, to);
    chat.notice(chat.lobby, `${from} is now ${to}`);
    for (const tab of chat.tabs) {
      if (tab.kind === 'room' && tab.renameMember(from, to)) chat.notice(tab, `${from} is now ${to}`);
      if (tab.kind === 'direct' && tab.key === fold(from)) {
        tab.name = to;
        chat.notice(tab, `${from} is now ${to}`);
      }
    }
    chat.ui.membersChanged(null);
    chat.ui.tabsChanged();
  },
  msg: (chat, line) => {
    const tab = tabOf(chat, line);
    if (!tab) return;
    let { text } = line;
    let action = Boolean(line.action);
    // A server that did not turn `CAP actions` on sends an action as a `/me` message.
    if (!action && text.startsWith('/me ')) {
      action = true;
      text = text.slice(4);
    }
    chat.chatCame(tab, { from: line.from, text, action }, line.id);
  },
  file: (chat, line) => {
    if (line.target === null && line.id !== undefined && !chat.caps.has('files')) {
      // `FILE <from>` from a server without `CAP files`: to everyone or to us alone; history
      // tells which. With it, a lobby file says `FILE *` and this one is direct.
      chat.history.probe(line.id, (lobby) => {
        chat.fileCame(lobby ? chat.lobby : chat.directTab(line.from), line, line.id);
      });
      return;
    }
    const tab = tabOf(chat, line);
    if (tab) chat.fileCame(tab, line, line.id);
  },
  who: (chat, { room, nicks }) => {
    const key = room ? fold(room) : '*';
    chat.whoLists.set(key, [...(chat.whoLists.get(key) ?? []), ...nicks]);
  },
  'end-who': (chat, { room }) => {
    const key = room ? fold(room) : '*';
    const nicks = chat.whoLists.get(key) ?? [];
    chat.whoLists.delete(key);
    const tab = room ? chat.find('room', room) : chat.lobby;
    if (tab && (room ? tab.joined : tab.counted === null)) {
      tab.members.clear();
      for (const nick of nicks) tab.addMember(nick);
      chat.ui.membersChanged(tab);
    }
    if (room) chat.joinedNow.delete(key);
    if (chat.whoShown.delete(key)) {
      chat.notice(chat.replyTab, `${room ?? 'online'}: ${nicks.join(', ') || 'nobody'}`, 'info');
    }
  },
  topic: (chat, { room, setter, text }) => {
    const tab = chat.find('room', room);
    if (!tab || !tab.joined) {
      chat.notice(chat.replyTab, setter ? `${room}: ${text} (set by ${setter})` : `${room} has no topic`, 'info');
      return;
    }
    tab.topic = setter ? { setter, text } : null;
    if (!chat.joinedNow.has(tab.key)) {
      chat.notice(tab, setter ? `${setter} set the topic: ${text}` : `${tab.name} has no topic`);
    }
    chat.ui.headerChanged();
  },
  owner: (chat, { room, nick }) => {
    const tab = chat.find('room', room);
    if (!tab) return;
    // The first OWNER, right after joining, only says who owns it; a later one is news.
    if (tab.owner !== null && fold(tab.owner) !== fold(nick)) chat.notice(tab, `${nick} owns ${tab.name} now`);
    tab.owner = nick;
    chat.ui.membersChanged(tab);
  },
  invite: (chat, { room, from }) => {
    chat.notice(chat.replyTab, `${from} invites you to ${room}: type /join ${room}`);
  },
  away: (chat, { nick, text }) => {
    const tab = chat.find('direct', nick) ?? chat.replyTab;
    chat.notice(tab, `${nick} is away: ${text}`);
  },
  'ok-away': (chat, { on }) => {
    chat.notice(chat.replyTab, on ? 'you are away' : 'you are back');
    chat.ui.awayChanged(on);
  },
  'ok-stored': (chat, { nick }) => {
    const tab = chat.find('direct', nick) ?? chat.replyTab;
    chat.notice(tab, `${nick} is offline: the message waits for their next login`);
  },
  'ok-key': (chat, { room }) => chat.notice(chat.replyTab, `the key of ${room} is set`),
  'ok-private': (chat, { room, on }) =>
    chat.notice(chat.replyTab, `${room} is ${on ? 'invite-only' : 'open to all'} now`),
  'ok-invite': (chat, { nick, room }) => chat.notice(chat.replyTab, `${nick} may join ${room} now`),
  'ok-password': (chat) => chat.notice(chat.replyTab, 'your password is changed'),
  'ok-unregister': (chat, { nick }) => {
    chat.account = false;
    chat.identity = { mode: 'guest', nick };
    chat.notice(chat.replyTab, `${nick} is no account any more`);
  },
  presence: (chat, { exact, count }) => {
    chat.lobby.counted = exact ? null : count;
    if (exact) chat.send('WHO');
    chat.ui.membersChanged(chat.lobby);
  },
  room: (chat, room) => {
    chat.roomList = [...(chat.roomList ?? []), room];
  },
  'end-rooms': (chat) => {
    chat.ui.roomsListed(chat.roomList ?? []);
    chat.roomList = null;
  },
  hist: (chat, hist) => {
    if (chat.history.onHist(hist)) return;
    waiting(chat, hist);
  },
  'end-history': (chat, end) => {
    chat.history.onEnd(end);
  },
  pong: (chat, { token }) => {
    if (token === 'login') chat.onLoginBarrier();
    else if (token.startsWith('flush-')) chat.onFlushed(token);
    else chat.files.onPong(token);
  },
  ping: (chat, { token }) => chat.send(token ? `PONG ${token}` : 'PONG'),
  bye: (chat, { reason }) => {
    if (reason === 'logged in elsewhere') {
      chat.connection.stop();
      chat.ui.banner('You logged in somewhere else, so this page was disconnected.');
    } else if (reason) {
      chat.notice(chat.lobby, `the server closed the connection: ${reason}`, 'error');
    }
  },
  help: (chat, { text }) => chat.notice(chat.replyTab, text, 'info'),
  'end-help': () => {},
  stats: (chat, { text }) => chat.notice(chat.replyTab, text, 'info'),
  'end-stats': () => {},
  'ok-upload': (chat, { url }) => {
    if (!chat.files.onUploadUrl(url)) chat.notice(chat.replyTab, `upload URL ${url}`, 'info');
  },
  'ok-file': (chat, { url }) => {
    if (!chat.files.onDelivered(url)) chat.notice(chat.replyTab, `file delivered: ${url}`, 'info');
  },
  err: (chat, { code, text }) => routeError(chat, code, text),
};

// A direct message that waited for our account while we were away, delivered after
// `OK LOGIN` as `HIST <from> <id> <time> MSG <from> <text>`: into the sender's tab, with the
// time it was sent.
function waiting(chat, hist) {
  const line = hist.line;
  if (line.kind !== 'msg' || line.target !== null || fold(line.from) !== fold(hist.target)) {
    chat.notice(chat.replyTab, `${hist.target}: ${line.line ?? ''}`, 'info');
    return;
  }
  const tab = chat.directTab(line.from);
  if (tab.ids.has(hist.id)) return;
  if (chat.newestId === null || hist.id > chat.newestId) chat.newestId = hist.id;
  const action = line.text.startsWith('/me ');
  const text = action ? line.text.slice(4) : line.text;
  const row = chatLine({ time: new Date(hist.time), from: line.from, text, action, direct: true });
  chat.place(tab, row, hist.id, { unread: true, mention: true });
  chat.ui.alert(tab, { from: line.from, text }, false);
}

function routeError(chat, code, text) {
  if (chat.capsUnanswered > 0 && ['UNKNOWN_COMMAND', 'BAD_CAP', 'NOT_REGISTERED'].includes(code)) {
    // A server without that capability: the page works without it.
    chat.capsUnanswered -= 1;
    return;
  }
  if (!chat.registered) {
    registrationRefused(chat, code, text);
    return;
  }
  if (chat.registering && ['WEAK_PASSWORD', 'SERVER_BUSY', 'NICK_REGISTERED', 'TOO_MANY_ATTEMPTS'].includes(code)) {
    chat.registering = false;
    chat.ui.loginFailed('password', text);
    return;
  }
  if (chat.history.refused(code)) return;
  if (FILE_ERRORS.has(code) && chat.files.onRefused(code, text)) return;
  if (JOIN_ERRORS.has(code) && chat.joining.length > 0) {
    const room = chat.joining.shift();
    const tab = chat.find('room', room);
    if (tab && !tab.joined) {
      tab.resumeAfter = null;
      tab.busy(false);
    }
    chat.ui.joinFailed(text);
    chat.notice(tab ?? chat.replyTab, text, 'error');
    return;
  }
  chat.notice(chat.replyTab, text || code, 'error');
}

// The first `NICK` or `LOGIN` of a connection was refused: the login form says why; after a
// reconnect, a nick taken by our own connection not yet gone is tried with a `_` after it.
function registrationRefused(chat, code, text) {
  if (chat.session && code === 'NICK_TAKEN' && chat.renamesTried < 3) {
    chat.renamesTried += 1;
    const nick = `${chat.identity.nick}_`.slice(0, 32);
    chat.identity = { ...chat.identity, nick };
    chat.send(`NICK ${nick}`);
    chat.notice(chat.lobby, `your nick is still taken (${text}); trying ${nick}`, 'error');
    return;
  }
  // Automatic tries would be refused again: the user decides (the form shows why), and
  // the next try of the form connects afresh.
  chat.connection.stop();
  chat.ui.loginFailed(NICK_ERRORS.has(code) ? 'nick' : 'password', text || code);
}
