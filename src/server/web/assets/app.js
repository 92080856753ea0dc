// The page around the conversation: the login form, the tab list, the header, the member
// list, the composer (typing, files by button or drag and drop), dialogs (rooms, the
// Ctrl+K switcher), the theme and notification toggles, the phone's drawer and the keys.
// It turns the user's actions into calls on the chat session, and the session's news into
// what the page shows. Out of scope: the protocol (wire.js, replies.js) and the session's
// rules (chat.js).

import { Chat } from './chat.js';
import { submit } from './commands.js';
import { el, memberEl } from './view.js';
import { ROOM_RE, fold, nickProblem, passwordProblem } from './wire.js';

const $ = (id) => document.getElementById(id);

const store = {
  get(key) {
    try {
      return localStorage.getItem(`chatd.${key}`);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      if (value === null) localStorage.removeItem(`chatd.${key}`);
      else localStorage.setItem(`chatd.${key}`, value);
    } catch {
      // Storage may be off (private windows): the page works, it only forgets.
    }
  },
};

const app = $('app');
/** The login form's button, by the way of joining chosen. */
const SUBMIT_LABELS = { guest: 'Join the chat', login: 'Log in', register: 'Create the account' };
const input = $('input');
const hint = $('input-hint');
const narrow = window.matchMedia('(max-width: 800px)');

// --- theme --------------------------------------------------------------------------

const systemDark = window.matchMedia('(prefers-color-scheme: dark)');

function applyTheme() {
  const chosen = store.get('theme');
  if (chosen) document.documentElement.dataset.theme = chosen;
  else delete document.documentElement.dataset.theme;
  const dark = chosen ? chosen === 'dark' : systemDark.matches;
  // The one switch the style sheet reads, so its dark palette is written once.
  document.documentElement.dataset.scheme = dark ? 'dark' : 'light';
  const button = $('theme-button');
  button.setAttribute('aria-pressed', String(dark));
  button.title = dark ? 'Dark theme (on)' : 'Dark theme (off)';
}

$('theme-button').addEventListener('click', () => {
  const dark = $('theme-button').getAttribute('aria-pressed') === 'true';
  store.set('theme', dark ? 'light' : 'dark');
  applyTheme();
});
systemDark.addEventListener('change', applyTheme);
applyTheme();

// --- notifications ------------------------------------------------------------------

const notifyButton = $('notify-button');

function notificationsOn() {
  return store.get('notify') === 'on' && 'Notification' in window && Notification.permission === 'granted';
}

function showNotifyState() {
  const on = notificationsOn();
  notifyButton.setAttribute('aria-pressed', String(on));
  notifyButton.title = on ? 'Notifications on: mentions and direct messages' : 'Notifications off';
}

notifyButton.addEventListener('click', async () => {
  if (!('Notification' in window)) {
    notifyButton.title = 'This browser has no notifications';
    return;
  }
  if (notificationsOn()) {
    store.set('notify', null);
  } else {
    // Permission is asked only now, when the user turns notifications on.
    const permission = Notification.permission === 'default' ? await Notification.requestPermission() : Notification.permission;
    store.set('notify', permission === 'granted' ? 'on' : null);
  }
  showNotifyState();
});
showNotifyState();

// --- the session and its callbacks ----------------------------------------------------

const tabButtons = new Map();
let retryTimer = null;
/** The session; made below, once `ui` exists (it adds the lobby's tab through `ui`). */
let chat = null;
/** The tab whose log is shown. */
let shownTab = null;

