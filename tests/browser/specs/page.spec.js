// The page's own parts: browsing rooms and leaving one, logging in to an account (and a
// wrong password said next to its field), the theme remembered, the keyboard's focus order.
const { test, expect } = require('@playwright/test');
const { startChatd } = require('../support/chatd');
const { LineClient } = require('../support/line-client');
const { joinAsGuest, type, tab } = require('../support/page');

let server;
test.beforeEach(async () => {
  server = await startChatd();
});
test.afterEach(async () => {
  await server.stop();
});

test('rooms are browsed, joined from the list, and left', async ({ page }) => {
  const carol = await LineClient.register(server.tcpPort, 'carol');
  carol.send('JOIN #garden');
  await carol.expect('END WHO #garden');
  carol.send('TOPIC #garden roses and weeds');
  await carol.expect('TOPIC #garden carol roses and weeds');
  await joinAsGuest(page, server.url, 'alice');
  await page.getByRole('button', { name: 'Browse rooms…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Rooms' });
  await expect(dialog).toContainText('#garden · 1 member');
  await expect(dialog).toContainText('roses and weeds');
  await dialog.getByRole('button', { name: 'Join' }).click();
  await expect(dialog).toBeHidden();
  await expect(tab(page, '#garden')).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('#topic')).toHaveText('roses and weeds (set by carol)');
  await carol.expect('JOIN #garden alice');
  await page.getByRole('button', { name: 'Leave' }).click();
  await carol.expect('PART #garden alice');
  await expect(tab(page, '#garden')).toHaveCount(0);
  await expect(tab(page, 'Lobby')).toHaveAttribute('aria-selected', 'true');
  carol.close();
});

test('an account logs in from the form; a wrong password is said next to it', async ({ page }) => {
  const owner = await LineClient.register(server.tcpPort, 'alice');
  owner.send('REGISTER correct-horse-battery');
  await owner.expect('OK REGISTER alice');
  owner.send('QUIT');
  await owner.expect('BYE');

  await page.goto(server.url);
  await page.getByLabel('Nick').fill('alice');
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await expect(page.locator('#login-nick-error')).toHaveText('alice is registered; LOGIN alice <password>');
  await page.getByLabel('Log in').check();
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.locator('#login-password-error')).toHaveText('wrong nick or password');
  await expect(page.getByLabel('Password')).toBeFocused();
  await page.getByLabel('Password').fill('correct-horse-battery');
  await page.getByRole('button', { name: 'Log in' }).click();
  await expect(page.locator('#me-nick')).toHaveText('alice');
  await expect(page.locator('#me-state')).toHaveText('account');
});

test('the theme toggle is remembered, and Tab walks the page in a sane order', async ({ page }) => {
  await joinAsGuest(page, server.url, 'alice');
  const html = page.locator('html');
  await expect(html).not.toHaveAttribute('data-theme', /./);
  await page.getByRole('button', { name: 'Dark theme' }).click();
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await page.reload();
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await expect(page.locator('#status')).toHaveText('online');
  await expect(html).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByRole('button', { name: 'Dark theme' })).toHaveAttribute('aria-pressed', 'true');

  // From the message field, Tab goes to Send, and Shift+Tab back; the tab list holds one
  // stop (the selected tab), and Down moves between tabs.
  await type(page, '/join #tea');
  await expect(tab(page, '#tea')).toHaveAttribute('aria-selected', 'true');
  const input = page.getByRole('textbox', { name: 'Message' });
  await expect(input).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Send', exact: true })).toBeFocused();
  await tab(page, '#tea').focus();
  await page.keyboard.press('ArrowUp');
  await expect(tab(page, 'Lobby')).toBeFocused();
  await expect(tab(page, 'Lobby')).toHaveAttribute('aria-selected', 'true');
  await expect(page.locator('[role="tab"][tabindex="0"]')).toHaveCount(1);
  await expect(page.getByRole('log', { includeHidden: true })).toHaveCount(2);
  await expect(page.locator('.log:not([hidden])')).toHaveAttribute('aria-live', 'polite');
});

test('a server that cannot be reached is said on the login form, which can be sent again', async ({ page }) => {
  await page.goto(server.url);
  await server.stop();
  await page.getByLabel('Nick').fill('alice');
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await expect(page.locator('#login-status')).toHaveText('cannot reach the server; trying again');
  await expect(page.getByRole('button', { name: 'Join the chat' })).toBeEnabled();
});
