// One WebSocket for every room: reconnects with exponential back-off and jitter, pings to
// notice a dead link, and tells the page about state changes and close codes.

const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 15000;
const PING_EVERY_MS = 25000;
const PONG_WITHIN_MS = 10000;

export function socketUrl(path = '/ws') {
  const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
  return scheme + location.host + path;
}

export class ChatSocket {
  /**
   * handlers: onFrame(frame), onState('connecting'|'connected'|'disconnected'),
   * onOpen() when the socket opens (before hello), onClose(code, reason) → false to stop.
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

  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.handlers.onState(state);
  }

  connect() {
    clearTimeout(this.retryTimer);
    const generation = ++this.generation;
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
      if (again !== false && !this.stopped) this.scheduleRetry();
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
