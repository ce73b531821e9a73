// One WebSocket for every room: reconnects with exponential back-off and jitter, pings to
// notice a dead link, and tells the page about state changes and close codes.

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;
// The server allows 10 frames a second per user (burst 30), every frame counted, and closes a
// socket that keeps going over. Stay under it: queue what must go, drop late typing frames.
const FRAMES_PER_SEC = 8;
const FRAMES_BURST = 24;

export function socketUrl(path = '/ws') {
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  return scheme + location.host + path;
}

export class ChatSocket {
  /**
   * handlers: onFrame(frame), onState('connecting'|'connected'|'disconnected'),
   * onOpen() when the socket opens (before hello), onClose(code, reason) → false to stop
   * reconnecting, a number of milliseconds to wait at least, anything else for the back-off.
   */
  constructor(handlers) {
    this.handlers = handlers;
    this.ws = null;
    this.generation = 0;
    this.attempt = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.lastFrameAt = 0;
    this.stopped = true;
    this.state = 'disconnected';
    this.tokens = FRAMES_BURST;
    this.tokensAt = Date.now();
    this.outbox = [];
    this.flushTimer = null;
    window.addEventListener('online', () => this.reconnectNow());
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** Close for good (sign out): no reconnect. */
  stop() {
    this.stopped = true;
    this.generation += 1;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) {
      try { this.ws.close(1000, 'bye'); } catch { /* already closed */ }
    }
    this.ws = null;
    this.setState('disconnected');
  }

  /** Skip the back-off wait (the network came back, or the user asked). */
  reconnectNow() {
    if (this.stopped || this.isOpen || this.state === 'connecting') return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    this.connect();
  }

  /** Mark the link healthy (hello arrived): the next failure starts the back-off afresh. */
  connected() {
    this.attempt = 0;
    this.setState('connected');
  }

  /** True when the frame went out or waits its turn on this socket; false when closed. */
  send(frame) {
    if (!this.isOpen) return false;
    this.refill();
    if (this.tokens < 1 || this.outbox.length > 0) {
      if (frame.type === 'typing' || frame.type === 'ping') return true; // stale by then
      this.outbox.push(frame);
      this.flushSoon();
      return true;
    }
    this.tokens -= 1;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  refill() {
    const now = Date.now();
    this.tokens = Math.min(FRAMES_BURST,
      this.tokens + ((now - this.tokensAt) / 1000) * FRAMES_PER_SEC);
    this.tokensAt = now;
  }

  flushSoon() {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = null;
      if (!this.isOpen) {
        this.outbox = [];
        return;
      }
      this.refill();
      while (this.outbox.length && this.tokens >= 1) {
        this.tokens -= 1;
        this.ws.send(JSON.stringify(this.outbox.shift()));
      }
      if (this.outbox.length) this.flushSoon();
    }, 1000 / FRAMES_PER_SEC);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.handlers.onState(state);
  }

  connect() {
    clearTimeout(this.retryTimer);
    const generation = ++this.generation;
    this.outbox = []; // frames for the old socket: the page re-sends what still matters
    this.setState('connecting');
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (generation !== this.generation) return;
      this.lastFrameAt = Date.now();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.heartbeat(generation), PING_EVERY_MS);
      this.handlers.onOpen();
    };
    ws.onmessage = (event) => {
      if (generation !== this.generation) return;
      this.lastFrameAt = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (frame && typeof frame.type === 'string') this.handlers.onFrame(frame);
    };
    ws.onclose = (event) => {
      if (generation !== this.generation) return;
      clearInterval(this.pingTimer);
      this.ws = null;
      this.setState('disconnected');
      const again = this.handlers.onClose(event.code, event.reason);
      if (again !== false && !this.stopped) this.scheduleRetry(typeof again === 'number' ? again : 0);
    };
    // An error is always followed by close; nothing to do here.
    ws.onerror = () => {};
  }

  heartbeat(generation) {
    if (generation !== this.generation || !this.isOpen) return;
    if (Date.now() - this.lastFrameAt > PING_EVERY_MS + PONG_WITHIN_MS) {
      // Nothing heard for a whole ping period: the link is dead even if the browser
      // has not noticed. Close it and reconnect.
      try { this.ws.close(4000, 'no pong'); } catch { /* ignore */ }
      this.generation += 1;
      this.ws = null;
      this.setState('disconnected');
      this.handlers.onClose(1006, 'no pong');
      this.scheduleRetry();
      return;
    }
    this.send({ type: 'ping' });
  }

  scheduleRetry(minMs = 0) {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    this.attempt += 1;
    // "Equal jitter": half the delay fixed, half random, so a restart does not bring every
    // client back in the same instant.
    const delay = Math.max(minMs, base / 2 + Math.random() * (base / 2));
    this.setState('disconnected');
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}
