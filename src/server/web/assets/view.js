// Building the page's elements: a line of a conversation, a rule, a file card, a member.
// Every text that came from the wire is set with `textContent` (or as an attribute of an
// element made here): nothing from the server is ever parsed as HTML.
// Out of scope: where lines go (tabs.js) and what they mean (chat.js).

import { formatSize, nickColor } from './wire.js';

/** An element of `tag` with a class and, if given, a text (as text, never as HTML). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

const pad = (n) => String(n).padStart(2, '0');

/** `<time>`: HH:MM in local time, the full date and time in its tooltip. */
export function timeEl(date) {
  const time = el('time', 'time', `${pad(date.getHours())}:${pad(date.getMinutes())}`);
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'medium' });
  return time;
}

/** A nick in its colour (the terminal client's, see wire.js `nickColor`). */
export function nickEl(nick, className = 'nick') {
  return el('span', `${className} nick-${nickColor(nick)}`, nick);
}

// Web addresses in a message become links; everything else stays text. Only http(s)
// addresses are linked, so a `javascript:` text is never a link.
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;

/** The text of a message: text nodes, with its web addresses as links. */
export function richText(text) {
  const span = el('span', 'text');
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    if (match.index > last) span.append(text.slice(last, match.index));
    const link = el('a', 'link', match[0]);
    link.href = match[0];
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    span.append(link);
    last = match.index + match[0].length;
  }
  if (last < text.length) span.append(text.slice(last));
  return span;
}

/**
 * A chat line: `{ time, from, text, action, own, mention, direct }`. An action shows as
 * `* alice waves`.
 */
export function chatLine(line) {
  const row = el('div', 'line chat');
  row.classList.toggle('action', Boolean(line.action));
  row.classList.toggle('own', Boolean(line.own));
  row.classList.toggle('mention', Boolean(line.mention));
  row.append(timeEl(line.time));
  if (line.action) {
    row.append(el('span', 'star', '*'), nickEl(line.from), ' ', richText(line.text));
  } else {
    row.append(nickEl(line.from), el('span', 'sep', ' '), richText(line.text));
  }
  return row;
}

/** A notice of the server or the page: `kind` is `notice`, `info` or `error`. */
export function noticeLine(time, text, kind = 'notice') {
  const row = el('div', `line ${kind}`);
  row.append(timeEl(time), el('span', 'text', text));
  if (kind === 'error') row.setAttribute('role', 'alert');
  return row;
}

/** A rule across the conversation, with a text (`3 missed while away`). */
export function ruleLine(text) {
  const row = el('div', 'rule');
  row.setAttribute('role', 'separator');
  row.append(el('span', null, text));
  return row;
}

/**
 * A file in the conversation: `{ time, from, size, url, name, own }`: its name as a
 * download link, its size and sender; `preview(img)` is called with the `<img>` of a picture.
 */
export function fileLine(file) {
  const row = el('div', 'line file');
  row.classList.toggle('own', Boolean(file.own));
  row.append(timeEl(file.time), nickEl(file.from), el('span', 'sep', ' '));
  const card = el('span', 'file-card');
  // Only a web address is a link: whatever a line carries, it cannot become `javascript:`.
  const web = /^https?:\/\//i.test(file.url);
  const link = el(web ? 'a' : 'span', 'file-name', file.name);
  if (web) {
    link.href = file.url;
    link.download = file.name;
  }
  card.append(link, el('span', 'file-size', formatSize(file.size)));
  row.append(card);
  return row;
}

/** The `<img>` of a picture's preview, to be given its `blob:` source once fetched. */
export function previewEl(name) {
  const img = el('img', 'preview');
  img.alt = name;
  img.decoding = 'async';
  return img;
}

/** An upload on its way: the name, a progress bar, and a status text. */
export function uploadLine(time, from, name, size) {
  const row = el('div', 'line upload own');
  const progress = el('progress', 'upload-progress');
  progress.max = size || 1;
  progress.value = 0;
  progress.setAttribute('aria-label', `uploading ${name}`);
  const status = el('span', 'upload-status', 'waiting');
  row.append(timeEl(time), nickEl(from), el('span', 'sep', ' '), el('span', 'file-name', name));
  row.append(progress, status);
  return { row, progress, status };
}

/** One member in a member list: a button that opens a direct conversation. */
export function memberEl(nick, { owner, me, away }) {
  const item = el('li', 'member');
  const button = el('button', 'member-button');
  button.type = 'button';
  button.append(nickEl(nick));
  if (owner) button.append(el('span', 'badge-owner', 'owner'));
  if (me) button.append(el('span', 'badge-me', 'you'));
  if (away) button.append(el('span', 'badge-away', 'away'));
  button.dataset.nick = nick;
  button.title = me ? 'you' : `message ${nick}`;
  item.append(button);
  return item;
}
