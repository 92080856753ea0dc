// Files: one page sends a file with the button, the other page downloads it byte for byte,
// and so does the TCP client from the URL of its FILE line; a picture dropped onto the
// conversation shows as a preview on the other page.
const crypto = require('node:crypto');
const fs = require('node:fs');
const { test, expect } = require('@playwright/test');
const { startChatd } = require('../support/chatd');
const { LineClient } = require('../support/line-client');
const { joinAsGuest, tab, shownLog } = require('../support/page');

let server;
test.beforeEach(async () => {
  server = await startChatd();
});
test.afterEach(async () => {
  await server.stop();
});

test('a file sent from one page downloads byte-identical in the other', async ({ browser }) => {
  const carol = await LineClient.register(server.tcpPort, 'carol');
  const alicePage = await (await browser.newContext()).newPage();
  const bobPage = await (await browser.newContext({ acceptDownloads: true })).newPage();
  await joinAsGuest(alicePage, server.url, 'alice');
  await joinAsGuest(bobPage, server.url, 'bob');

  const bytes = crypto.randomBytes(300_000);
  await alicePage.locator('#file-input').setInputFiles({
    name: 'tea report.bin',
    mimeType: 'application/octet-stream',
    buffer: bytes,
  });
  // The sender sees its file as sent: a card with the name, the size and a link.
  const sent = shownLog(alicePage).locator('.line.file.own');
  await expect(sent.locator('a.file-name')).toHaveText('tea report.bin');
  await expect(sent.locator('.file-size')).toHaveText('300 KB');
  await expect(shownLog(alicePage).locator('.line.upload')).toHaveCount(0);

  // The other page shows it in the lobby, and its link downloads the same bytes.
  const card = shownLog(bobPage).locator('.line.file');
  await expect(card.locator('.nick')).toHaveText('alice');
  await expect(card.locator('a.file-name')).toHaveText('tea report.bin');
  const downloading = bobPage.waitForEvent('download');
  await card.locator('a.file-name').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe('tea report.bin');
  expect(fs.readFileSync(await download.path()).equals(bytes)).toBe(true);

  // The TCP client gets a FILE line whose URL serves the same bytes.
  const fileLine = await carol.expect(/^FILE /);
  const url = /(http:\/\/\S+)/.exec(fileLine)[1];
  expect(fileLine).toMatch(/ alice 300000 http:\/\/\S+ tea report\.bin$/);
  const response = await fetch(url);
  expect(response.ok).toBe(true);
  expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  carol.close();
});

test('a picture dropped onto a direct conversation shows as a preview on the other side', async ({ browser }) => {
  const alicePage = await (await browser.newContext()).newPage();
  const bobPage = await (await browser.newContext()).newPage();
  await joinAsGuest(alicePage, server.url, 'alice');
  await joinAsGuest(bobPage, server.url, 'bob');
  await alicePage.locator('#member-list').getByRole('button', { name: 'bob' }).click();
  await expect(tab(alicePage, 'bob')).toHaveAttribute('aria-selected', 'true');

  // A real PNG: a small screenshot of the page itself.
  const png = await alicePage.screenshot({ clip: { x: 0, y: 0, width: 24, height: 16 } });
  const dataTransfer = await alicePage.evaluateHandle((base64) => {
    const transfer = new DataTransfer();
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], 'corner.png', { type: 'image/png' }));
    return transfer;
  }, png.toString('base64'));
  await alicePage.dispatchEvent('#conversation', 'dragover', { dataTransfer });
  await expect(alicePage.locator('#drop-zone')).toBeVisible();
  await alicePage.dispatchEvent('#conversation', 'drop', { dataTransfer });
  await expect(alicePage.locator('#drop-zone')).toBeHidden();
  await expect(shownLog(alicePage).locator('.line.file.own a.file-name')).toHaveText('corner.png');

  // The direct message opens its tab on the other page, with the picture fetched.
  await expect(tab(bobPage, 'alice').locator('.badge')).toHaveText('1');
  await tab(bobPage, 'alice').click();
  const preview = shownLog(bobPage).locator('img.preview');
  await expect(preview).toHaveAttribute('src', /^blob:/);
  await expect.poll(() => preview.evaluate((img) => img.naturalWidth)).toBe(24);
  await expect(preview).toHaveAttribute('alt', 'corner.png');
});

test('a file over the server limit is refused on its line, in plain words', async ({ page }) => {
  await server.stop();
  server = await startChatd({ flags: ['--max-file-size', '100K'] });
  await joinAsGuest(page, server.url, 'alice');
  await page.locator('#file-input').setInputFiles({
    name: 'big.bin',
    mimeType: 'application/octet-stream',
    buffer: Buffer.alloc(200_000, 7),
  });
  const upload = shownLog(page).locator('.line.upload.failed');
  await expect(upload.locator('.file-name')).toHaveText('big.bin');
  await expect(upload.getByRole('alert')).toHaveText('a file has at most 102400 bytes on this server, not 200000');
  // The next file goes through.
  await page.locator('#file-input').setInputFiles({ name: 'small.txt', mimeType: 'text/plain', buffer: Buffer.from('hi') });
  await expect(shownLog(page).locator('.line.file.own a.file-name')).toHaveText('small.txt');
});
