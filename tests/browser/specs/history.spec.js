// History on the page: opening the lobby and joining a room show their latest lines above a
// rule, with the times they were sent; scrolling to the top of a log loads the older lines,
// page by page, until the server has none.
const { test, expect } = require('@playwright/test');
const { startChatd } = require('../support/chatd');
const { LineClient } = require('../support/line-client');
const { joinAsGuest, type, tab, shownLog } = require('../support/page');

let server;
test.beforeEach(async () => {
  server = await startChatd();
});
test.afterEach(async () => {
  await server.stop();
});

const numbered = (n) => `line ${String(n).padStart(3, '0')}`;

/** The texts of the chat lines the log shows, top to bottom. */
const chatTexts = (page) => shownLog(page).locator('.line.chat .text').allTextContents();

test('the lobby shows its latest lines, and older ones load on scrolling to the top', async ({ page }) => {
  const carol = await LineClient.register(server.tcpPort, 'carol');
  for (let n = 1; n <= 120; n += 1) carol.send(`ALL ${numbered(n)}`);
  await carol.barrier();

  await joinAsGuest(page, server.url, 'alice');
  const log = shownLog(page);
  await expect(log.locator('.rule')).toHaveText('50 earlier lines above, new below');
  expect(await chatTexts(page)).toEqual(Array.from({ length: 50 }, (_, i) => numbered(71 + i)));
  // A history line has the time it was sent: HH:MM, the full date in its tooltip.
  const time = log.locator('.line.chat time').first();
  await expect(time).toHaveText(/^\d\d:\d\d$/);
  await expect(time).toHaveAttribute('title', /\d{4}/);
  // A line said now comes below the rule.
  carol.send('ALL live line');
  await carol.barrier();
  await expect(log.locator('.rule ~ .line.chat').last()).toContainText('live line');

  // Scrolling to the top loads the 50 before, then the 20 before those, then says so.
  await log.evaluate((node) => {
    node.scrollTop = 0;
  });
  await expect(log.locator('.line.chat')).toHaveCount(101);
  await log.evaluate((node) => {
    node.scrollTop = 0;
  });
  await expect(log.locator('.line.chat')).toHaveCount(121);
  await log.evaluate((node) => {
    node.scrollTop = 0;
  });
  await expect(log.locator('.rule').first()).toHaveText('no older lines');
  const texts = await chatTexts(page);
  expect(texts).toEqual([...Array.from({ length: 120 }, (_, i) => numbered(i + 1)), 'live line']);
  carol.close();
});

test('a room shows the lines said before we joined', async ({ page }) => {
  const carol = await LineClient.register(server.tcpPort, 'carol');
  carol.send('JOIN #tea');
  await carol.expect('END WHO #tea');
  carol.send('MSG #tea first');
  carol.send('ME #tea pours');
  await carol.barrier();
  await joinAsGuest(page, server.url, 'alice');
  await type(page, '/join #tea');
  await expect(tab(page, '#tea')).toHaveAttribute('aria-selected', 'true');
  await expect(shownLog(page).locator('.rule')).toHaveText('2 earlier lines above, new below');
  expect(await chatTexts(page)).toEqual(['first', 'pours']);
  await expect(shownLog(page).locator('.line.chat').nth(1)).toHaveClass(/action/);
  carol.close();
});
