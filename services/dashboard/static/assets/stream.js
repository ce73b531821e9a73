// The Server-Sent Events stream, read with fetch so it can see 401/403: parsed by hand,
// resumed with Last-Event-ID after the server's `retry:`, dropped after 45 s of silence.

import { hideAuth, showAuth } from './auth.js';
import { $ } from './dom.js';
import { t } from './i18n.js';
import { dispatch } from './updates.js';

const STREAM_URL = '/api/dashboard/stream';
const SILENCE_LIMIT_MS = 45000; // three missed keep-alives: the link is dead

class Unauthorized extends Error {
  constructor(status) {
    super(status === 403 ? 'forbidden' : 'signed out');
    this.status = status;
  }
}

export const link = {
  lastEventId: null,
  retryMs: 3000,
  controller: null,
  lastByteAt: 0,
  running: false,
  state: 'connecting',

  start() {
    // One loop at a time; after signing in, the current connection only needs to start over.
    if (this.running) {
      if (this.controller) this.controller.abort();
      return;
    }
    this.running = true;
    this.run().finally(() => { this.running = false; });
  },

  status(state) {
    this.state = state;
    const pill = $('link');
    const kind = { live: 'live', connecting: 'wait', reconnecting: 'wait' }[state] || 'off';
    pill.className = `pill pill-${kind}`;
    pill.dataset.state = state;
    pill.textContent = t({ live: 'link.live', connecting: 'link.connecting',
      reconnecting: 'link.reconnecting', forbidden: 'link.forbidden' }[state] || 'link.signedOut');
  },

  async run() {
    for (;;) {
      try {
        await this.connect();
        this.status('reconnecting');
      } catch (err) {
        if (err instanceof Unauthorized) {
          showAuth(err.status);
          return; // signing in starts it again
        }
        this.status('reconnecting');
      }
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
    }
  },

  async connect() {
    this.controller = new AbortController();
    const headers = { Accept: 'text/event-stream' };
    if (this.lastEventId) headers['Last-Event-ID'] = this.lastEventId;
    const response = await fetch(STREAM_URL, {
      headers, credentials: 'same-origin', cache: 'no-store', signal: this.controller.signal,
    });
    if (response.status === 401 || response.status === 403) throw new Unauthorized(response.status);
    if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
    hideAuth();
    this.status('live');
    this.lastByteAt = Date.now();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    let fields = { data: [], id: null, retry: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.lastByteAt = Date.now();
      buffer += value.replace(/\r\n?/g, '\n');
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line === '') {
          if (fields.id !== null) this.lastEventId = fields.id;
          if (fields.retry !== null) this.retryMs = fields.retry;
          if (fields.data.length) dispatch(fields.data.join('\n'));
          fields = { data: [], id: null, retry: null };
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const name = colon < 0 ? line : line.slice(0, colon);
          let field = colon < 0 ? '' : line.slice(colon + 1);
          if (field.startsWith(' ')) field = field.slice(1);
          if (name === 'data') fields.data.push(field);
          else if (name === 'id') fields.id = field;
          else if (name === 'retry' && /^\d+$/.test(field)) fields.retry = Number(field);
        }
      }
    }
  },

  watchdog() {
    // Keep-alives arrive every 15 s; silence for much longer means a dead link.
    if (this.controller && this.lastByteAt && Date.now() - this.lastByteAt > SILENCE_LIMIT_MS) {
      this.lastByteAt = 0;
      this.controller.abort();
    }
  },
};
