// Starting and stopping the real chatd binary for a test: on loopback ports chosen by the
// system (or given, to restart a server where it was), with its history in memory or in a
// data folder. The addresses are read from the server's log: `listening on HOST:PORT, ...`
// and `web page at URL`.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** The binary under test: `CHATD_BIN`, else the release build of this repository. */
const CHATD_BIN = process.env.CHATD_BIN || path.resolve(__dirname, '../../../target/release/chatd');

const STARTUP_DEADLINE_MS = 15_000;
const STOP_DEADLINE_MS = 10_000;

/** A fresh data folder, removed when the test process ends. */
function dataDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chatd-browser-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts chatd. `dataDir`: keep history there (else `--ephemeral`); `tcp`, `http`: the ports
 * (0: any free one); `flags`: more flags. Resolves to `{ tcpPort, httpPort, url, stop() }`
 * once both are listening.
 */
function startChatd({ dataDir: dir = null, tcp = 0, http = 0, flags = [] } = {}) {
  if (!fs.existsSync(CHATD_BIN)) {
    throw new Error(`no chatd at ${CHATD_BIN}: build it (cargo build --release --bin chatd) or set CHATD_BIN`);
  }
  const args = ['--addr', `127.0.0.1:${tcp}`, '--http', `127.0.0.1:${http}`, '--log-level', 'info'];
  args.push(...(dir ? ['--data-dir', dir] : ['--ephemeral']), ...flags);
  // As the Rust integration tests: one worker unless CHATD_TEST_WORKERS says otherwise.
  if (!flags.includes('--workers')) args.push('--workers', process.env.CHATD_TEST_WORKERS || '1');
  const child = spawn(CHATD_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const log = [];
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    let tcpPort = null;
    let tlsPort = null;
    let url = null;
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`chatd did not say where it listens within ${STARTUP_DEADLINE_MS} ms:\n${log.join('\n')}`));
    }, STARTUP_DEADLINE_MS);
    let pending = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        log.push(line);
        const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
        if (listening) tcpPort = Number(listening[1]);
        const page = /web page at (https?:\/\/\S+)/.exec(line);
        if (page) url = page[1];
        const tls = /listening with TLS on 127\.0\.0\.1:(\d+)/.exec(line);
        if (tls) tlsPort = Number(tls[1]);
      }
      if (tcpPort !== null && url !== null) {
        clearTimeout(deadline);
        resolve({
          tcpPort,
          /** With `--tls-cert` among the flags: the TLS listener's port (it is logged first). */
          tlsPort,
          httpPort: Number(new URL(url).port),
          url,
          log,
          /** SIGTERM (a clean shutdown that keeps every line), then waits for the exit. */
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill('SIGTERM');
            const timer = setTimeout(() => child.kill('SIGKILL'), STOP_DEADLINE_MS);
            await exited;
            clearTimeout(timer);
          },
        });
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(deadline);
      reject(new Error(`chatd exited (${code ?? signal}) before listening:\n${log.join('\n')}`));
    });
  });
}

/**
 * A development certificate for localhost and 127.0.0.1 made by `chatd tls self-signed` in a
 * fresh folder: `{ cert, key, flags }`, the flags turning TLS on with it at a free port.
 */
function selfSigned() {
  const { execFileSync } = require('node:child_process');
  const dir = dataDir();
  execFileSync(CHATD_BIN, ['tls', 'self-signed', '--out', dir], { stdio: 'ignore' });
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  return { cert, key, flags: ['--tls-cert', cert, '--tls-key', key, '--tls-addr', '127.0.0.1:0'] };
}

module.exports = { startChatd, dataDir, selfSigned, CHATD_BIN };
