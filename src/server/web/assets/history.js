// History (protocol.md "HISTORY"): what the page asks with `HISTORY` and where the answers
// go, as the terminal client does (crates/client/src/app/history.rs):
// - a conversation opened or joined shows its latest lines above a rule;
// - scrolling to the top of a log loads the lines before the oldest one shown;
// - after a reconnect, every open conversation asks for the lines after the last id it saw,
//   page after page, and shows them under a rule "N missed while away", above what has
//   come live since.
// A line already shown (seen live, or in an earlier page) is not shown twice, and one of our
// own lines, shown when we sent it, takes its id instead.
// Out of scope: when a reconnect or a join happens (chat.js), and direct history's rules
// (chat.js decides when a direct conversation may ask).

import { HISTORY_MAX, HISTORY_PAGE, cmd, fold } from './wire.js';
import { ruleLine } from './view.js';

export class History {
  /**
   * `chat` gives `send(line)`, `historyLine(tab, hist)` (the row of one `HIST` line, or
   * null for a line that is not shown) and `counted(tab, n)` (n missed lines came in).
   */
  constructor(chat) {
    this.chat = chat;
    /** Requests sent and not answered yet, oldest first: answers come in this order. */
    this.asked = [];
  }

  /** Whether `tab` has a request waiting for its answer. */
  waiting(tab) {
    return this.asked.some((request) => request.tab === tab && request.kind !== 'probe');
  }

  /**
   * Whether the chat line with `id` is a lobby line: `decide(true | false)` once the server
   * has answered `HISTORY * 1 AFTER <id - 1>`, whose line is that one if it is the lobby's.
   * A `FILE <from>` line is spelled the same for the lobby and for us alone (protocol.md
   * "FILE"), and this is how the page tells which.
   */
  probe(id, decide) {
    this.chat.send(cmd.history('*', 1, { after: id - 1 }));
    this.asked.push({ tab: this.chat.lobby, kind: 'probe', count: 1, key: '*', lines: [], id, decide });
  }

  /** The connection is gone: no answer will come to what was asked. */
  reset() {
    for (const request of this.asked) {
      if (request.kind === 'resume') this.finishResume(request);
      // Unanswered, the line is shown all the same: as for us, the safer guess.
      if (request.kind === 'probe') request.decide(false);
    }
    this.asked = [];
  }

  /** The latest lines of `tab`, to go above what it shows. */
  latest(tab) {
    this.ask(tab, 'latest', HISTORY_PAGE, null, {});
  }

  /** The lines before the oldest one `tab` shows (the latest, if it shows none). */
  older(tab) {
    if (tab.historyStart || this.waiting(tab)) return;
    const page = tab.oldestId === null ? null : { before: tab.oldestId };
    this.ask(tab, 'older', HISTORY_PAGE, page, {});
  }

  /** After a reconnect: the lines after `after`, to go at the end of the log as it is now. */
  resume(tab, after) {
    const rule = ruleLine('');
    rule.hidden = true;
    rule.classList.add('missed');
    const marker = document.createElement('div');
    marker.className = 'resume-marker';
    tab.log.append(rule, marker);
    this.ask(tab, 'resume', HISTORY_MAX, { after }, { rule, marker, total: 0 });
  }

  ask(tab, kind, count, page, extra) {
    if (this.waiting(tab)) return;
    this.chat.send(cmd.history(tab.target, count, page));
    this.asked.push({ tab, kind, count, key: fold(tab.target), lines: [], ...extra });
    tab.busy(true);
  }

  /** A `HIST` line: true when it answers one of our requests. */
  onHist(hist) {
    const request = this.asked.find((asked) => asked.key === fold(hist.target));
    if (!request) return false;
    request.lines.push(hist);
    return true;
  }

  /** `END HISTORY`: the request is answered. True when it was one of ours. */
  onEnd(end) {
    const at = this.asked.findIndex((asked) => asked.key === fold(end.target));
    if (at === -1) return false;
    const [request] = this.asked.splice(at, 1);
    const tab = request.tab;
    if (request.kind === 'probe') {
      request.decide(request.lines.some((hist) => hist.id === request.id));
      return true;
    }
    if (!this.chat.hasTab(tab)) return true;
    const rows = this.rows(request);
    switch (request.kind) {
      case 'latest':
        if (rows.length > 0) {
          const count = rows.length;
          const text = `${count} earlier ${count === 1 ? 'line' : 'lines'} above, new below`;
          tab.prepend([...rows, [ruleLine(text), null]]);
        }
        break;
      case 'older':
        if (end.count === 0) {
          tab.historyStart = true;
          tab.prepend([[ruleLine('no older lines'), null]]);
        } else {
          tab.prepend(rows);
        }
        break;
      case 'resume':
        for (const [row, id] of rows) tab.insertBefore(row, request.marker, id);
        request.total += rows.length;
        this.chat.counted(tab, rows.length);
        if (end.count > 0 && request.lines.length > 0) {
          // Page on: there may be more after the last line of this page.
          const last = request.lines[request.lines.length - 1].id;
          this.chat.send(cmd.history(tab.target, request.count, { after: last }));
          this.asked.push({ ...request, lines: [] });
        } else {
          this.finishResume(request);
        }
        break;
      default:
        break;
    }
    if (!this.waiting(tab)) tab.busy(false);
    return true;
  }

  finishResume(request) {
    request.marker.remove();
    if (request.total > 0) {
      request.rule.firstChild.textContent = `${request.total} missed while away`;
      request.rule.hidden = false;
    } else {
      request.rule.remove();
    }
  }

  // The rows of the lines of an answer that the tab does not show yet, oldest first.
  rows(request) {
    const rows = [];
    for (const hist of request.lines) {
      if (request.tab.ids.has(hist.id)) continue;
      const row = this.chat.historyLine(request.tab, hist);
      if (row) rows.push([row, hist.id]);
    }
    return rows;
  }

  /**
   * An `ERR` that answers our oldest `HISTORY` (a server without history, a malformed
   * request, a direct history refused to a guest): taken quietly. True when it was one.
   */
  refused(code) {
    const oldest = this.asked[0];
    if (!oldest) return false;
    const direct = oldest.tab.kind === 'direct';
    if (code === 'UNKNOWN_COMMAND' || code === 'BAD_HISTORY' || (code === 'LOGIN_REQUIRED' && direct)) {
      this.asked.shift();
      if (oldest.kind === 'resume') this.finishResume(oldest);
      if (oldest.kind === 'probe') oldest.decide(false);
      if (!this.waiting(oldest.tab)) oldest.tab.busy(false);
      return true;
    }
    return false;
  }
}