const ui = {
  tabAdded(tab) {
    $('logs').append(tab.log);
    tab.log.addEventListener('scroll', () => {
      if (tab.log.scrollTop < 80) chat.loadOlder(tab);
    });
    // A log too short to scroll has no scroll event: a wheel or swipe up asks too.
    tab.log.addEventListener('wheel', (event) => {
      if (event.deltaY < 0 && tab.log.scrollTop === 0) chat.loadOlder(tab);
    }, { passive: true });
    const button = el('button', `tab ${tab.kind}`);
    button.type = 'button';
    button.id = `tab-${tab.uid}`;
    button.setAttribute('role', 'tab');
    button.setAttribute('aria-controls', tab.log.id);
    button.append(el('span', 'tab-kind'), el('span', 'tab-name'), el('span', 'badge'));
    button.addEventListener('click', () => chat.activate(tab));
    tabButtons.set(tab, button);
    if (chat) ui.tabsChanged();
  },
  tabRemoved(tab) {
    tab.log.remove();
    tabButtons.get(tab)?.remove();
    tabButtons.delete(tab);
  },
  tabsChanged() {
    const list = $('tabs');
    const order = { lobby: 0, room: 1, direct: 2 };
    const tabs = [...chat.tabs].sort(
      (a, b) => order[a.kind] - order[b.kind] || fold(a.name).localeCompare(fold(b.name)),
    );
    let unread = 0;
    for (const tab of tabs) {
      const button = tabButtons.get(tab);
      const selected = tab === chat.active;
      button.setAttribute('aria-selected', String(selected));
      button.tabIndex = selected ? 0 : -1;
      button.classList.toggle('unread', tab.unread > 0);
      button.querySelector('.tab-name').textContent = tab.label;
      const badge = button.querySelector('.badge');
      badge.textContent = tab.unread > 0 ? String(tab.unread) : '';
      badge.hidden = tab.unread === 0;
      badge.classList.toggle('mention', tab.mentioned);
      const mentioned = tab.mentioned && tab.kind !== 'direct' ? ', you are mentioned' : '';
      button.setAttribute('aria-label', tab.unread > 0 ? `${tab.label}, ${tab.unread} unread${mentioned}` : tab.label);
      list.append(button);
      unread += tab.unread;
    }
    document.title = unread > 0 ? `(${unread}) chatd` : 'chatd';
  },
  activated(tab) {
    if (shownTab && shownTab !== tab && !shownTab.log.hidden) shownTab.saveScroll();
    shownTab = tab;
    for (const other of chat.tabs) other.log.hidden = other !== tab;
    tab.restoreScroll();
    ui.tabsChanged();
    ui.headerChanged();
    ui.membersChanged(tab);
    closeOverlays();
    if (!narrow.matches) input.focus();
  },
  headerChanged() {
    const tab = chat.active;
    $('title').textContent = tab.kind === 'lobby' ? 'Lobby' : tab.name;
    const topic = tab.kind === 'room' && tab.topic ? `${tab.topic.text} (set by ${tab.topic.setter})` : '';
    $('topic').textContent = tab.kind === 'direct' ? 'direct messages' : topic;
    $('topic').title = topic;
    const leave = $('leave-button');
    leave.hidden = tab.kind === 'lobby';
    leave.textContent = tab.kind === 'room' ? 'Leave' : 'Close';
    input.placeholder = `Message ${tab.kind === 'lobby' ? 'everyone' : tab.name}`;
  },
  membersChanged(tab) {
    if (tab !== null && tab !== chat.active) return;
    const shown = chat.active;
    const list = $('member-list');
    list.replaceChildren();
    const title = $('members-title');
    if (shown.kind === 'direct') {
      title.textContent = 'In this conversation';
      for (const nick of [chat.me, shown.name]) list.append(memberEl(nick, { me: nick === chat.me }));
      return;
    }
    if (shown.counted !== null) {
      title.textContent = `${shown.counted} online`;
      list.append(el('li', 'note', 'too many to list: /who lists them'));
      return;
    }
    const nicks = [...shown.members.values()].sort((a, b) => fold(a).localeCompare(fold(b)));
    title.textContent = `${shown.kind === 'lobby' ? 'Online' : 'Members'}: ${nicks.length}`;
    for (const nick of nicks) {
      const owner = shown.owner !== null && fold(shown.owner) === fold(nick);
      list.append(memberEl(nick, { owner, me: chat.me !== null && fold(nick) === fold(chat.me) }));
    }
  },
  status(state, retryMs) {
    const status = $('status');
    status.className = `status ${state}`;
    clearInterval(retryTimer);
    $('retry-button').hidden = state !== 'offline' || retryMs === null || retryMs === undefined;
    if (state === 'online') status.textContent = 'online';
    else if (state === 'connecting') status.textContent = 'connecting…';
    else if (retryMs === null || retryMs === undefined) status.textContent = 'offline';
    else {
      const until = Date.now() + retryMs;
      const show = () => {
        const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        status.textContent = seconds > 0 ? `offline · retrying in ${seconds} s` : 'connecting…';
      };
      show();
      retryTimer = setInterval(show, 1000);
    }
    if (state === 'online') $('banner').hidden = true;
    // Before the chat opens, the login form says that the server cannot be reached.
    const loginStatus = $('login-status');
    if (state === 'offline' && typeof retryMs === 'number' && !$('login').hidden) {
      loginStatus.textContent = 'cannot reach the server; trying again';
      $('login-submit').disabled = false;
      $('login-submit').textContent = SUBMIT_LABELS[loginMode()];
    } else {
      loginStatus.textContent = '';
    }
  },
  loggedIn(account) {
    $('login').hidden = true;
    app.hidden = false;
    $('login-submit').disabled = false;
    ui.nickChanged(chat.me);
    $('me-state').textContent = account ? 'account' : 'guest';
    ui.activated(chat.active);
  },
  loginFailed(field, text) {
    $('login').hidden = false;
    app.hidden = true;
    $('login-submit').disabled = false;
    $('login-submit').textContent = SUBMIT_LABELS[loginMode()];
    const target = field === 'nick' ? 'login-nick' : 'login-password';
    if (field !== 'nick') $('password-fields').hidden = false;
    $(`${target}-error`).textContent = text;
    $(target).setAttribute('aria-invalid', 'true');
    $(target).focus();
  },
  nickChanged(nick) {
    $('me-nick').textContent = nick ?? '';
    if (nick) store.set('nick', nick);
    $('me-state').textContent = chat.account ? 'account' : 'guest';
    ui.membersChanged(null);
  },
  awayChanged(on) {
    $('me-state').textContent = `${chat.account ? 'account' : 'guest'}${on ? ' · away' : ''}`;
  },
  alert(tab, line, mention) {
    if (!notificationsOn() || (!document.hidden && document.hasFocus())) return;
    const title = tab.kind === 'direct' ? line.from : `${line.from} in ${tab.label}`;
    const note = new Notification(mention ? `${title} mentioned you` : title, { body: line.text, tag: tab.key });
    note.onclick = () => {
      window.focus();
      chat.activate(tab);
      note.close();
    };
  },
  showRooms() {
    if (!chat.online) {
      hint.textContent = 'offline: the list of rooms comes when the connection is back';
      return;
    }
    chat.send('ROOMS');
  },
  roomsListed(rooms) {
    const list = $('rooms-list');
    list.replaceChildren();
    $('rooms-empty').hidden = rooms.length > 0;
    for (const room of rooms) {
      const item = el('li');
      const info = el('span', 'room-info');
      info.append(el('strong', null, room.room), ` · ${room.members} ${room.members === 1 ? 'member' : 'members'}`);
      if (room.topic) info.append(el('span', 'room-topic', room.topic));
      const open = chat.find('room', room.room);
      const button = el('button', 'small', open?.joined ? 'Open' : 'Join');
      button.type = 'button';
      button.addEventListener('click', () => {
        $('rooms-dialog').close();
        if (open?.joined) chat.activate(open);
        else chat.sendJoin(room.room, null);
      });
      item.append(info, button);
      list.append(item);
    }
    const dialog = $('rooms-dialog');
    if (!dialog.open) dialog.showModal();
  },
  joined() {
    $('join-room').value = '';
    $('join-key').value = '';
    $('join-error').textContent = '';
  },
  joinFailed(text) {
    $('join-error').textContent = text;
  },
  banner(text) {
    $('banner-text').textContent = text;
    $('banner').hidden = false;
  },
};

