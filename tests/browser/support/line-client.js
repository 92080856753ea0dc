// A chat client over TCP, as `nc` would be: it sends protocol lines and waits for the lines
// it expects, each wait with a deadline. `barrier()` is the protocol's PING/PONG: once it
// returns, everything this client sent before has been delivered by the server.
const net = require('node:net');

const WAIT_MS = 10_000;

class LineClient {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.lines = [];
    this.waiters = [];
    this.closed = false;
    this.tokens = 0;
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop();
      this.lines.push(...lines);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  send(line) {
    this.socket.write(`${line}\n`);
  }

  /**
   * Waits for a line that `what` matches (a string: the whole line; a RegExp; a function),
   * and returns it; the lines before it are passed over.
   */
  expect(what, timeout = WAIT_MS) {
    const matches =
      typeof what === 'string' ? (line) => line === what : what instanceof RegExp ? (line) => what.test(line) : what;
    return new Promise((resolve, reject) => {
      const waiter = {
        check: () => {
          const at = this.lines.findIndex(matches);
          if (at !== -1) {
            const [line] = this.lines.splice(0, at + 1).slice(-1);
            return finish(null, line);
          }
          if (this.closed) return finish(new Error(`connection closed while waiting for ${what}`));
          return false;
        },
      };
      const timer = setTimeout(
        () => finish(new Error(`no line ${what} within ${timeout} ms; got:\n${this.lines.join('\n')}`)),
        timeout,
      );
      const finish = (error, line) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        if (error) reject(error);
        else resolve(line);
        return true;
      };
      if (!waiter.check()) this.waiters.push(waiter);
    });
  }

  wake() {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  /** PING with a fresh token, and wait for its PONG. */
  async barrier() {
    this.tokens += 1;
    const token = `barrier-${this.tokens}`;
    this.send(`PING ${token}`);
    await this.expect(`PONG ${token}`);
  }

  /** Connects over TLS to `port`, trusting the certificate in the PEM file `ca` only. */
  static connectTls(port, ca) {
    const tls = require('node:tls');
    return new Promise((resolve, reject) => {
      const options = { host: '127.0.0.1', port, ca: require('node:fs').readFileSync(ca), servername: 'localhost' };
      const socket = tls.connect(options);
      socket.once('secureConnect', () => resolve(new LineClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects and registers as `nick` (no capabilities: the v1 lines). */
  static async register(port, nick) {
    const client = await LineClient.connect(port);
    await client.expect(/^HELLO /);
    client.send(`NICK ${nick}`);
    await client.expect(`OK NICK ${nick}`);
    return client;
  }

  close() {
    this.socket.end();
  }
}

module.exports = { LineClient };
