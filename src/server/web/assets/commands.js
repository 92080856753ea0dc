// What the user typed in the message field: a message to the conversation shown, or one of
// the slash commands of the terminal client (`/join`, `/part`, `/msg`, `/me`, `/nick`,
// `/topic`, `/away`, `/quit`, `/help`, and a few more). A mistake gets a hint, not a line
// to the server.
// Out of scope: what the lines do once sent (chat.js, replies.js).

import { MAX_LINE, ROOM_RE, byteLength, cmd, hasRefusedCharacter, nickProblem } from './wire.js';

/** The commands, as `/help` lists them. */
export const HELP = [
  ['/join #room [key]', 'join a room (the first to join creates it)'],
  ['/part [#room] [reason]', 'leave a room (this one without a name)'],
  ['/msg NICK|#room TEXT', 'send a message to someone or to a room'],
  ['/query NICK', 'open a conversation with someone'],
  ['/me TEXT', 'an action: * you TEXT'],
  ['/nick NAME', 'change your nick'],
  ['/topic [TEXT]', "show or set this room's topic"],
  ['/away [TEXT]', 'say you are away, and why; alone, back'],
  ['/who [#room]', 'list who is online, or in a room'],
  ['/rooms', 'list the rooms to join'],
  ['/close', 'close this conversation (leaves a room)'],
  ['/clear', 'clear this conversation on screen'],
  ['/quit [reason]', 'leave the chat'],
  ['/help', 'this list'],
];

const ALIASES = { '/j': '/join', '/leave': '/part', '/m': '/msg', '/q': '/query', '/list': '/rooms' };

// The first word of `text` and the rest, without the spaces between.
function word(text) {
  const trimmed = text.trimStart();
  const space = trimmed.indexOf(' ');
  if (space === -1) return [trimmed, ''];
  return [trimmed.slice(0, space), trimmed.slice(space + 1).trimStart()];
}

/**
 * Runs what the user typed in the conversation `tab`. Returns null when it was taken (the
 * field may be emptied), or a hint to show under the field (the text stays, to be mended).
 */
export function submit(chat, tab, text) {
  if (text.trim() === '') return null;
  if (text.startsWith('/') && !text.startsWith('//')) return command(chat, tab, text);
  const message = text.startsWith('//') ? text.slice(1) : text;
  return say(chat, tab, message, false);
}

function say(chat, tab, text, action) {
  if (text.trim() === '') return 'nothing to send';
  if (hasRefusedCharacter(text)) return 'the text has a control character the server refuses';
  // The server's limit counts the whole line: `MSG #room ` before the text, and its ending.
  const prefix = action ? `ME ${tab.target} ` : cmd.msg(tab.target, '');
  if (byteLength(prefix) + byteLength(text) + 1 > MAX_LINE) return 'the message is too long';
  chat.say(tab, text, action);
  return null;
}

function roomOr(tab, name) {
  if (name) return ROOM_RE.test(name) ? name : null;
  return tab.kind === 'room' ? tab.name : null;
}

function command(chat, tab, text) {
  const [typed, rest] = word(text);
  const name = ALIASES[typed.toLowerCase()] ?? typed.toLowerCase();
  switch (name) {
    case '/join': {
      const [room, key] = word(rest);
      if (!ROOM_RE.test(room)) return 'usage: /join #room [key] (a room is # then letters, digits, _ or -)';
      const open = chat.find('room', room);
      if (open && open.joined) {
        chat.activate(open);
        return null;
      }
      chat.sendJoin(room, key || null);
      return null;
    }
    case '/part': {
      const [first, after] = word(rest);
      const named = first.startsWith('#');
      const room = roomOr(tab, named ? first : null);
      if (!room) return 'usage: /part [#room] [reason] (in a room, /part leaves it)';
      const target = chat.find('room', room);
      if (!target) return `you are not in ${room}`;
      chat.close(target, named ? after : rest);
      return null;
    }
    case '/msg': {
      const [target, message] = word(rest);
      if (!target || !message) return 'usage: /msg NICK|#room TEXT';
      if (target.startsWith('#')) {
        const room = chat.find('room', target);
        if (!room) return `you are not in ${target}: /join ${target} first`;
        return say(chat, room, message, false);
      }
      const problem = nickProblem(target);
      if (problem) return problem;
      const direct = chat.directTab(target);
      chat.activate(direct);
      return say(chat, direct, message, false);
    }
    case '/query': {
      const [nick] = word(rest);
      const problem = nickProblem(nick);
      if (problem) return `usage: /query NICK (${problem})`;
      chat.activate(chat.directTab(nick));
      return null;
    }
    case '/me':
      if (!rest.trim()) return 'usage: /me TEXT';
      return say(chat, tab, rest, true);
    case '/nick': {
      const problem = nickProblem(rest.trim());
      if (problem) return `usage: /nick NAME (${problem})`;
      chat.replyTab = tab;
      chat.sendOrKeep(cmd.nick(rest.trim()));
      return null;
    }
    case '/topic': {
      const [first, after] = word(rest);
      const named = first.startsWith('#');
      const room = roomOr(tab, named ? first : null);
      if (!room) return 'usage: /topic [#room] [text] (in a room, /topic shows its topic)';
      const topic = named ? after : rest;
      if (topic && hasRefusedCharacter(topic)) return 'the topic has a control character the server refuses';
      chat.replyTab = tab;
      chat.sendOrKeep(cmd.topic(room, topic));
      return null;
    }
    case '/away':
      if (rest && hasRefusedCharacter(rest)) return 'the text has a control character the server refuses';
      chat.replyTab = tab;
      chat.sendOrKeep(cmd.away(rest));
      return null;
    case '/who': {
      const room = rest ? roomOr(tab, word(rest)[0]) : null;
      if (rest && !room) return 'usage: /who [#room]';
      chat.replyTab = tab;
      chat.whoShown.add(room ? room.toLowerCase() : '*');
      chat.sendOrKeep(cmd.who(room));
      return null;
    }
    case '/rooms':
      chat.ui.showRooms();
      return null;
    case '/close':
      if (tab.kind === 'lobby') return 'the lobby stays open';
      chat.close(tab);
      return null;
    case '/clear':
      tab.clear();
      return null;
    case '/quit':
      chat.quit(rest);
      return null;
    case '/help':
      for (const [usage, what] of HELP) chat.notice(tab, `${usage.padEnd(24)} ${what}`, 'info');
      return null;
    default:
      return `no command ${typed}; /help lists them (start with // to send a line that begins with /)`;
  }
}
