// The page's chat session: the conversations (tabs), who we are, the connection's life
// (capabilities and `NICK` or `LOGIN` on every connection, joining the rooms again and
// catching up after a reconnect), and the lines the user sends, kept while the connection
// is down and sent, shown as pending, when it is back.
// Out of scope: reading each server line (replies.js), slash commands (commands.js), history
// requests (history.js), uploads (files.js), and the page around the log (app.js).

import { Connection } from './conn.js';
import { Files, fileCard, ownFileKey } from './files.js';
import { History } from './history.js';
import { handleLine } from './replies.js';
import { Tab } from './tabs.js';
import { chatLine, noticeLine } from './view.js';
import { CAPS, cmd, fold, mentions } from './wire.js';

let lastFlush = 0;

export class Chat {
  /** `ui`: the page's callbacks (see app.js `ui`). */
  constructor(ui, url) {
    this.ui = ui;
    this.connection = new Connection(url, {
      open: () => this.onOpen(),
      line: (line) => this.onLine(line),
      down: (retry) => this.onDown(retry),
    });
    this.history = new History(this);
    this.files = new Files(this);
    /** `{ mode: 'guest' | 'login' | 'register', nick, password }`: how we register. */
    this.identity = null;
    /** Our nick once the server said it; null before. */
    this.me = null;
    /** Whether this connection holds an account (`OK LOGIN`, `OK REGISTER`). */
    this.account = false;
    /** `REGISTER <password>` sent and not answered. */
    this.registering = false;
    this.registered = false;
    /** Whether we were ever registered: a new connection then resumes the session. */
    this.session = false;
    this.caps = new Set();
    this.capsUnanswered = 0;
    /** The direct history can be asked: logged in, and the messages that waited are in. */
    this.directHistory = false;
    this.tabs = [];
    this.lobby = this.addTab(new Tab('lobby', '*'));
    this.active = this.lobby;
    /** The newest id seen anywhere: where a conversation that saw none resumes. */
    this.newestId = null;
    /** Lines typed while the connection was down: `{ line, row }`, sent when it is back. */
    this.outbox = [];
    /** Sent from the outbox and not confirmed by our `PING flush-N` yet. */
    this.flushing = new Map();
    /** `WHO` answers being read: folded room (or `*`) to nicks. */
    this.whoLists = new Map();
    /** `WHO` we asked to show (the `/who` command), by folded room or `*`. */
    this.whoShown = new Set();
    /** Rooms joined by this connection and not answered yet (folded), oldest first. */
    this.joining = [];
    /** Rooms whose `OK JOIN` came and whose member list has not ended yet. */
    this.joinedNow = new Set();
    /** Keys given to `JOIN`, by folded room: a room is joined again with its key. */
    this.keys = new Map();
    /** Where the server's answers to what the user typed are shown. */
    this.replyTab = this.lobby;
    this.renamesTried = 0;
  }

  get online() {
    return this.connection.online && this.registered;
  }

  // --- the connection ---------------------------------------------------------------

  /** The user chose who to be (the login form): connect, or register on this connection. */
  start(identity) {
    this.identity = identity;
    this.renamesTried = 0;
    if (this.registered && identity.mode === 'register') {
      this.sendRegister();
    } else if (this.connection.online) {
      this.sendIdentity();
    } else {
      this.connection.start();
      this.ui.status('connecting');
    }
  }

  /** The user asked to connect again (after `/quit` or "logged in elsewhere"), or now. */
  reconnect() {
    if (this.connection.wanted) this.connection.retryNow();
    else this.connection.start();
    this.ui.status('connecting');
  }

  onOpen() {
    this.registered = false;
    this.caps = new Set();
    this.capsUnanswered = CAPS.length;
    for (const cap of CAPS) this.send(cmd.cap(cap));
    this.sendIdentity();
  }

  sendIdentity() {
    const { mode, nick, password } = this.identity;
    if (mode === 'login') this.send(cmd.login(nick, password));
    else this.send(cmd.nick(nick));
  }

  sendRegister() {
    this.registering = true;
    this.send(cmd.register(this.identity.password));
  }

  onLine(line) {
    handleLine(this, line);
  }

  onDown(retry) {
    const wasRegistered = this.registered;
    this.registered = false;
    this.account = false;
    this.registering = false;
    this.directHistory = false;
    this.history.reset();
    this.files.reset();
    this.whoLists.clear();
    this.joining = [];
    this.joinedNow.clear();
    if (wasRegistered) {
      for (const tab of this.tabs) {
        tab.resumeAfter = tab.lastId ?? this.newestId;
        tab.busy(true);
        if (tab.kind === 'room') tab.joined = false;
      }
      this.notice(this.lobby, 'disconnected', 'error');
    }
    // Lines sent but not confirmed may not have arrived: send them again.
    for (const [, lines] of this.flushing) this.outbox.unshift(...lines);
    this.flushing.clear();
    for (const { row } of this.outbox) row?.classList.add('pending');
    this.ui.status('offline', retry);
  }

