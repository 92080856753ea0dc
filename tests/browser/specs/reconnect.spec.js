// A reconnect after the server restarts (the same ports, the same data folder): the page
// connects again by itself, joins its rooms again, fills in the lines it missed under a rule
// "N missed while away", and sends what was typed while it was away. An account gets the
// direct messages that waited for it, each shown once.
//
// The page's WebSocket goes through Playwright's router, which refuses it while the test
// holds it closed: so the TCP client can talk after the restart before the page is back.
const { test, expect } = require('@playwright/test');
const { startChatd, dataDir } = require('../support/chatd');
const { LineClient } = require('../support/line-client');
const { joinAsGuest, type, tab, shownLog } = require('../support/page');

let server;
test.afterEach(async () => {
  await server?.stop();
});

/** Lets the page's WebSocket through while `gate.open`; refuses it otherwise. */
async function gateWebSocket(page) {
  const gate = { open: true };
  await page.routeWebSocket(/\/ws$/, (ws) => {
    if (gate.open) ws.connectToServer();
    else ws.close();
  });
  return gate;
}

/** Stops the server and starts it again on the same ports with the same data folder. */
async function restart(old, dir) {
  await old.stop();
  return startChatd({ dataDir: dir, tcp: old.tcpPort, http: old.httpPort });
}

const chatTexts = (page) => shownLog(page).locator('.line.chat .text').allTextContents();

test('after a restart the page fills in the missed lines and sends what was typed', async ({ page }) => {
  const dir = dataDir();
  server = await startChatd({ dataDir: dir });
  const gate = await gateWebSocket(page);
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const carol = await LineClient.register(server.tcpPort, 'carol');
  await joinAsGuest(page, server.url, 'alice');
  await type(page, '/join #tea');
  await expect(tab(page, '#tea')).toHaveAttribute('aria-selected', 'true');
  await tab(page, 'Lobby').click();
  carol.send('ALL before the restart');
  await carol.barrier();
  await expect(shownLog(page).locator('.line.chat')).toContainText(['before the restart']);

  gate.open = false;
  server = await restart(server, dir);
  await expect(page.locator('#status')).toContainText('offline');
  // Typing goes on while the connection is down: the line waits, shown as pending.
  await type(page, 'typed while away');
  await expect(shownLog(page).locator('.line.chat.pending')).toContainText('typed while away');
  // A command waits too, and the page keeps trying while the server cannot be reached.
  await type(page, '/away out for tea');
  await page.getByRole('button', { name: 'Retry now' }).click();
  await expect(page.locator('#status')).toContainText('retrying in');

  const carolAgain = await LineClient.register(server.tcpPort, 'carol');
  for (const n of [1, 2, 3]) carolAgain.send(`ALL missed ${n}`);
  await carolAgain.barrier();
  gate.open = true;
  await page.getByRole('button', { name: 'Retry now' }).click();

  await expect(page.locator('#status')).toHaveText('online');
  await carolAgain.expect('ALL alice typed while away');
  // The log is busy until it has caught up.
  await expect(shownLog(page)).not.toHaveAttribute('aria-busy', 'true');
  await expect(shownLog(page).locator('.rule')).toHaveText('3 missed while away');
  await expect(shownLog(page).locator('.line.pending')).toHaveCount(0);
  await expect(shownLog(page).locator('.line.notice').last()).toHaveText(/you are away$/);
  const texts = await chatTexts(page);
  expect(texts.slice(-5)).toEqual(['before the restart', 'typed while away', 'missed 1', 'missed 2', 'missed 3']);
  // The missed lines are under the rule, and our own line is shown once.
  await expect(shownLog(page).locator('.rule ~ .line.chat')).toHaveText([/missed 1/, /missed 2/, /missed 3/]);
  // The room was joined again.
  carolAgain.send('JOIN #tea');
  await carolAgain.expect(/^WHO #tea .*\balice\b/);
  expect(errors).toEqual([]);
  carolAgain.close();
  carol.close();
});

test('an account gets the direct messages that waited for it, each once', async ({ page }) => {
  const dir = dataDir();
  server = await startChatd({ dataDir: dir });
  const gate = await gateWebSocket(page);
  const carol = await LineClient.register(server.tcpPort, 'carol');
  await page.goto(server.url);
  await page.getByLabel('New account').check();
  await page.getByLabel('Nick').fill('alice');
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Create the account' }).click();
  await expect(page.locator('#me-state')).toHaveText('account');
  carol.send('MSG alice hi alice');
  await carol.barrier();
  await tab(page, 'carol').click();
  await expect(shownLog(page).locator('.line.chat .text')).toHaveText(['hi alice']);

  gate.open = false;
  server = await restart(server, dir);
  await expect(page.locator('#status')).toContainText('offline');
  const carolAgain = await LineClient.register(server.tcpPort, 'carol');
  carolAgain.send('MSG alice are you back?');
  await carolAgain.expect('OK STORED alice');
  gate.open = true;
  await page.getByRole('button', { name: 'Retry now' }).click();

  await expect(page.locator('#status')).toHaveText('online');
  await expect(page.locator('#me-state')).toHaveText('account');
  // The direct history asked after the login brings the same line: it is not shown twice.
  await expect(shownLog(page)).not.toHaveAttribute('aria-busy', 'true');
  await expect(shownLog(page).locator('.line.chat .text')).toHaveText(['hi alice', 'are you back?']);
  carolAgain.send('MSG alice and now?');
  await carolAgain.barrier();
  await expect(shownLog(page).locator('.line.chat .text')).toHaveText(['hi alice', 'are you back?', 'and now?']);
  carolAgain.close();
  carol.close();
});
