// The page's one connection to chatd: a WebSocket on `/ws` carrying the line protocol (one
// text frame is one line, both ways), opened again after it is lost, with a growing delay.
// It knows nothing of what the lines mean (chat.js) and keeps no line of its own: what is
// typed while it is down waits in chat.js.

/** The delays before each new try, in ms: doubling from half a second up to 15 s. */
const FIRST_DELAY = 500;
const LONGEST_DELAY = 15000;

export class Connection {
  /**
   * `events`: `open()` (the socket is up: send the greeting lines), `line(text)` (a line
   * came), `down(retryInMs)` (the socket is gone; null when no retry is planned).
   */
  constructor(url, events) {
    this.url = url;
    this.events = events;
    this.socket = null;
    this.failures = 0;
    this.timer = null;
    this.wanted = false;
  }

  /** Connects now, and again after every loss until `stop()`. */
  start() {
    this.wanted = true;
    if (this.socket) return;
    clearTimeout(this.timer);
    this.open();
  }

  /** Stops trying; the socket, if any, is closed. */
  stop() {
    this.wanted = false;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.socket) {
      const socket = this.socket;
      this.socket = null;
      socket.close();
    }
  }

  /** Tries again at once (the user asked), forgetting the wait. */
  retryNow() {
    if (!this.wanted || this.socket) return;
    clearTimeout(this.timer);
    this.timer = null;
    this.open();
  }

  /** The connection held long enough to be a good one: the next loss retries quickly. */
  settled() {
    this.failures = 0;
  }

  get online() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends one line; false when the socket is not open (the caller keeps the line). */
  send(line) {
    if (!this.online) return false;
    this.socket.send(line);
    return true;
  }

  open() {
    this.timer = null;
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket === socket) this.events.open();
    };
    socket.onmessage = (event) => {
      if (this.socket === socket && typeof event.data === 'string') this.events.line(event.data);
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (!this.wanted) {
        this.events.down(null);
        return;
      }
      const base = Math.min(LONGEST_DELAY, FIRST_DELAY * 2 ** this.failures);
      // Jitter, so that a restarted server is not met by every page at the same instant.
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.failures += 1;
      this.timer = setTimeout(() => this.open(), delay);
      this.events.down(delay);
    };
  }
}
