// One conversation of the page (the lobby, a room, a direct conversation with a nick): its
// log element and where lines go in it (at the end, above everything, or in a place kept
// for lines missed while away), the ids it shows, its members, topic and unread count.
// Out of scope: what is said (chat.js), asking for history (history.js), the tab list and
// member list on screen (app.js).

import { fold } from './wire.js';

let lastUid = 0;

/** How close to the bottom (px) a log counts as "at the bottom" and follows new lines. */
const STICKY = 48;
/** The rows a log keeps at most, and how many go at once when it has more. */
const MAX_ROWS = 3000;
const TRIM_ROWS = 500;

export class Tab {
  /** `kind`: `lobby`, `room` or `direct`; `name`: `*`, `#Room` or a nick, as spelled. */
  constructor(kind, name) {
    lastUid += 1;
    this.uid = lastUid;
    this.kind = kind;
    this.name = name;
    this.log = document.createElement('div');
    this.log.className = 'log';
    this.log.id = `log-${this.uid}`;
    this.log.setAttribute('role', 'log');
    this.log.setAttribute('aria-live', 'polite');
    this.log.setAttribute('aria-labelledby', `tab-${this.uid}`);
    this.log.tabIndex = 0;
    this.log.hidden = true;
    /** Members by folded nick (lobby and rooms), their spelling as the value. */
    this.members = new Map();
    /** Whether the lobby's members are only counted (`PRESENCE COUNT`): the count. */
    this.counted = null;
    this.owner = null;
    /** `{ setter, text }` of a room's topic, or null. */
    this.topic = null;
    this.unread = 0;
    this.mentioned = false;
    /** The message ids of the lines shown, so a line is shown once. */
    this.ids = new Set();
    this.lastId = null;
    this.oldestId = null;
    /** Where a reconnect resumes: the last id seen when the connection was lost. */
    this.resumeAfter = null;
    /** A direct tab opened while its history could not be asked yet: ask once it can. */
    this.wantsLatest = false;
    /** The server said there is nothing older than the top line. */
    this.historyStart = false;
    /** A room: whether this connection is in it. */
    this.joined = false;
    /** Our own lines, shown when sent, whose ids we learn when history brings them back. */
    this.ownWithoutId = [];
  }

  /** The folded name: how the page finds a tab by a name the server spelled. */
  get key() {
    return this.kind === 'lobby' ? '*' : fold(this.name);
  }

  /** The target of `MSG`, `ME`, `HISTORY` and `UPLOAD` for this conversation. */
  get target() {
    return this.kind === 'lobby' ? '*' : this.name;
  }

  /** The name shown in the tab list. */
  get label() {
    return this.kind === 'lobby' ? 'Lobby' : this.name;
  }

  /**
   * Marks the log busy (`aria-busy`) while lines it misses may still come: from the loss of
   * the connection until it has caught up, and while history is being fetched.
   */
  busy(on) {
    if (on) this.log.setAttribute('aria-busy', 'true');
    else this.log.removeAttribute('aria-busy');
  }

  atBottom() {
    const log = this.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < STICKY;
  }

  /** Notes that a line with this id is shown. */
  noteId(id) {
    if (id === null || id === undefined) return;
    this.ids.add(id);
    if (this.lastId === null || id > this.lastId) this.lastId = id;
    if (this.oldestId === null || id < this.oldestId) this.oldestId = id;
  }

  /** Adds a line at the end; the log follows it if it was at the bottom. */
  append(row, id) {
    const follow = this.atBottom();
    this.log.append(row);
    this.noteId(id);
    if (id !== undefined && id !== null) row.dataset.id = String(id);
    if (follow) {
      this.trim();
      this.scrollToEnd();
    }
  }

  /**
   * A log that has grown past `MAX_ROWS` lets its oldest rows go (while the user follows
   * the end, so nothing read moves): a page open for days stays light. Scrolling up loads
   * them again from history.
   */
  trim() {
    if (this.log.childElementCount <= MAX_ROWS) return;
    while (this.log.childElementCount > MAX_ROWS - TRIM_ROWS) {
      const row = this.log.firstElementChild;
      if (row.classList.contains('resume-marker') || row.classList.contains('missed')) break;
      if (row.dataset.id) this.ids.delete(Number(row.dataset.id));
      row.remove();
    }
    const oldest = this.log.querySelector('[data-id]');
    this.oldestId = oldest ? Number(oldest.dataset.id) : null;
    this.historyStart = false;
  }

  /** Puts a line just before `marker` (a place kept in the log). */
  insertBefore(row, marker, id) {
    const follow = this.atBottom();
    this.log.insertBefore(row, marker);
    this.noteId(id);
    if (id !== undefined && id !== null) row.dataset.id = String(id);
    if (follow) this.scrollToEnd();
  }

  /**
   * Puts `rows` (`[row, id]` pairs, oldest first) above everything the log shows, keeping
   * in view what was in view.
   */
  prepend(rows) {
    if (rows.length === 0) return;
    const log = this.log;
    const follow = this.atBottom();
    const before = log.scrollHeight - log.scrollTop;
    const fragment = document.createDocumentFragment();
    for (const [row, id] of rows) {
      if (id !== undefined && id !== null) row.dataset.id = String(id);
      this.noteId(id);
      fragment.append(row);
    }
    log.prepend(fragment);
    if (follow) this.scrollToEnd();
    else log.scrollTop = log.scrollHeight - before;
  }

  scrollToEnd() {
    this.log.scrollTop = this.log.scrollHeight;
  }

  /** The tab is hidden: where its log was scrolled, to come back to it. */
  saveScroll() {
    this.savedScroll = this.atBottom() ? null : this.log.scrollTop;
  }

  /** The tab is shown again: at the end, unless the user had scrolled up. */
  restoreScroll() {
    if (this.savedScroll === null || this.savedScroll === undefined) this.scrollToEnd();
    else this.log.scrollTop = this.savedScroll;
  }

  /**
   * Our own line came back in history with its id: the line shown when we sent it takes the
   * id (it is not shown twice). True when one matched.
   */
  claimOwn(text, action, id) {
    const at = this.ownWithoutId.findIndex((own) => own.text === text && own.action === action);
    if (at === -1) return false;
    const [own] = this.ownWithoutId.splice(at, 1);
    own.row.dataset.id = String(id);
    this.noteId(id);
    return true;
  }

  /** Empties the log (the lines, not what the tab knows of its ids). */
  clear() {
    this.log.replaceChildren();
  }

  /** A member's nick as the lists show it. */
  addMember(nick) {
    this.members.set(fold(nick), nick);
  }

  removeMember(nick) {
    return this.members.delete(fold(nick));
  }

  hasMember(nick) {
    return this.members.has(fold(nick));
  }

  /** A member renamed itself: true when it was one. */
  renameMember(from, to) {
    if (!this.members.delete(fold(from))) return false;
    this.members.set(fold(to), to);
    if (this.owner && fold(this.owner) === fold(from)) this.owner = to;
    return true;
  }
}
