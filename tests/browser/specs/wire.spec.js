// The page's pure protocol module (wire.js), loaded in the page as the page loads it: nick
// colours equal to the terminal client's, the reading of server lines, file names.
const { test, expect } = require('@playwright/test');
const { startChatd } = require('../support/chatd');

let server;
test.beforeAll(async () => {
  server = await startChatd();
});
test.afterAll(async () => {
  await server.stop();
});

/** Opens the page and puts its wire.js, as the page loads it, in `window.wire`. */
async function loadWire(page) {
  await page.goto(server.url);
  await page.evaluate(async () => {
    window.wire = await import('/wire.js');
  });
}

test('nick colours are the terminal client’s: FNV-1a of the lower-cased nick, modulo 12', async ({ page }) => {
  // The indices crates/client/src/ui/style.rs `nick_color` gives these nicks in its palette.
  const nicks = ['alice', 'Alice', 'bob', 'carol', 'dave', 'tcpbot', 'ann', 'zed', 'x', 'Mallory-9'];
  await loadWire(page);
  const colours = await page.evaluate((list) => list.map((nick) => window.wire.nickColor(nick)), nicks);
  expect(colours).toEqual([11, 11, 8, 2, 7, 1, 8, 4, 3, 3]);
});

test('server lines are read into what they say', async ({ page }) => {
  const lines = [
    '@1042 ALL alice hello  there ',
    'MSG #tea bob hi',
    'MSG bob psst',
    'ME #tea bob pours',
    'ME alice bob waves',
    'HIST * 7 2026-12-06T14:00:00.123Z ALL carol <b>x</b>',
    'END HISTORY #tea 0',
    'FILE #tea alice 12 http://h/f/1 a b.png',
    'FILE alice 12 http://h/f/2 notes.txt',
    'TOPIC #tea',
    'OK REGISTER #tea',
  ];
  await loadWire(page);
  const read = await page.evaluate((list) => list.map((line) => window.wire.parseLine(line)), lines);
  expect(read).toEqual([
    { kind: 'msg', target: '*', from: 'alice', text: 'hello  there ', id: 1042 },
    { kind: 'msg', target: '#tea', from: 'bob', text: 'hi' },
    { kind: 'msg', target: null, from: 'bob', text: 'psst' },
    { kind: 'msg', target: '#tea', from: 'bob', text: 'pours', action: true },
    { kind: 'msg', target: null, from: 'bob', text: 'waves', action: true },
    {
      kind: 'hist',
      target: '*',
      id: 7,
      time: '2026-12-06T14:00:00.123Z',
      line: { kind: 'msg', target: '*', from: 'carol', text: '<b>x</b>' },
    },
    { kind: 'end-history', target: '#tea', count: 0 },
    { kind: 'file', target: '#tea', from: 'alice', size: 12, url: 'http://h/f/1', name: 'a b.png' },
    { kind: 'file', target: null, from: 'alice', size: 12, url: 'http://h/f/2', name: 'notes.txt' },
    { kind: 'topic', room: '#tea', setter: null, text: null },
    { kind: 'ok-register-room', room: '#tea' },
  ]);
});

test('file names lose what the protocol refuses, and mentions are whole words', async ({ page }) => {
  await loadWire(page);
  const result = await page.evaluate(() => ({
    names: ['../etc/passwd', ' a\u0007b.txt ', '', 'x\u202e.png', `${'é'.repeat(200)}.tar`].map((name) =>
      window.wire.safeFileName(name),
    ),
    mentions: [
      window.wire.mentions('hi alice!', 'Alice'),
      window.wire.mentions('malice aforethought', 'alice'),
      window.wire.mentions('alice_2 is here', 'alice'),
    ],
  }));
  expect(result.names.slice(0, 4)).toEqual(['.._etc_passwd', 'a_b.txt', 'file', 'x_.png']);
  expect(new TextEncoder().encode(result.names[4]).length).toBeLessThanOrEqual(255);
  expect(result.names[4].endsWith('.tar')).toBe(true);
  expect(result.mentions).toEqual([true, false, false]);
});