const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
chat = new Chat(ui, `${scheme}//${window.location.host}/ws`);
ui.tabsChanged();

// --- the login form -------------------------------------------------------------------

const loginForm = $('login-form');

function loginMode() {
  return new FormData(loginForm).get('mode');
}

function showLoginMode() {
  const mode = loginMode();
  $('password-fields').hidden = mode === 'guest';
  $('login-password').autocomplete = mode === 'register' ? 'new-password' : 'current-password';
  $('login-submit').textContent = SUBMIT_LABELS[mode];
  store.set('mode', mode);
}

for (const radio of loginForm.elements.mode) radio.addEventListener('change', showLoginMode);
$('login-nick').value = store.get('nick') ?? '';
if (['login', 'register'].includes(store.get('mode'))) loginForm.elements.mode.value = store.get('mode');
showLoginMode();
$('login-nick').focus();

for (const id of ['login-nick', 'login-password']) {
  $(id).addEventListener('input', () => {
    $(`${id}-error`).textContent = '';
    $(id).removeAttribute('aria-invalid');
  });
}

loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const mode = loginMode();
  const nick = $('login-nick').value.trim();
  const password = $('login-password').value;
  const nickWrong = nickProblem(nick);
  if (nickWrong) {
    ui.loginFailed('nick', nickWrong);
    return;
  }
  if (mode !== 'guest' && password === '') {
    ui.loginFailed('password', 'type your password');
    return;
  }
  const weak = mode === 'register' ? passwordProblem(password) : null;
  if (weak) {
    ui.loginFailed('password', weak);
    return;
  }
  $('login-submit').disabled = true;
  $('login-submit').textContent = 'Connecting…';
  chat.start({ mode, nick, password: mode === 'guest' ? null : password });
});