  /** `OK NICK` or `OK LOGIN` registered this connection. */
  onRegistered(nick) {
    this.registered = true;
    this.me = nick;
    this.connection.settled();
    const again = this.session;
    this.session = true;
    this.ui.status('online');
    if (this.identity.mode === 'guest') this.identity = { ...this.identity, nick };
    // A new account is made on the nick just taken; the page opens once it is made.
    if (this.identity.mode === 'register' && !this.account) this.sendRegister();
    else this.ui.loggedIn(this.account);
    this.send(cmd.who());
    const ids = this.caps.has('ids');
    if (ids && again && this.lobby.resumeAfter !== null) this.history.resume(this.lobby, this.lobby.resumeAfter);
    else if (ids && !again) this.history.latest(this.lobby);
    else this.lobby.busy(false);
    this.lobby.resumeAfter = null;
    for (const tab of this.tabs) {
      // A guest's direct conversations have no history to catch up with.
      if (tab.kind === 'direct' && (!this.account || !ids)) tab.busy(false);
    }
    if (again) {
      this.notice(this.lobby, `connected again as ${nick}`);
      for (const tab of this.tabs) {
        // Straight out, before the lines kept meanwhile: those may be for these rooms.
        if (tab.kind === 'room') this.sendJoin(tab.name, this.keys.get(tab.key), true);
      }
    } else {
      this.notice(this.lobby, `you are ${nick}; say hello, or join a room`);
    }
    this.flush();
    this.files.resume();
    this.ui.tabsChanged();
    this.ui.headerChanged();
  }

  /** `OK LOGIN`: the `PING` barrier whose `PONG` says the waiting messages are in. */
  onLoggedIn() {
    this.account = true;
    if (this.identity.mode === 'register') this.identity = { ...this.identity, mode: 'login' };
    this.send(cmd.ping('login'));
  }

  /** The `PONG login` barrier: direct conversations catch up now. */
  onLoginBarrier() {
    if (!this.account || !this.caps.has('ids')) return;
    this.directHistory = true;
    for (const tab of this.tabs) {
      if (tab.kind !== 'direct') continue;
      if (tab.resumeAfter !== null) this.history.resume(tab, tab.resumeAfter);
      else if (tab.wantsLatest) this.history.latest(tab);
      else tab.busy(false);
      tab.resumeAfter = null;
      tab.wantsLatest = false;
    }
  }

  /** Sends a line now; false when the connection is down. */
  send(line) {
    return this.connection.send(line);
  }

  /** Sends a line the user caused, or keeps it (shown as pending) until the connection is back. */
  sendOrKeep(line, row) {
    if (this.online && this.outbox.length === 0) {
      this.send(line);
      return;
    }
    if (row) row.classList.add('pending');
    this.outbox.push({ line, row });
  }

  /** Sends what was typed while the connection was down, then a barrier that confirms it. */
  flush() {
    if (this.outbox.length === 0) return;
    const lines = this.outbox;
    this.outbox = [];
    for (const { line } of lines) this.send(line);
    lastFlush += 1;
    const token = `flush-${lastFlush}`;
    this.flushing.set(token, lines);
    this.send(cmd.ping(token));
  }

  /** `PONG flush-N`: the lines sent before it are in. */
  onFlushed(token) {
    const lines = this.flushing.get(token);
    this.flushing.delete(token);
    for (const { row } of lines ?? []) row?.classList.remove('pending');
  }

  // --- conversations ------------------------------------------------------------------

  addTab(tab) {
    this.tabs.push(tab);
    this.ui.tabAdded(tab);
    return tab;
  }

  hasTab(tab) {
    return this.tabs.includes(tab);
  }

  /** The tab of a room or nick, by any spelling; null when none is open. */
  find(kind, name) {
    if (kind === 'lobby') return this.lobby;
    return this.tabs.find((tab) => tab.kind === kind && tab.key === fold(name)) ?? null;
  }

  /** The room's tab, opened if needed. */
  roomTab(room) {
    return this.find('room', room) ?? this.addTab(new Tab('room', room));
  }

  /** The direct conversation with `nick`, opened if needed (asking its latest lines). */
  directTab(nick) {
    const found = this.find('direct', nick);
    if (found) return found;
    const tab = this.addTab(new Tab('direct', nick));
    if (this.directHistory) this.history.latest(tab);
    else if (this.account) tab.wantsLatest = true;
    this.ui.tabsChanged();
    return tab;
  }

  activate(tab) {
    if (!this.hasTab(tab)) return;
    this.active = tab;
    this.replyTab = tab;
    tab.unread = 0;
    tab.mentioned = false;
    this.ui.activated(tab);
  }

