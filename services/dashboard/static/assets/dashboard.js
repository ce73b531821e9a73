// Tertulia operations page. Reads /api/dashboard/stream (Server-Sent Events) with fetch, so
// it can see 401/403 and resume with Last-Event-ID. It signs in the way the chat page does:
// the chat service's `POST /api/auth/login` (same origin, through the gateway) sets the
// session cookie, which every dashboard request carries. Every event's data is
// {"type", "data"}: a snapshot (initial_data) replaces what the page shows; deltas carry
// absolute numbers for what changed.
import { applyI18n, has, lang, onLangChange, plural, setLang, t } from './i18n.js';

{
  const STREAM_URL = '/api/dashboard/stream';
  const BROADCAST_URL = '/api/dashboard/broadcast';
  const LOGIN_URL = '/api/auth/login';
  const LOGOUT_URL = '/api/auth/logout';
  const ME_URL = '/api/auth/me';
  // The chat page's "this browser signed in" mark (not a secret; the session is the HttpOnly
  // cookie): set here too, so the chat page opens signed in after signing in here.
  const SIGNED_IN_KEY = 'tertulia.signedIn';
  const STATUSES = ['online', 'away', 'busy', 'offline'];
  const SERIES_WINDOW_MS = 30 * 60 * 1000;
  const SAMPLE_EVERY_MS = 5000;
  const SILENCE_LIMIT_MS = 45000; // three missed keep-alives: the link is dead
  const MAX_ACTIVITY = 60;

  const $ = (id) => document.getElementById(id);

  // --- what the page shows ---------------------------------------------------------------

  const view = {
    loaded: false, // a snapshot has arrived: until then numbers show as "–"
    clockOffsetMs: 0, // server time minus local time
    minute: null, // the server's current minute (ISO)
    totals: new Map(), // minute ISO -> messages in every room
    roomMinutes: new Map(), // room id -> Map(minute ISO -> count)
    roomNames: new Map(),
    connections: null,
    presence: Object.fromEntries(STATUSES.map((s) => [s, 0])),
    services: new Map(), // "service/instance" -> instance
    broadcasts: new Map(), // id -> broadcast (newest first when listed)
    // Broadcasts already in the Activity list (or sent before this page opened): the POST's
    // answer and the stream's delta arrive in either order, and each logs it once.
    broadcastsLogged: new Set(),
    socketSeries: [], // [time ms, sockets]
    presenceSeries: [], // [time ms, {online, away, busy}]
    messages24h: 0,
    lastActivity: null,
    topRooms: [],
  };

  function serverNow() { return Date.now() + view.clockOffsetMs; }

  function minuteIso(ms) {
    const d = new Date(ms);
    d.setUTCSeconds(0, 0);
    return d.toISOString();
  }

  function sameMinute(a, b) { return Date.parse(a) === Date.parse(b); }

  function lastMinutes(count) {
    const end = view.minute ? Date.parse(view.minute) : Date.parse(minuteIso(serverNow()));
    const minutes = [];
    for (let i = count - 1; i >= 0; i -= 1) minutes.push(end - i * 60000);
    return minutes;
  }

  function countAt(map, ms) {
    for (const [iso, n] of map) if (Date.parse(iso) === ms) return n;
    return 0;
  }

  function applySnapshot(s) {
    view.loaded = true;
    view.clockOffsetMs = Date.parse(s.server_time) - Date.now();
    const m = s.messages;
    view.minute = m.minutes[m.minutes.length - 1];
    view.totals = new Map(m.minutes.map((iso, i) => [iso, m.per_minute[i]]));
    view.roomMinutes = new Map();
    for (const room of m.rooms) {
      view.roomNames.set(room.room_id, room.name);
      view.roomMinutes.set(room.room_id,
        new Map(m.minutes.map((iso, i) => [iso, room.per_minute[i]])));
    }
    view.messages24h = m.messages_24h;
    view.topRooms = m.top_rooms;
    view.connections = s.connections;
    view.presence = s.presence;
    view.services = new Map(s.services.map((i) => [i.service + '/' + i.instance_id, i]));
    view.broadcasts = new Map(s.broadcasts.map((b) => [b.broadcast_id, b]));
    for (const id of view.broadcasts.keys()) view.broadcastsLogged.add(id);
    view.serverStart = s.server_start;
    $('server-start').textContent = formatTime(s.server_start, true);
    setUsers(s.users);
    setNotifications(s.notifications);
    sample();
    renderAll();
  }

  function applyDelta(type, d) {
    switch (type) {
      case 'connections':
        view.connections = d;
        sample();
        renderConnections();
        break;
      case 'message_stats':
        view.minute = d.minute;
        for (const m of d.total) view.totals.set(m.minute, m.count);
        for (const room of d.rooms) {
          view.roomNames.set(room.room_id, room.name);
          const minutes = view.roomMinutes.get(room.room_id) || new Map();
          for (const m of room.minutes) minutes.set(m.minute, m.count);
          view.roomMinutes.set(room.room_id, minutes);
        }
        view.messages24h = d.messages_24h;
        view.topRooms = d.top_rooms;
        if (d.last_activity) view.lastActivity = d.last_activity;
        renderMessages();
        renderConnections(); // messages per room in "rooms with people"
        break;
      case 'user_presence':
        view.presence = d.counts;
        for (const u of d.users) {
          const status = t(`status.${u.status}`);
          log(u.previous
            ? t('activity.presenceWas', { name: u.username, status, previous: t(`status.${u.previous}`) })
            : t('activity.presence', { name: u.username, status }), u.at);
        }
        sample();
        renderPresence();
        break;
      case 'user_stats':
        setUsers(d);
        break;
      case 'notification_stats':
        setNotifications(d);
        break;
      case 'service_health':
        for (const i of d.instances) {
          const key = i.service + '/' + i.instance_id;
          const before = view.services.get(key);
          const status = t(`health.${i.status}`);
          if (before && before.status !== i.status) {
            log(t('activity.service', { service: i.service, instance: i.instance_id, status }));
          } else if (!before) {
            log(t('activity.appeared', { service: i.service, instance: i.instance_id,
              version: i.version, status }));
          }
          view.services.set(key, i);
        }
        for (const gone of d.removed || []) view.services.delete(gone.service + '/' + gone.instance_id);
        renderServices();
        break;
      case 'broadcast':
        noteBroadcast(d);
        break;
      default:
        break; // a newer server's delta: ignore what this page does not know
    }
  }

  /** A broadcast from the stream or from the page's own POST: listed, and logged once. */
  function noteBroadcast(b) {
    if (!view.broadcastsLogged.has(b.broadcast_id)) {
      view.broadcastsLogged.add(b.broadcast_id);
      log(t('activity.broadcast', { content: b.content }), b.sent_at);
    }
    view.broadcasts.set(b.broadcast_id, b);
    renderBroadcasts();
  }

  // --- rendering ---------------------------------------------------------------------------

  function text(el, value) { el.textContent = value; return el; }

  function make(tag, className, content) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (content !== undefined) el.textContent = content;
    return el;
  }

  function fmt(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString(lang()); }

  function formatTime(iso, withDate) {
    if (!iso) return '–';
    const d = new Date(iso);
    return withDate ? d.toLocaleString(lang()) : d.toLocaleTimeString(lang());
  }

  function ago(iso) {
    const secs = Math.max(0, Math.round((serverNow() - Date.parse(iso)) / 1000));
    if (secs < 60) return t('ago.secs', { n: secs });
    if (secs < 3600) return t('ago.mins', { n: Math.round(secs / 60) });
    if (secs < 86400) return t('ago.hours', { n: Math.round(secs / 3600) });
    return t('ago.days', { n: Math.round(secs / 86400) });
  }

  function flash(id) {
    const kpi = $(id).closest('.kpi');
    kpi.classList.add('flash');
    setTimeout(() => kpi.classList.remove('flash'), 400);
  }

  function emptyRow(tbody, columns, message) {
    const row = tbody.insertRow();
    const cell = row.insertCell();
    cell.colSpan = columns;
    cell.className = 'empty';
    cell.textContent = message;
  }

  function renderAll() {
    renderConnections();
    renderMessages();
    renderPresence();
    renderServices();
    renderBroadcasts();
    $('main').setAttribute('aria-busy', 'false');
  }

  function renderConnections() {
    const c = view.connections;
    if (!c) return;
    text($('k-sockets'), fmt(c.total));
    const replicas = Object.entries(c.by_replica);
    text($('k-sockets-sub'), plural('kpi.replicas', replicas.length));
    text($('k-users'), fmt(c.users));
    text($('k-users-sub'), t('kpi.extraSockets', { n: fmt(c.total - c.users) }));
    text($('k-rooms'), fmt(c.rooms_with_people));
    flash('k-sockets');

    const tbody = $('replicas');
    tbody.replaceChildren();
    // A replica that closed slow sockets and has since gone still shows for the hour.
    const slow = (c.slow_consumers_1h && c.slow_consumers_1h.by_replica) || {};
    const names = [...new Set([...Object.keys(c.by_replica), ...Object.keys(slow)])].sort();
    if (!names.length) emptyRow(tbody, 3, t('empty.replicas'));
    for (const replica of names) {
      const row = tbody.insertRow();
      row.setAttribute('data-replica', replica);
      row.insertCell().append(make('code', '', replica));
      text(row.insertCell(), fmt(c.by_replica[replica] || 0)).className = 'num';
      const closes = text(row.insertCell(), fmt(slow[replica] || 0));
      closes.className = slow[replica] ? 'num slow' : 'num';
      closes.setAttribute('data-testid', 'slow-closes');
    }

    const rooms = $('rooms-people');
    rooms.replaceChildren();
    if (!c.rooms.length) emptyRow(rooms, 4, t('empty.roomsPeople'));
    const hour = lastMinutes(60);
    for (const r of c.rooms) {
      const row = rooms.insertRow();
      text(row.insertCell(), r.name || `#${r.room_id}`);
      text(row.insertCell(), fmt(r.users)).className = 'num';
      text(row.insertCell(), fmt(r.sockets)).className = 'num';
      const minutes = view.roomMinutes.get(r.room_id);
      const perHour = minutes ? hour.reduce((sum, ms) => sum + countAt(minutes, ms), 0) : 0;
      text(row.insertCell(), fmt(perHour)).className = 'num';
    }
    drawSockets();
  }

  function forgetOldMinutes(oldest) {
    const maps = [view.totals, ...view.roomMinutes.values()];
    for (const map of maps) {
      for (const iso of [...map.keys()]) if (Date.parse(iso) < oldest) map.delete(iso);
    }
    for (const [room, map] of [...view.roomMinutes]) if (!map.size) view.roomMinutes.delete(room);
  }

  function renderMessages() {
    const minutes = lastMinutes(60);
    forgetOldMinutes(minutes[0]);
    const counts = minutes.map((ms) => countAt(view.totals, ms));
    drawBars($('chart-messages'), minutes, counts);
    if (!view.loaded) return;
    text($('k-minute'), fmt(counts[counts.length - 1]));
    text($('k-hour'), t('kpi.lastHour', { n: fmt(counts.reduce((a, b) => a + b, 0)) }));
    text($('k-day'), fmt(view.messages24h));
    text($('k-last'), view.lastActivity ? t('kpi.last', { ago: ago(view.lastActivity) }) : '\u00a0');
    flash('k-minute');

    const tbody = $('top-rooms');
    tbody.replaceChildren();
    if (!view.topRooms.length) emptyRow(tbody, 3, t('empty.topRooms'));
    const most = Math.max(1, ...view.topRooms.map((r) => r.message_count));
    for (const r of view.topRooms) {
      const row = tbody.insertRow();
      text(row.insertCell(), r.name || `#${r.id}`);
      text(row.insertCell(), fmt(r.message_count)).className = 'num';
      const bar = make('div', 'bar');
      bar.style.width = `${(100 * r.message_count) / most}%`;
      row.insertCell().append(bar);
    }
  }

  function renderPresence() {
    if (!view.loaded) return;
    const legend = $('presence-legend');
    legend.replaceChildren();
    for (const status of STATUSES) {
      const item = make('li');
      const swatch = make('span', 'swatch');
      swatch.style.background = color(status);
      item.append(swatch, make('span', '', t(`status.${status}`)),
        make('span', 'count', fmt(view.presence[status])));
      legend.append(item);
    }
    drawPresence();
  }

  function renderServices() {
    if (!view.loaded) return;
    const instances = [...view.services.values()].sort((a, b) =>
      (a.service + a.instance_id).localeCompare(b.service + b.instance_id));
    const up = instances.filter((i) => i.status === 'up').length;
    const down = instances.filter((i) => i.status === 'down').length;
    text($('k-services'), `${up}/${instances.length}`);
    text($('k-services-sub'), down ? t('kpi.down', { n: down }) : t('kpi.allHeard'));
    const tbody = $('services');
    tbody.replaceChildren();
    if (!instances.length) emptyRow(tbody, 6, t('empty.services'));
    for (const i of instances) {
      const row = tbody.insertRow();
      text(row.insertCell(), i.service);
      row.insertCell().append(make('code', '', i.instance_id));
      text(row.insertCell(), i.version);
      row.insertCell().append(make('span', `badge badge-${i.status}`, t(`health.${i.status}`)));
      const since = row.insertCell();
      since.textContent = ago(i.started_at);
      since.title = formatTime(i.started_at, true);
      const checks = row.insertCell();
      checks.className = 'checks';
      const entries = Object.entries((i.details && i.details.checks) || {});
      entries.forEach(([name, ok], n) => {
        if (n) checks.append(' · ');
        checks.append(make('span', ok ? '' : 'failed', ok ? name : `${name} ✗`));
      });
      if (i.status === 'down') {
        if (entries.length) checks.append(' · ');
        checks.append(make('span', 'failed', t('health.silent', { ago: ago(i.last_seen) })));
      }
    }
  }

  function renderBroadcasts() {
    const list = $('broadcasts');
    list.replaceChildren();
    const items = [...view.broadcasts.values()].sort((a, b) => Date.parse(b.sent_at) - Date.parse(a.sent_at));
    for (const b of items) {
      const li = make('li');
      li.append(make('div', 'content', b.content));
      const read = b.read === null ? t('broadcast.readUnknown') : t('broadcast.read', { n: fmt(b.read) });
      li.append(make('div', 'meta', t('broadcast.meta', {
        time: formatTime(b.sent_at), sent: fmt(b.sent_to), users: fmt(b.users_reached),
        replicas: fmt(b.replicas), expected: fmt(b.expected_replicas), inboxes: fmt(b.inboxes),
        read })));
      list.append(li);
    }
  }

  function setUsers(u) {
    text($('k-new-users'), fmt(u.new_24h));
    text($('k-known-users'), t('kpi.known', { n: fmt(u.known) }));
  }

  function setNotifications(n) {
    text($('k-notifications'), fmt(n.sent_24h));
    const reasons = Object.entries(n.by_reason)
      .map(([k, v]) => `${fmt(v)} ${has(`reason.${k}`) ? t(`reason.${k}`) : k}`).join(', ');
    const suppressed = n.suppressed_24h === null
      ? t('kpi.suppressedUnknown') : t('kpi.suppressed', { n: fmt(n.suppressed_24h) });
    text($('k-suppressed'), reasons ? `${reasons}; ${suppressed}` : suppressed);
  }

  function log(message, at) {
    const list = $('activity');
    const li = make('li');
    li.append(make('time', '', formatTime(at || new Date(serverNow()).toISOString())), message);
    list.prepend(li);
    while (list.children.length > MAX_ACTIVITY) list.lastChild.remove();
  }

  // --- charts (canvas, no library) ---------------------------------------------------------

  function color(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();
  }

  function canvasContext(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.font = '11px system-ui, sans-serif';
    return { ctx, width, height };
  }

  function niceMax(value) {
    if (value <= 4) return 4;
    const magnitude = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (step * magnitude >= value) return step * magnitude;
    }
    return value;
  }

  function axes(ctx, width, height, max, pad) {
    ctx.strokeStyle = color('line');
    ctx.fillStyle = color('muted');
    ctx.lineWidth = 1;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i += 1) {
      const y = pad.top + ((height - pad.top - pad.bottom) * i) / 4;
      ctx.beginPath();
      ctx.moveTo(pad.left, Math.round(y) + 0.5);
      ctx.lineTo(width - pad.right, Math.round(y) + 0.5);
      ctx.stroke();
      ctx.fillText(fmt(Math.round(max - (max * i) / 4)), pad.left - 6, y);
    }
  }

  function timeLabels(ctx, width, height, pad, start, end) {
    ctx.fillStyle = color('muted');
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    const hhmm = { hour: '2-digit', minute: '2-digit' };
    ctx.fillText(new Date(start).toLocaleTimeString(lang(), hhmm), pad.left, height - pad.bottom + 5);
    ctx.textAlign = 'right';
    ctx.fillText(new Date(end).toLocaleTimeString(lang(), hhmm), width - pad.right, height - pad.bottom + 5);
  }

  function drawBars(canvas, minutes, counts) {
    const { ctx, width, height } = canvasContext(canvas);
    const pad = { top: 8, right: 8, bottom: 20, left: 40 };
    const max = niceMax(Math.max(...counts));
    axes(ctx, width, height, max, pad);
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const slot = plotW / counts.length;
    ctx.fillStyle = color('accent');
    counts.forEach((n, i) => {
      if (!n) return;
      const h = (plotH * n) / max;
      ctx.fillRect(pad.left + i * slot + 1, pad.top + plotH - h, Math.max(1, slot - 2), h);
    });
    timeLabels(ctx, width, height, pad, minutes[0], minutes[minutes.length - 1]);
  }

  function drawLines(canvas, series) {
    const { ctx, width, height } = canvasContext(canvas);
    const pad = { top: 8, right: 8, bottom: 20, left: 40 };
    const end = serverNow();
    const start = end - SERIES_WINDOW_MS;
    const values = series.flatMap((s) => s.points.map((p) => p[1]));
    const max = niceMax(Math.max(0, ...values));
    axes(ctx, width, height, max, pad);
    const plotW = width - pad.left - pad.right;
    const plotH = height - pad.top - pad.bottom;
    const x = (at) => pad.left + (plotW * (at - start)) / (end - start);
    const y = (v) => pad.top + plotH - (plotH * v) / max;
    for (const s of series) {
      const points = s.points.filter((p) => p[0] >= start - SAMPLE_EVERY_MS);
      if (!points.length) continue;
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 2;
      ctx.beginPath();
      points.forEach(([at, v], i) => {
        const px = Math.max(pad.left, x(at));
        if (i === 0) {
          ctx.moveTo(px, y(v));
        } else {
          ctx.lineTo(px, y(points[i - 1][1])); // a step: a value holds until the next one
          ctx.lineTo(px, y(v));
        }
      });
      ctx.lineTo(x(end), y(points[points.length - 1][1]));
      ctx.stroke();
      if (s.fill) {
        ctx.lineTo(x(end), y(0));
        ctx.lineTo(Math.max(pad.left, x(points[0][0])), y(0));
        ctx.closePath();
        ctx.fillStyle = s.fill;
        ctx.fill();
      }
    }
    timeLabels(ctx, width, height, pad, start, end);
  }

  function drawSockets() {
    drawLines($('chart-sockets'), [{
      color: color('accent'), fill: color('accent-soft'),
      points: view.socketSeries,
    }]);
  }

  function drawPresence() {
    drawLines($('chart-presence'), ['online', 'away', 'busy'].map((status) => ({
      color: color(status),
      points: view.presenceSeries.map(([at, counts]) => [at, counts[status]]),
    })));
  }

  function sample() {
    const now = serverNow();
    const cutoff = now - SERIES_WINDOW_MS - SAMPLE_EVERY_MS;
    if (view.connections) view.socketSeries.push([now, view.connections.total]);
    view.presenceSeries.push([now, { ...view.presence }]);
    view.socketSeries = view.socketSeries.filter((p) => p[0] >= cutoff);
    view.presenceSeries = view.presenceSeries.filter((p) => p[0] >= cutoff);
  }

  // --- the stream --------------------------------------------------------------------------

  class Unauthorized extends Error {
    constructor(status) {
      super(status === 403 ? 'forbidden' : 'signed out');
      this.status = status;
    }
  }

  const link = {
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

  function dispatch(raw) {
    let message;
    try { message = JSON.parse(raw); } catch (e) { return; }
    $('last-id').textContent = link.lastEventId || '–';
    if (message.type === 'initial_data') applySnapshot(message.data);
    else applyDelta(message.type, message.data);
  }

  // --- signing in: the chat service's session, shared with the chat page --------------------

  const auth = { reason: null, username: null };

  function markedSignedIn() {
    try { return localStorage.getItem(SIGNED_IN_KEY) !== null; } catch (e) { return true; }
  }

  function markSignedIn(yes) {
    try {
      if (yes) localStorage.setItem(SIGNED_IN_KEY, '1');
      else localStorage.removeItem(SIGNED_IN_KEY);
    } catch (e) { /* storage may be unavailable */ }
  }

  function showAuth(status) {
    link.status(status === 403 ? 'forbidden' : 'signed-out');
    auth.reason = status === 403 ? 'auth.forbidden' : 'auth.signedOut';
    $('auth-reason').textContent = t(auth.reason);
    $('auth').hidden = false;
    $('sign-out').hidden = status !== 403; // a non-admin session can be left for another
    $('signed-in-as').textContent = '';
    $('sign-in-username').focus();
  }

  function hideAuth() {
    $('auth').hidden = true;
    $('sign-in-error').hidden = true;
    $('sign-out').hidden = false;
    showWho();
  }

  async function showWho() {
    try {
      const response = await fetch(ME_URL, { credentials: 'same-origin', cache: 'no-store' });
      if (response.ok) auth.username = (await response.json()).username;
    } catch (e) { /* the name is a courtesy */ }
    $('signed-in-as').textContent = auth.username ? t('auth.as', { name: auth.username }) : '';
  }

  function signInError(key, params) {
    const box = $('sign-in-error');
    box.textContent = t(key, params);
    box.hidden = false;
  }

  async function signIn(event) {
    event.preventDefault();
    const username = $('sign-in-username').value.trim();
    const password = $('sign-in-password').value;
    if (!username || !password) { signInError('auth.missing'); return; }
    const button = $('sign-in-submit');
    button.disabled = true;
    button.textContent = t('auth.working');
    try {
      const response = await fetch(LOGIN_URL, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      if (response.ok) {
        markSignedIn(true);
        $('sign-in-password').value = '';
        $('sign-in-error').hidden = true;
        link.status('connecting');
        link.start();
        return;
      }
      let body = {};
      try { body = await response.json(); } catch (e) { /* not problem details */ }
      if (response.status === 429) {
        signInError('error.rate_limited', { secs: response.headers.get('Retry-After') || '?' });
      } else if (response.status === 404 || response.status === 405) {
        signInError('error.noSignIn');
      } else if (body.code && has(`error.${body.code}`)) {
        signInError(`error.${body.code}`);
      } else {
        signInError('error.generic', { detail: body.detail || body.title || `HTTP ${response.status}` });
      }
    } catch (e) {
      signInError('error.network');
    } finally {
      button.disabled = false;
      button.textContent = t('auth.signIn');
    }
  }

  async function signOut() {
    try {
      await fetch(LOGOUT_URL, { method: 'POST', credentials: 'same-origin' });
    } catch (e) { /* the stream's answer says where we stand */ }
    auth.username = null;
    markSignedIn(false);
    if (link.controller) link.controller.abort();
    link.start();
  }

  // --- forms -------------------------------------------------------------------------------

  function wireForms() {
    $('sign-in-form').addEventListener('submit', signIn);
    $('sign-out').addEventListener('click', signOut);

    const textarea = $('broadcast-text');
    const count = () => text($('broadcast-count'),
      t('broadcast.count', { n: textarea.value.length, max: textarea.maxLength }));
    textarea.addEventListener('input', count);
    count();

    $('broadcast-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const content = textarea.value.trim();
      if (!content) return;
      const result = $('broadcast-result');
      const button = $('broadcast-send');
      button.disabled = true;
      result.className = 'small';
      result.textContent = t('broadcast.sending');
      try {
        const response = await fetch(BROADCAST_URL, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ content }),
        });
        const body = await response.json();
        if (!response.ok) throw new Error(body.detail || body.title || `HTTP ${response.status}`);
        result.className = 'small result-ok';
        result.textContent = body.replicas
          ? plural('broadcast.delivered', body.replicas, { sent: fmt(body.sent_to),
            total: fmt(body.total_connections), users: fmt(body.users_reached) })
          : t('broadcast.unconfirmed', { total: fmt(body.total_connections) });
        noteBroadcast(body);
        textarea.value = '';
        count();
      } catch (err) {
        result.className = 'small result-bad';
        result.textContent = t('broadcast.failed', { detail: err.message });
      } finally {
        button.disabled = false;
      }
    });

    const select = $('lang');
    select.value = lang();
    select.addEventListener('change', () => setLang(select.value));
  }

  /** Everything drawn from data, again in the new language. */
  function relabel() {
    $('lang').value = lang();
    link.status(link.state);
    if (!$('auth').hidden && auth.reason) $('auth-reason').textContent = t(auth.reason);
    if (view.serverStart) $('server-start').textContent = formatTime(view.serverStart, true);
    if (auth.username) $('signed-in-as').textContent = t('auth.as', { name: auth.username });
    text($('broadcast-count'), t('broadcast.count', {
      n: $('broadcast-text').value.length, max: $('broadcast-text').maxLength }));
    if (view.loaded) renderAll();
  }

  // --- time passes ----------------------------------------------------------------------

  function everySecond() {
    const now = serverNow();
    $('server-clock').textContent = new Date(now).toISOString().slice(11, 19) + ' UTC';
    link.watchdog();
    const current = minuteIso(now);
    if (view.minute && !sameMinute(view.minute, current) && Date.parse(current) > Date.parse(view.minute)) {
      view.minute = current; // the chart moves on even when nobody writes
      renderMessages();
    }
  }

  function everySample() {
    sample();
    drawSockets();
    drawPresence();
    renderServices(); // "up since" / "silent since" ages
  }

  function start() {
    applyI18n(document);
    onLangChange(relabel);
    wireForms();
    renderAll();
    setInterval(everySecond, 1000);
    setInterval(everySample, SAMPLE_EVERY_MS);
    if ('ResizeObserver' in window) {
      const redraw = () => { renderMessages(); drawSockets(); drawPresence(); };
      const observer = new ResizeObserver(redraw);
      document.querySelectorAll('canvas.chart').forEach((c) => observer.observe(c));
    }
    // Like the chat page: a browser that never signed in gets the form without first
    // asking (and logging a 401).
    if (markedSignedIn()) link.start();
    else showAuth(401);
  }

  // A module runs after the document is parsed.
  start();
}