// --- the header, the sidebar and the members ----------------------------------------------

$('retry-button').addEventListener('click', () => chat.reconnect());
$('banner-button').addEventListener('click', () => {
  $('banner').hidden = true;
  chat.reconnect();
});
$('leave-button').addEventListener('click', () => chat.close(chat.active));
$('rooms-button').addEventListener('click', () => ui.showRooms());
$('rooms-close').addEventListener('click', () => $('rooms-dialog').close());

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  let room = $('join-room').value.trim();
  if (room && !room.startsWith('#')) room = `#${room}`;
  if (!ROOM_RE.test(room)) {
    $('join-error').textContent = 'a room is # then 1 to 48 letters, digits, _ or -';
    return;
  }
  $('join-error').textContent = '';
  const open = chat.find('room', room);
  if (open?.joined) chat.activate(open);
  else chat.sendJoin(room, $('join-key').value || null);
});

$('member-list').addEventListener('click', (event) => {
  const button = event.target.closest('.member-button');
  if (!button || fold(button.dataset.nick) === fold(chat.me ?? '')) return;
  chat.activate(chat.directTab(button.dataset.nick));
});

function closeOverlays() {
  app.classList.remove('drawer-open', 'members-open');
  $('drawer-button').setAttribute('aria-expanded', 'false');
}

$('drawer-button').addEventListener('click', () => {
  const open = !app.classList.contains('drawer-open');
  closeOverlays();
  app.classList.toggle('drawer-open', open);
  $('drawer-button').setAttribute('aria-expanded', String(open));
  if (open) tabButtons.get(chat.active)?.focus();
});

