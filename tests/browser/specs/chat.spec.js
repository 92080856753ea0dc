// Two browser pages and one TCP client chat in the lobby and in a room; a direct message
// opens its tab with an unread count; a message with HTML in it shows as text; mentions are
// highlighted; the keys switch tabs; and the screenshots of the README are taken (desktop
// 1280x800, phone 390x844).
const path = require('node:path');
const { test, expect } = require('@playwright/test');
const { startChatd } = require('../support/chatd');
const { LineClient } = require('../support/line-client');
const { joinAsGuest, type, tab, shownLog, line } = require('../support/page');

const SCREENSHOTS = path.resolve(__dirname, '../../../docs/screenshots');

let server;
test.beforeEach(async () => {
  server = await startChatd();
});
test.afterEach(async () => {
  await server.stop();
});

test('two pages and a TCP client chat in the lobby, a room and directly', async ({ browser }) => {
  const carol = await LineClient.register(server.tcpPort, 'carol');
  const alicePage = await (await browser.newContext()).newPage();
  const bobPage = await (await browser.newContext()).newPage();
  // One time on every line, so that the screenshots are the same from run to run.
  for (const page of [alicePage, bobPage]) await page.clock.setFixedTime(new Date('2026-12-07T14:05:00Z'));
  // No script from a message may run (a dialog), and the page breaks no rule of its
  // Content-Security-Policy (the browser reports that as a console error).
  const problems = [];
  for (const page of [alicePage, bobPage]) {
    page.on('dialog', (dialog) => problems.push(`a dialog opened: ${dialog.message()}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
  }
  await joinAsGuest(alicePage, server.url, 'alice');
  await joinAsGuest(bobPage, server.url, 'bob');
  await carol.expect('JOIN alice');
  await carol.expect('JOIN bob');

  // The lobby: the members are listed, and lines go both ways between pages and TCP.
  await expect(alicePage.locator('#member-list')).toContainText('carol');
  await expect(alicePage.locator('#member-list')).toContainText('bob');
  await type(alicePage, 'hello from the page');
  await carol.expect('ALL alice hello from the page');
  await expect(line(bobPage, 'hello from the page')).toContainText('alice');
  carol.send('ALL hello from nc');
  await carol.barrier();
  await expect(line(alicePage, 'hello from nc')).toContainText('carol');
  await expect(line(bobPage, 'hello from nc')).toContainText('carol');

  // A room: joined from the form by one page, by /join from the other, and over TCP.
  await alicePage.getByPlaceholder('#room').fill('tea');
  await alicePage.getByRole('button', { name: 'Join', exact: true }).click();
  await expect(tab(alicePage, '#tea')).toHaveAttribute('aria-selected', 'true');
  await type(bobPage, '/join #tea');
  await expect(tab(bobPage, '#tea')).toHaveAttribute('aria-selected', 'true');
  carol.send('JOIN #tea');
  await carol.expect('OK JOIN #tea');
  await carol.expect('END WHO #tea');
  await expect(alicePage.locator('#members-title')).toHaveText('Members: 3');
  await type(alicePage, '/topic green tea only');
  await expect(alicePage.locator('#topic')).toHaveText('green tea only (set by alice)');
  await expect(bobPage.locator('#topic')).toHaveText('green tea only (set by alice)');
  await type(bobPage, 'the kettle is on');
  await carol.expect('MSG #tea bob the kettle is on');
  await expect(line(alicePage, 'the kettle is on')).toContainText('bob');
  carol.send('MSG #tea milk or lemon?');
  await carol.barrier();
  await expect(line(alicePage, 'milk or lemon?')).toContainText('carol');
  // A line the room did not get stays out of the lobby, and the lobby's is counted unread.
  carol.send('ALL anyone in the lobby?');
  await carol.barrier();
  await expect(tab(alicePage, 'Lobby')).toHaveAccessibleName('Lobby, 1 unread');

  // A direct message opens its tab, with an unread count, while the room stays shown.
  carol.send('MSG alice psst, alice');
  await carol.barrier();
  await expect(tab(alicePage, 'carol')).toHaveAccessibleName('carol, 1 unread');
  await expect(tab(alicePage, 'carol').locator('.badge')).toHaveText('1');
  await expect(tab(alicePage, '#tea')).toHaveAttribute('aria-selected', 'true');
  await tab(alicePage, 'carol').click();
  await expect(line(alicePage, 'psst, alice')).toBeVisible();
  await expect(tab(alicePage, 'carol')).toHaveAccessibleName('carol');
  await type(alicePage, 'yes?');
  await carol.expect('MSG alice yes?');
  // A member of the list opens a direct conversation too.
  await tab(bobPage, 'Lobby').click();
  await bobPage.locator('#member-list').getByRole('button', { name: 'carol' }).click();
  await expect(tab(bobPage, 'carol')).toHaveAttribute('aria-selected', 'true');

  // HTML in a message is text: no element is made from it, and no script runs.
  const html = '<img src=x onerror=alert(1)> and <b>bold</b>';
  carol.send(`MSG #tea ${html}`);
  await carol.barrier();
  await tab(alicePage, '#tea').click();
  const htmlLine = shownLog(alicePage).locator('.line.chat').last();
  await expect(htmlLine.locator('.text')).toHaveText(html);
  await expect(alicePage.locator('#logs b')).toHaveCount(0);
  await expect(alicePage.locator('#logs img')).toHaveCount(0);
  await type(bobPage, '/msg #tea <b>bold</b> from a page');
  await expect(line(alicePage, 'from a page').locator('.text')).toHaveText('<b>bold</b> from a page');
  await expect(alicePage.locator('#logs b')).toHaveCount(0);

  // A mention is highlighted, and /me shows as an action.
  carol.send('MSG #tea alice: the scones are ready');
  await carol.barrier();
  await expect(line(alicePage, 'the scones are ready')).toHaveClass(/mention/);
  await tab(bobPage, '#tea').click();
  await type(bobPage, '/me pours the tea');
  await carol.expect('MSG #tea bob /me pours the tea');
  await expect(line(alicePage, 'pours the tea')).toHaveClass(/action/);

  // Keys: Alt+Down and Alt+Up walk the tabs, Ctrl+K finds one by name.
  await alicePage.keyboard.press('Alt+ArrowUp');
  await expect(tab(alicePage, 'Lobby')).toHaveAttribute('aria-selected', 'true');
  await alicePage.keyboard.press('Alt+ArrowDown');
  await expect(tab(alicePage, '#tea')).toHaveAttribute('aria-selected', 'true');
  await alicePage.keyboard.press('Control+k');
  await alicePage.getByRole('textbox', { name: 'Conversation' }).fill('car');
  await alicePage.keyboard.press('Enter');
  await expect(tab(alicePage, 'carol')).toHaveAttribute('aria-selected', 'true');
  await tab(alicePage, '#tea').click();

  // The README's pictures: a conversation on a desktop, light and dark, and on a phone.
  await alicePage.mouse.move(0, 0);
  await alicePage.screenshot({ path: path.join(SCREENSHOTS, 'desktop.png') });
  await alicePage.emulateMedia({ colorScheme: 'dark' });
  await alicePage.screenshot({ path: path.join(SCREENSHOTS, 'desktop-dark.png') });
  await bobPage.setViewportSize({ width: 390, height: 844 });
  await expect(bobPage.locator('#sidebar')).not.toBeInViewport();
  await bobPage.screenshot({ path: path.join(SCREENSHOTS, 'phone.png') });
  await bobPage.getByRole('button', { name: 'Conversations' }).click();
  await expect(bobPage.locator('#sidebar')).toBeInViewport({ ratio: 1 });
  await bobPage.screenshot({ path: path.join(SCREENSHOTS, 'phone-drawer.png') });
  await bobPage.keyboard.press('Escape');
  await expect(bobPage.locator('#sidebar')).not.toBeInViewport();

  expect(problems).toEqual([]);
  carol.close();
});

test('errors show in plain words next to the field, and the nick is remembered', async ({ page }) => {
  const carol = await LineClient.register(server.tcpPort, 'carol');
  await page.goto(server.url);
  await page.getByLabel('Nick').fill('9lives');
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await expect(page.locator('#login-nick-error')).toHaveText('a nick starts with a letter');
  await page.getByLabel('Nick').fill('Carol');
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await expect(page.locator('#login-nick-error')).toHaveText('nick Carol is already in use');
  await page.getByLabel('Nick').fill('dave');
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await expect(page.locator('#me-nick')).toHaveText('dave');
  await carol.expect('JOIN dave');
  // An unknown command gets a hint and the text stays, to be mended.
  await type(page, '/frobnicate now');
  await expect(page.locator('#input-hint')).toContainText('no command /frobnicate');
  await expect(page.getByRole('textbox', { name: 'Message' })).toHaveValue('/frobnicate now');
  // A server error for a line sent shows in the conversation.
  await type(page, '/msg nobody hello?');
  await expect(shownLog(page).locator('.line.error')).toContainText('no one called nobody is online');
  await page.reload();
  await expect(page.getByLabel('Nick')).toHaveValue('dave');
  carol.close();
});

test('desktop notifications, once turned on, tell of direct messages while the page is hidden', async ({ page }) => {
  // A stand-in for the browser's notifications that records them, and a page out of focus.
  await page.addInitScript(() => {
    window.shown = [];
    window.Notification = class {
      static permission = 'default';
      static async requestPermission() {
        window.Notification.permission = 'granted';
        return 'granted';
      }
      constructor(title, options) {
        window.shown.push({ title, body: options.body });
      }
      close() {}
    };
    Document.prototype.hasFocus = () => false;
  });
  const carol = await LineClient.register(server.tcpPort, 'carol');
  await joinAsGuest(page, server.url, 'alice');
  carol.send('MSG alice before it is on');
  await carol.barrier();
  await expect(tab(page, 'carol')).toBeVisible();
  const toggle = page.getByRole('button', { name: 'Desktop notifications for mentions and direct messages' });
  await expect(toggle).toHaveAttribute('aria-pressed', 'false');
  await toggle.click();
  await expect(toggle).toHaveAttribute('aria-pressed', 'true');
  carol.send('MSG alice are you there?');
  carol.send('ALL a line for everyone');
  carol.send('ALL alice, lunch?');
  await carol.barrier();
  await expect.poll(() => page.evaluate(() => window.shown)).toEqual([
    { title: 'carol', body: 'are you there?' },
    { title: 'carol in Lobby mentioned you', body: 'alice, lunch?' },
  ]);
  carol.close();
});
