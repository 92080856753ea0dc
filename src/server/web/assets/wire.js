// The wire protocol as the page speaks it: reading the server's lines into plain objects,
// spelling the commands the page sends, and the name rules of protocol.md (nicks, rooms,
// passwords, file names). Pure: no DOM, no socket, no state; the browser tests import it.
// Out of scope: what a line does to the page (chat.js) and the connection (conn.js).

/** A nick: a letter, then up to 31 letters, digits, `_` or `-` (protocol.md "Nicks"). */
export const NICK_RE = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;
/** A room: `#` then 1 to 48 letters, digits, `_` or `-` (protocol.md "Room names"). */
export const ROOM_RE = /^#[A-Za-z0-9_-]{1,48}$/;
/** The server's line limit, ending included (`--max-line`'s default). */
export const MAX_LINE = 4096;
/** Lines asked for on a join and per scroll to the top (the server's default page). */
export const HISTORY_PAGE = 50;
/** Lines asked per page when catching up after a reconnect (the most one answer holds). */
export const HISTORY_MAX = 1000;

/** The capabilities asked before `NICK`, as the terminal client asks them. */
export const CAPS = ['actions', 'away', 'owner', 'presence', 'ids', 'files'];

const encoder = new TextEncoder();

/** The length in bytes of `text` as UTF-8: the unit of every limit of the protocol. */
export function byteLength(text) {
  return encoder.encode(text).length;
}

/** The key under which a nick or room is unique: names are ASCII, compared ignoring case. */
export function fold(name) {
  return name.toLowerCase();
}

/** Why `nick` cannot be a nick, in the words of `ERR BAD_NICK`, or null when it can. */
export function nickProblem(nick) {
  if (nick.length === 0) return 'choose a nick';
  if (nick.length > 32) return 'a nick has at most 32 characters';
  if (!/^[A-Za-z]/.test(nick)) return 'a nick starts with a letter';
  if (!NICK_RE.test(nick)) return "a nick has only letters, digits, '_' and '-'";
  return null;
}

/** Why `password` cannot be a new password (protocol.md "Passwords"), or null. */
export function passwordProblem(password) {
  const bytes = byteLength(password);
  if (bytes < 8) return 'a password has at least 8 bytes';
  if (bytes > 128) return 'a password has at most 128 bytes';
  if (/\s/.test(password)) return 'a password has no spaces';
  return null;
}

// The characters protocol.md "Text" refuses in a text: C0 controls but TAB, DEL, C1
// controls, the line and paragraph separators and the bidirectional controls.
const REFUSED = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Whether `text` holds a character the server refuses in a message (`ERR BAD_TEXT`). */
export function hasRefusedCharacter(text) {
  REFUSED.lastIndex = 0;
  return REFUSED.test(text);
}

/**
 * A file's name as `UPLOAD` may carry it: no `/` or `\` (a name, not a path), none of the
 * characters refused in a text, no spaces at either end, at most 255 bytes; `file` when
 * nothing is left.
 */
export function safeFileName(name) {
  let safe = name.replace(REFUSED, '_').replace(/[/\\]/g, '_').trim();
  while (byteLength(safe) > 255) {
    // Keep the extension: cut the stem, one code point at a time.
    const dot = safe.lastIndexOf('.');
    const ext = dot > 0 && safe.length - dot <= 16 ? safe.slice(dot) : '';
    const stem = Array.from(safe.slice(0, safe.length - ext.length));
    stem.pop();
    safe = stem.join('') + ext;
  }
  return safe === '' || safe === '.' || safe === '..' ? 'file' : safe;
}

/** Whether a file of this name is shown as a picture (by its extension). */
export function isImageName(name) {
  return /\.(png|jpe?g|gif|webp)$/i.test(name);
}

