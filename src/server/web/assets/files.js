// Files (protocol.md "Files"): sending one (`UPLOAD <target> <size> <name>`, then an HTTP
// `PUT` of its bytes to the URL of `OK UPLOAD`, with a progress bar, until `OK FILE`), and
// showing one that came (`FILE` lines: a card with a download link, and a preview of a
// picture fetched into a `blob:` URL, as the server sends files as attachments).
// Uploads go one at a time: `OK UPLOAD` and `OK FILE` name no upload, so each answers the
// one upload in flight.
// Out of scope: which conversation a `FILE` line belongs to (chat.js).

import { cmd, formatSize, isImageName, safeFileName } from './wire.js';
import { fileLine, previewEl, uploadLine } from './view.js';

/** Pictures larger than this are not fetched for a preview (the link still works). */
const PREVIEW_LIMIT = 8 * 1000 * 1000;

let lastToken = 0;

export class Files {
  /** `chat` gives `send(line)`, `online`, `me` (our nick) and `place(tab, row)`. */
  constructor(chat) {
    this.chat = chat;
    this.queue = [];
    /** The upload in flight: `{ file, name, tab, row, progress, status, stage, token, xhr }`. */
    this.current = null;
  }

  /** Queues `file` to be sent to the conversation of `tab`. */
  send(tab, file) {
    const name = safeFileName(file.name);
    const shown = uploadLine(new Date(), this.chat.me, name, file.size);
    this.chat.place(tab, shown.row);
    this.queue.push({ file, name, tab, ...shown, stage: 'queued' });
    this.next();
  }

  next() {
    if (this.current || this.queue.length === 0 || !this.chat.online) return;
    const upload = this.queue.shift();
    this.current = upload;
    lastToken += 1;
    upload.token = `upload-${lastToken}`;
    upload.stage = 'asked';
    upload.status.textContent = 'asking the server';
    this.chat.send(cmd.upload(upload.tab.target, upload.file.size, upload.name));
    // The PONG says the server has answered the UPLOAD: with OK UPLOAD, or with an ERR.
    this.chat.send(cmd.ping(upload.token));
  }

  /** `OK UPLOAD <url>`: the bytes go to `url`. True when it answered our upload. */
  onUploadUrl(url) {
    const upload = this.current;
    if (!upload || upload.stage !== 'asked') return false;
    upload.stage = 'sending';
    upload.status.textContent = 'sending';
    const xhr = new XMLHttpRequest();
    upload.xhr = xhr;
    xhr.open('PUT', url);
    xhr.upload.onprogress = (event) => {
      upload.progress.value = event.loaded;
      upload.status.textContent = `${formatSize(event.loaded)} of ${formatSize(upload.file.size)}`;
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        upload.progress.value = upload.file.size;
        if (upload.stage === 'sending') {
          upload.stage = 'sent';
          upload.status.textContent = 'sent, waiting for the server';
        }
      } else {
        this.fail(upload, `the server refused the file (HTTP ${xhr.status})`);
      }
    };
    xhr.onerror = () => this.fail(upload, 'the upload failed: the connection was lost');
    xhr.send(upload.file);
    return true;
  }

  /** `OK FILE <url>`: the file reached its recipients. True when it was ours. */
  onDelivered(url) {
    const upload = this.current;
    if (!upload || (upload.stage !== 'sending' && upload.stage !== 'sent')) return false;
    const row = fileLine({
      time: new Date(),
      from: this.chat.me,
      size: upload.file.size,
      url,
      name: upload.name,
      own: true,
    });
    if (isImageName(upload.name)) {
      const img = previewEl(upload.name);
      img.src = URL.createObjectURL(upload.file);
      row.append(img);
    }
    upload.row.replaceWith(row);
    // History brings our file back with its id: this card takes it (see `Tab.claimOwn`).
    upload.tab.ownWithoutId.push({ text: ownFileKey(url), action: false, row });
    this.done();
    return true;
  }

  /** An `ERR` that answers an `UPLOAD` (`FILE_TOO_LARGE`, `QUOTA`...). True when one waited. */
  onRefused(code, text) {
    const upload = this.current;
    if (!upload || upload.stage !== 'asked') return false;
    this.fail(upload, text || code);
    return true;
  }

  /** Our `PING upload-N`: an upload still waiting for its URL was refused (an ERR above). */
  onPong(token) {
    const upload = this.current;
    if (!token.startsWith('upload-')) return false;
    if (upload && upload.token === token && upload.stage === 'asked') {
      this.fail(upload, 'the server refused the upload (see the error above)');
    }
    return true;
  }

  /** The connection is lost: what was not delivered has failed (the user may send again). */
  reset() {
    if (this.current && this.current.stage !== 'sent') {
      this.fail(this.current, 'the connection was lost; send the file again');
    }
  }

  /** The connection is back: the queued uploads go on. */
  resume() {
    if (this.current && this.current.stage === 'sent') {
      // Its OK FILE went with the old connection; the bytes arrived, so it was delivered.
      this.current.status.textContent = 'sent';
      this.done();
    }
    this.next();
  }

  fail(upload, why) {
    if (upload.xhr) upload.xhr.abort();
    upload.stage = 'failed';
    upload.row.classList.add('failed');
    upload.progress.remove();
    upload.status.textContent = why;
    upload.status.setAttribute('role', 'alert');
    if (this.current === upload) this.done();
  }

  done() {
    this.current = null;
    this.next();
  }
}

/**
 * The card of a `FILE` line, and the preview of a picture: fetched into a `blob:` URL (the
 * server sends it as an attachment, so `<img src=url>` would not show it).
 */
export function fileCard(file) {
  const row = fileLine(file);
  if (isImageName(file.name) && file.size <= PREVIEW_LIMIT && /^https?:\/\//i.test(file.url)) {
    const img = previewEl(file.name);
    row.append(img);
    fetch(file.url)
      .then((response) => (response.ok ? response.blob() : Promise.reject(new Error('gone'))))
      .then((blob) => {
        // Typed by its extension: the server sends files as untyped attachments.
        img.src = URL.createObjectURL(new Blob([blob], { type: imageType(file.name) }));
      })
      .catch(() => img.remove());
  }
  return row;
}

/** How our own file is known among our lines without an id: by its download URL. */
export function ownFileKey(url) {
  return `file ${url}`;
}

function imageType(name) {
  const ext = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return `image/${ext === 'jpg' ? 'jpeg' : ext}`;
}