$('members-button').addEventListener('click', () => {
  if (narrow.matches) {
    const open = !app.classList.contains('members-open');
    closeOverlays();
    app.classList.toggle('members-open', open);
    $('members-button').setAttribute('aria-expanded', String(open));
  } else {
    const hidden = app.classList.toggle('members-hidden');
    $('members-button').setAttribute('aria-expanded', String(!hidden));
  }
});
$('scrim').addEventListener('click', closeOverlays);

// --- the composer -------------------------------------------------------------------

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const problem = submit(chat, chat.active, input.value);
  hint.textContent = problem ?? '';
  // The text stays in the field when it was refused, so it can be mended.
  if (problem === null) input.value = '';
});
input.addEventListener('input', () => {
  hint.textContent = '';
});

$('file-input').addEventListener('change', (event) => {
  chat.sendFiles(chat.active, [...event.target.files]);
  event.target.value = '';
});

const conversation = $('conversation');
const dropZone = $('drop-zone');
const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
conversation.addEventListener('dragover', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dropZone.hidden = false;
});
conversation.addEventListener('dragleave', (event) => {
  if (!conversation.contains(event.relatedTarget)) dropZone.hidden = true;
});
conversation.addEventListener('drop', (event) => {
  if (!carriesFiles(event)) return;
  event.preventDefault();
  dropZone.hidden = true;
  chat.sendFiles(chat.active, [...event.dataTransfer.files]);
});

// --- keys -----------------------------------------------------------------------------

function orderedTabs() {
  return [...$('tabs').children].map((button) => chat.tabs.find((tab) => tabButtons.get(tab) === button));
}

function step(delta) {
  const tabs = orderedTabs();
  const at = tabs.indexOf(chat.active);
  const next = tabs[(at + delta + tabs.length) % tabs.length];
  chat.activate(next);
  return next;
}

$('tabs').addEventListener('keydown', (event) => {
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  if (event.key in moves) {
    event.preventDefault();
    tabButtons.get(step(moves[event.key]))?.focus();
  }
});

document.addEventListener('keydown', (event) => {
  if (app.hidden) return;
  if (event.altKey && (event.key === 'ArrowUp' || event.key === 'ArrowDown')) {
    event.preventDefault();
    step(event.key === 'ArrowDown' ? 1 : -1);
  } else if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'k') {
    event.preventDefault();
    openSwitcher();
  } else if (event.key === 'Escape' && (app.classList.contains('drawer-open') || app.classList.contains('members-open'))) {
    closeOverlays();
    $('drawer-button').focus();
  }
});

document.addEventListener('visibilitychange', () => {
  if (!document.hidden && chat.active.unread > 0) chat.activate(chat.active);
});

// The Ctrl+K switcher: type a part of a name, Enter goes to the first match.
const switcher = $('switcher');
const switcherInput = $('switcher-input');

function switcherMatches() {
  const typed = switcherInput.value.trim().toLowerCase();
  return orderedTabs().filter((tab) => tab.label.toLowerCase().includes(typed));
}

function renderSwitcher() {
  const list = $('switcher-list');
  list.replaceChildren();
  switcherMatches().forEach((tab, index) => {
    const item = el('li');
    const button = el('button', null, tab.unread > 0 ? `${tab.label} (${tab.unread})` : tab.label);
    button.type = 'button';
    button.setAttribute('role', 'option');
    button.setAttribute('aria-selected', String(index === 0));
    button.addEventListener('click', () => {
      switcher.close();
      chat.activate(tab);
    });
    item.append(button);
    list.append(item);
  });
}

function openSwitcher() {
  switcherInput.value = '';
  renderSwitcher();
  if (!switcher.open) switcher.showModal();
  switcherInput.focus();
}

switcherInput.addEventListener('input', renderSwitcher);
switcherInput.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter') return;
  event.preventDefault();
  const [first] = switcherMatches();
  switcher.close();
  if (first) chat.activate(first);
});
switcher.addEventListener('close', () => input.focus());