/** A size in bytes as people read it: `512 B`, `3.4 KB`, `12 MB`. */
export function formatSize(bytes) {
  const units = ['B', 'KB', 'MB', 'GB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

// The terminal client's palette (crates/client/src/ui/style.rs), by index: the page's CSS
// gives each index a colour (`.nick-0` to `.nick-11`).
const PALETTE_SIZE = 12;

/**
 * The colour index of a nick, as the terminal client computes it: FNV-1a, 32 bits, over the
 * ASCII-lower-cased bytes of the nick, modulo 12. So a nick has one colour everywhere.
 */
export function nickColor(nick) {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(nick)) {
    const lower = byte >= 0x41 && byte <= 0x5a ? byte + 32 : byte;
    hash ^= lower;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % PALETTE_SIZE;
}

/** Whether `text` names `nick` as a word of its own (a mention), ignoring case. */
export function mentions(text, nick) {
  if (!nick) return false;
  const lower = text.toLowerCase();
  const name = nick.toLowerCase();
  const word = /[a-z0-9_-]/;
  for (let at = lower.indexOf(name); at !== -1; at = lower.indexOf(name, at + 1)) {
    const before = at === 0 ? '' : lower[at - 1];
    const after = lower[at + name.length] ?? '';
    if (!word.test(before) && !word.test(after)) return true;
  }
  return false;
}

// Splits off `count` words, each ended by one space, and returns them with the rest of the
// line (the server separates its words by exactly one space and keeps texts as sent).
function take(line, count) {
  const words = [];
  let rest = line;
  for (let i = 0; i < count; i += 1) {
    const space = rest.indexOf(' ');
    if (space === -1) {
      words.push(rest);
      rest = null;
      for (let j = i + 1; j < count; j += 1) words.push(null);
      break;
    }
    words.push(rest.slice(0, space));
    rest = rest.slice(space + 1);
  }
  return [...words, rest];
}

const isRoom = (word) => typeof word === 'string' && word.startsWith('#');
const isNumber = (word) => typeof word === 'string' && /^\d+$/.test(word);

/**
 * One server line as an object `{ kind, ... }`; `{ kind: 'unknown', line }` for a line the
 * page does not read. A line with an id (`CAP ids`) is the line it carries, with `id`.
 */
export function parseLine(line) {
  if (line.startsWith('@')) {
    const [id, rest] = take(line.slice(1), 1);
    if (isNumber(id) && rest !== null) return { ...parseLine(rest), id: Number(id) };
  }
  const [word, rest] = take(line, 1);
  const parse = READERS[word];
  return (parse && parse(rest ?? '', line)) || { kind: 'unknown', line };
}

// The readers of each first word. Each returns null for a line it cannot read.
const READERS = {
  HELLO: (rest) => ({ kind: 'hello', text: rest }),
  OK: readOk,
  ERR: (rest) => {
    const [code, text] = take(rest, 1);
    return { kind: 'err', code, text: text ?? '' };
  },
  JOIN: (rest) => {
    const [first, nick] = take(rest, 1);
    if (isRoom(first)) return nick ? { kind: 'room-join', room: first, nick } : null;
    return { kind: 'join', nick: first };
  },
  PART: (rest) => {
    const [room, nick, reason] = take(rest, 2);
    return nick ? { kind: 'room-part', room, nick, reason } : null;
  },
  NICK: (rest) => {
    const [from, to] = take(rest, 1);
    return to ? { kind: 'nick', from, to } : null;
  },
  QUIT: (rest) => {
    const [nick, reason] = take(rest, 1);
    return nick ? { kind: 'quit', nick, reason } : null;
  },
  MSG: (rest) => {
    const [first, second, third] = take(rest, 2);
    if (isRoom(first)) {
      return third === null ? null : { kind: 'msg', target: first, from: second, text: third };
    }
    const [from, text] = take(rest, 1);
    return text === null ? null : { kind: 'msg', target: null, from, text };
  },
  ALL: (rest) => {
    const [from, text] = take(rest, 1);
    return text === null ? null : { kind: 'msg', target: '*', from, text };
  },
  ME: (rest) => {
    const [target, from, text] = take(rest, 2);
    if (text === null) return null;
    return { kind: 'msg', target: target === '*' || isRoom(target) ? target : null, from, text, action: true };
  },
  WHO: (rest) => {
    const words = rest.split(' ').filter((w) => w !== '');
    if (isRoom(words[0])) return { kind: 'who', room: words[0], nicks: words.slice(1) };
    return { kind: 'who', room: null, nicks: words };
  },
  END: (rest) => {
    const [what, target, count] = take(rest, 2);
    if (what === 'WHO') return { kind: 'end-who', room: target };
    if (what === 'HISTORY') return { kind: 'end-history', target, count: Number(count ?? 0) };
    return { kind: `end-${what.toLowerCase()}` };
  },
  ROOM: (rest) => {
    const [room, members, topic] = take(rest, 2);
    return { kind: 'room', room, members: Number(members ?? 0), topic: topic ?? '' };
  },
  TOPIC: (rest) => {
    const [room, setter, text] = take(rest, 2);
    return { kind: 'topic', room, setter, text };
  },
  INVITE: (rest) => {
    const [room, from] = take(rest, 1);
    return { kind: 'invite', room, from };
  },
  AWAY: (rest) => {
    const [nick, text] = take(rest, 1);
    return { kind: 'away', nick, text: text ?? '' };
  },
  OWNER: (rest) => {
    const [room, nick] = take(rest, 1);
    return { kind: 'owner', room, nick };
  },
  PRESENCE: (rest) => {
    const [mode, count] = take(rest, 1);
    return { kind: 'presence', exact: mode === 'EXACT', count: Number(count ?? 0) };
  },
  HIST: (rest) => {
    const [target, id, time, line] = take(rest, 3);
    if (line === null || !isNumber(id)) return null;
    return { kind: 'hist', target, id: Number(id), time, line: parseLine(line) };
  },
  PONG: (rest) => ({ kind: 'pong', token: rest }),
  PING: (rest) => ({ kind: 'ping', token: rest }),
  BYE: (rest) => ({ kind: 'bye', reason: rest }),
  HELP: (rest) => ({ kind: 'help', text: rest }),
  STATS: (rest) => ({ kind: 'stats', text: rest }),
  FILE: readFile,
};

function readOk(rest) {
  const [what, arg, more] = take(rest, 2);
  switch (what) {
    case 'NICK':
    case 'LOGIN':
    case 'UNREGISTER':
    case 'STORED':
      return { kind: `ok-${what.toLowerCase()}`, nick: arg };
    case 'REGISTER':
      return isRoom(arg) ? { kind: 'ok-register-room', room: arg } : { kind: 'ok-register', nick: arg };
    case 'JOIN':
    case 'PART':
    case 'KEY':
      return { kind: `ok-${what.toLowerCase()}`, room: arg };
    case 'PRIVATE':
      return { kind: 'ok-private', room: arg, on: more === 'on' };
    case 'INVITE':
      return { kind: 'ok-invite', nick: arg, room: more };
    case 'CAP':
      return { kind: 'ok-cap', cap: arg };
    case 'AWAY':
      return { kind: 'ok-away', on: arg === 'on' };
    case 'PASSWORD':
      return { kind: 'ok-password' };
    case 'UPLOAD':
    case 'FILE':
      return { kind: `ok-${what.toLowerCase()}`, url: arg };
    default:
      return null;
  }
}

// `FILE #room <from> <size> <url> <name>` (a room's), `FILE * <from> ...` (the lobby's, with
// `CAP files`), or `FILE <from> <size> <url> <name>` (a direct one with `CAP files`; without
// it, the lobby's or a direct one: the line does not say which; `target` is null).
function readFile(rest) {
  const [first] = take(rest, 1);
  if (isRoom(first) || first === '*') {
    const [target, from, size, url, name] = take(rest, 4);
    if (name === null || !isNumber(size)) return null;
    return { kind: 'file', target, from, size: Number(size), url, name };
  }
  const [from, size, url, name] = take(rest, 3);
  if (name === null || !isNumber(size)) return null;
  return { kind: 'file', target: null, from, size: Number(size), url, name };
}

/** The command lines the page sends, spelled as protocol.md spells them. */
export const cmd = {
  cap: (name) => `CAP ${name}`,
  nick: (nick) => `NICK ${nick}`,
  login: (nick, password) => `LOGIN ${nick} ${password}`,
  register: (password) => `REGISTER ${password}`,
  msg: (target, text) => (target === '*' ? `ALL ${text}` : `MSG ${target} ${text}`),
  me: (target, text) => `ME ${target} ${text}`,
  join: (room, key) => (key ? `JOIN ${room} ${key}` : `JOIN ${room}`),
  part: (room, reason) => (reason ? `PART ${room} ${reason}` : `PART ${room}`),
  who: (room) => (room ? `WHO ${room}` : 'WHO'),
  topic: (room, text) => (text ? `TOPIC ${room} ${text}` : `TOPIC ${room}`),
  away: (text) => (text ? `AWAY ${text}` : 'AWAY'),
  quit: (reason) => (reason ? `QUIT ${reason}` : 'QUIT'),
  ping: (token) => `PING ${token}`,
  pong: (token) => (token ? `PONG ${token}` : 'PONG'),
  rooms: () => 'ROOMS',
  help: () => 'HELP',
  history: (target, count, page) => {
    const base = `HISTORY ${target} ${count}`;
    if (!page) return base;
    return `${base} ${page.before ? 'BEFORE' : 'AFTER'} ${page.before ?? page.after}`;
  },
  upload: (target, size, name) => `UPLOAD ${target} ${size} ${name}`,
};