  /** Closes a tab; a room's is closed when the server confirms the `PART`. */
  close(tab, reason) {
    if (tab.kind === 'lobby') return;
    if (tab.kind === 'room' && tab.joined) {
      this.sendOrKeep(cmd.part(tab.name, reason));
      return;
    }
    this.remove(tab);
  }

  remove(tab) {
    const at = this.tabs.indexOf(tab);
    if (at === -1) return;
    this.tabs.splice(at, 1);
    this.ui.tabRemoved(tab);
    if (this.active === tab) this.activate(this.tabs[Math.max(0, at - 1)]);
    this.ui.tabsChanged();
  }

  /** Scrolled to the top of `tab`: the older lines, if the server keeps them for it. */
  loadOlder(tab) {
    if (!this.online || !this.caps.has('ids') || tab.historyStart) return;
    if (tab.kind === 'direct' && !this.directHistory) return;
    if (tab.kind === 'room' && !tab.joined) return;
    this.history.older(tab);
  }

  /** `JOIN`: by the user (kept while the connection is down), or again after a reconnect. */
  sendJoin(room, key, again = false) {
    this.joining.push(fold(room));
    if (again) this.send(cmd.join(room, key));
    else this.sendOrKeep(cmd.join(room, key));
    if (key) this.keys.set(fold(room), key);
  }

  // --- lines in a conversation ----------------------------------------------------------

  /** Puts a row at the end of a tab, counting it unread if the user does not see it. */
  place(tab, row, id, { unread = false, mention = false } = {}) {
    tab.append(row, id);
    if (unread && (tab !== this.active || document.hidden)) {
      tab.unread += 1;
      tab.mentioned = tab.mentioned || mention;
      this.ui.tabsChanged();
    }
  }

  notice(tab, text, kind = 'notice') {
    this.place(tab, noticeLine(new Date(), text, kind));
  }

  /** A chat line that came live: in its tab, unread, a mention noted and maybe notified. */
  chatCame(tab, line, id) {
    if (id !== undefined && tab.ids.has(id)) return;
    if (id !== undefined && (this.newestId === null || id > this.newestId)) this.newestId = id;
    const mention = fold(line.from) !== fold(this.me ?? '') && mentions(line.text, this.me);
    const direct = tab.kind === 'direct';
    const row = chatLine({ ...line, time: line.time ?? new Date(), mention, direct });
    this.place(tab, row, id, { unread: true, mention: mention || direct });
    if (mention || direct) this.ui.alert(tab, line, mention);
  }

  /** A file that came live. */
  fileCame(tab, file, id) {
    if (id !== undefined && tab.ids.has(id)) return;
    if (id !== undefined && (this.newestId === null || id > this.newestId)) this.newestId = id;
    this.place(tab, fileCard({ ...file, time: new Date() }), id, {
      unread: true,
      mention: tab.kind === 'direct',
    });
    if (tab.kind === 'direct') this.ui.alert(tab, { from: file.from, text: `sent ${file.name}` }, false);
  }

  /** The row of one `HIST` line for `tab`, or null (not a chat line, or our own, shown). */
  historyLine(tab, hist) {
    if (this.newestId === null || hist.id > this.newestId) this.newestId = hist.id;
    const line = hist.line;
    const time = new Date(hist.time);
    if (line.kind === 'file') {
      const own = fold(line.from) === fold(this.me ?? '');
      if (own && tab.claimOwn(ownFileKey(line.url), false, hist.id)) return null;
      return fileCard({ ...line, time, own });
    }
    if (line.kind !== 'msg') return null;
    const action = line.action || line.text.startsWith('/me ');
    const text = line.text.startsWith('/me ') && !line.action ? line.text.slice(4) : line.text;
    const own = fold(line.from) === fold(this.me ?? '');
    if (own && tab.claimOwn(text, action, hist.id)) return null;
    const mention = !own && mentions(text, this.me);
    return chatLine({ time, from: line.from, text, action, own, mention });
  }

  /** Missed lines that a reconnect brought in count as unread. */
  counted(tab, n) {
    if (n === 0 || tab === this.active) return;
    tab.unread += n;
    this.ui.tabsChanged();
  }

  /** The user sends `text` to `tab` as a message (or an action). */
  say(tab, text, action = false) {
    const row = chatLine({ time: new Date(), from: this.me, text, action, own: true });
    this.place(tab, row);
    tab.ownWithoutId.push({ text, action, row });
    // Only lines that history may bring back wait for their id; old ones are let go.
    if (tab.ownWithoutId.length > 200) tab.ownWithoutId.shift();
    const line = action ? cmd.me(tab.target, text) : cmd.msg(tab.target, text);
    this.replyTab = tab;
    this.sendOrKeep(line, row);
  }

  /** `/quit`: leave, and stop connecting until the user asks. */
  quit(reason) {
    this.send(cmd.quit(reason));
    this.connection.stop();
    this.ui.banner('You left the chat.');
  }

  sendFiles(tab, files) {
    for (const file of files) this.files.send(tab, file);
  }
}
