// What the tests do on the page as a person would: log in, type, pick a conversation, and
// the locators of the parts they look at.
const { expect } = require('@playwright/test');

/** Opens the page at `url` and joins as a guest called `nick`. */
async function joinAsGuest(page, url, nick) {
  await page.goto(url);
  await page.getByLabel('Nick').fill(nick);
  await page.getByRole('button', { name: 'Join the chat' }).click();
  await expect(page.locator('#status')).toHaveText('online');
  await expect(page.locator('#me-nick')).toHaveText(nick);
}

/** Types `text` in the message field and presses Enter. */
async function type(page, text) {
  const input = page.getByRole('textbox', { name: 'Message' });
  await input.fill(text);
  await input.press('Enter');
}

/** The tab of a conversation in the tab list (`Lobby`, `#tea`, a nick). */
function tab(page, name) {
  return page.getByRole('tab', { name: new RegExp(`^${name.replace(/[#.*+?^${}()|[\]\\]/g, '\\$&')}(,|$)`) });
}

/** The log of the conversation shown. */
function shownLog(page) {
  return page.locator('.log:not([hidden])');
}

/** The chat lines of the conversation shown whose text is `text`. */
function line(page, text) {
  return shownLog(page).locator('.line').filter({ has: page.locator('.text', { hasText: text }) });
}

module.exports = { joinAsGuest, type, tab, shownLog, line };
