// The page over HTTPS (issue 18): with `--tls-cert`, chatd serves the page at https:// and
// the protocol at wss://, and a browser chats with a client on the TLS port. The certificate
// is the development one `chatd tls self-signed` makes; the browser is told to trust it,
// as a person would after accepting it once.
const { test, expect } = require('@playwright/test');
const { startChatd, selfSigned } = require('../support/chatd');
const { LineClient } = require('../support/line-client');
const { joinAsGuest, type, line } = require('../support/page');

let server;
let certificate;
test.beforeEach(async () => {
  certificate = selfSigned();
  server = await startChatd({ flags: certificate.flags });
});
test.afterEach(async () => {
  await server.stop();
});

test.use({ ignoreHTTPSErrors: true });

test('the page over HTTPS chats over wss with a client on the TLS port', async ({ page }) => {
  expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
  const sockets = [];
  page.on('websocket', (socket) => sockets.push(socket.url()));
  await joinAsGuest(page, server.url, 'alice');
  expect(sockets).toEqual([`wss://127.0.0.1:${server.httpPort}/ws`]);

  const bob = await LineClient.connectTls(server.tlsPort, certificate.cert);
  await bob.expect(/^HELLO /);
  bob.send('NICK bob');
  await bob.expect('OK NICK bob');
  await type(page, 'hello over https');
  await bob.expect('ALL alice hello over https');
  bob.send('ALL hello over tls');
  await bob.barrier();
  await expect(line(page, 'hello over tls')).toContainText('bob');
  bob.close();
});
