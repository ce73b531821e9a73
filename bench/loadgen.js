'use strict';
// The load generator of bench/run.py: one Node process, many WebSocket clients.
//
//   node bench/loadgen.js CONFIG.json        (prints one JSON result on stdout)
//
// CONFIG (written by run.py):
//   scenario   "A" | "B" | "C" | "C10k" | "posts"
//   protocol   "tertulia" | "naive" | "socketio" | "node": which adapter speaks to the server
//   urls       ["ws://127.0.0.1:PORT", ...]: socket i connects to urls[i % urls.length]
//   sockets    {room: [room id per socket], user: [user index per socket]}
//   tokens     [token per user index] ("" where the server has no authentication)
//   senders    [socket index, ...]: who posts (A: the 10 senders; B and C10k: one per room)
//   pids       {server: [pid, ...], db: [pid, ...]}: whose CPU and RSS are read from /proc
//   clk_tck    the kernel's clock ticks per second (utime and stime are counted in ticks)
//   params     durations, rates and counts (see the scenario functions)
//
// Latency is measured on this process's one monotonic clock (performance.now()): from just
// before a message is handed to its socket to the moment each recipient's copy is parsed.
// CPU (utime + stime) and RSS (VmRSS) of the server processes are read here, at the edges of
// the measured phase, so they cover exactly that phase.

const fs = require('fs');
const { performance } = require('perf_hooks');
const WebSocket = require('ws');

const now = () => performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => process.stderr.write(`[loadgen] ${args.join(' ')}\n`);

// A chat line of ordinary length after the key, so frames are not unrealistically tiny.
const FILLER = 'the quick brown fox jumps over the lazy dog';
const READY = 'ready';
const JOINED = 'joined';

// --- /proc readings -----------------------------------------------------------------------

function cpuSecs(pid, clkTck) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces): state is [0], utime [11], stime [12].
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clkTck;
}

function rssKb(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const line = status.split('\n').find((l) => l.startsWith('VmRSS:'));
  return line ? Number(line.split(/\s+/)[1]) : NaN;
}

/** CPU seconds and RSS of every watched process, now. */
function snapshot(pids, clkTck) {
  const self = process.cpuUsage();
  const take = (list) => list.map((pid) => {
    try {
      return { pid, cpu: cpuSecs(pid, clkTck), rss: rssKb(pid) };
    } catch {
      return { pid, cpu: NaN, rss: NaN, gone: true };
    }
  });
  return { t: now(), server: take(pids.server || []), db: take(pids.db || []),
           loadgen_cpu_s: (self.user + self.system) / 1e6 };
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);

/** What the processes used between two snapshots. */
function usage(a, b) {
  // A process that is gone (a database backend that closed) counts for nothing; a server
  // process that is gone is listed in server_gone and run.py fails the run.
  const cpu = (group) => sum(b[group].map((p, i) => p.cpu - a[group][i].cpu)
    .filter((x) => !Number.isNaN(x)));
  return {
    seconds: (b.t - a.t) / 1000,
    server_cpu_s: cpu('server'),
    db_cpu_s: cpu('db'),
    // Near 100 %: the load generator, not the server, set the pace.
    loadgen_cpu_pct: (100 * (b.loadgen_cpu_s - a.loadgen_cpu_s)) / ((b.t - a.t) / 1000),
    server_rss_kb_start: sum(a.server.map((p) => p.rss)),
    server_rss_kb_end: sum(b.server.map((p) => p.rss)),
    by_pid: b.server.map((p, i) => ({ pid: p.pid, cpu_s: p.cpu - a.server[i].cpu,
                                      rss_kb_start: a.server[i].rss, rss_kb_end: p.rss })),
    server_gone: b.server.filter((p) => p.gone).map((p) => p.pid),
    db_gone: b.db.filter((p) => p.gone).map((p) => p.pid),
  };
}

function percentiles(samples) {
  if (samples.length === 0) return { n: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  const round = (x) => Math.round(x * 1000) / 1000;
  return { n: sorted.length, p50_ms: round(at(0.5)), p99_ms: round(at(0.99)),
           max_ms: round(sorted[sorted.length - 1]), mean_ms: round(sum(sorted) / sorted.length) };
}

// --- protocol adapters --------------------------------------------------------------------
// parse(client, text) returns READY (the connect is done), JOINED (the room is joined; READY
// implies it where joining is part of connecting), {msg: content}, {ack: key, room, seq},
// {error: code} or null; it may answer the server itself (socket.io pings).

const keyOf = (content) => content.slice(0, content.indexOf(' '));

// The frames that carry our messages are by far the most frequent: their key (digits, a dot,
// digits, then a space and the filler) is found without parsing the whole frame, so the load
// generator's own ceiling stays well above the servers'. Python's json.dumps writes `": "`.
const CONTENT_KEY = /"content": ?"(\d+\.\d+) /;

function fastMessage(text) {
  const match = CONTENT_KEY.exec(text);
  return match === null ? null : { key: match[1] };
}

const ADAPTERS = {
  // Tertulia: /ws/chat/{room}?token=..., done at `joined`; the sender also gets an `ack`.
  tertulia: {
    url: (base, c) => `${base}/ws/chat/${c.room}?token=${encodeURIComponent(c.token)}`,
    onOpen() {},
    parse(client, text) {
      const frame = JSON.parse(text);
      switch (frame.type) {
        case 'message': return { msg: frame.data.content };
        case 'ack': return { ack: frame.data.client_msg_id, room: frame.data.room_id,
                             seq: frame.data.seq };
        case 'joined': return frame.data.room_id === client.room ? READY : null;
        case 'error': return { error: frame.data.code };
        default: return null;
      }
    },
    chat: (client, key) => JSON.stringify({ type: 'chat_message', room_id: client.room,
                                            content: `${key} ${FILLER}`, client_msg_id: key }),
  },
  // The exercise's frames: the room is in the path; done when the first ping is answered.
  naive: {
    url: (base, c) => `${base}/ws/chat/${c.room}?token=${encodeURIComponent(c.token)}`,
    onOpen(client) { client.ws.send('{"type":"ping"}'); },
    parse(client, text) {
      const frame = JSON.parse(text);
      if (frame.type === 'message') return { msg: frame.data.content };
      if (frame.type === 'pong') return READY;
      return null;
    },
    chat: (client, key) => JSON.stringify({ type: 'chat_message', content: `${key} ${FILLER}` }),
  },
  // Plain JSON to the Node reference: the same shape as naive, without a token.
  node: {
    url: (base, c) => `${base}/ws/chat/${c.room}`,
    onOpen(client) { client.ws.send('{"type":"ping"}'); },
    parse(client, text) {
      const frame = JSON.parse(text);
      if (frame.type === 'message') return { msg: frame.data.content };
      if (frame.type === 'pong') return READY;
      return null;
    },
    chat: (client, key) => JSON.stringify({ type: 'chat_message', content: `${key} ${FILLER}` }),
  },
  // engine.io v4 + socket.io framing by hand: `0{...}` open, `40` connect the namespace,
  // `42[event, data]` events, `43<id>[...]` acks, `2` ping answered by `3`.
  socketio: {
    url: (base) => `${base}/socket.io/?EIO=4&transport=websocket`,
    onOpen() {},
    parse(client, text) {
      if (text === '2') {
        client.ws.send('3');
        return null;
      }
      if (text[0] === '0') {
        client.ws.send('40');
        return null;
      }
      if (text.startsWith('42')) {
        const [event, data] = JSON.parse(text.slice(2));
        return event === 'chat_message' ? { msg: data.content } : null;
      }
      if (text.startsWith('40')) {
        // Done connecting; joining the room is acknowledged separately (ack id 1).
        client.ws.send(`421${JSON.stringify(['join', { room: client.room }])}`);
        return READY;
      }
      if (text.startsWith('431')) return JOINED;
      if (text.startsWith('44')) return { error: 'connect_error' };
      return null;
    },
    chat: (client, key) => `42${JSON.stringify(['chat_message',
                                                { room: client.room, content: `${key} ${FILLER}` }])}`,
  },
};

// --- clients ------------------------------------------------------------------------------

class Client {
  constructor(index, room, token, base, adapter, run) {
    this.index = index;
    this.room = room;
    this.token = token;
    this.base = base;
    this.adapter = adapter;
    this.run = run;
    this.ws = null;
    this.ready = false;
    this.joined = false;
    this.closing = false; // we closed it: not a server close
    this.closedByServer = null; // the close code, when the server closed it
    this.received = 0; // message frames of our tracked messages
    this.inflight = null; // closed loops: the key this sender waits for
    this.sent = 0;
    this.onJoined = null;
  }

  get open() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Resolves once the adapter says READY; rejects on error, close or timeout. */
  connect(timeoutMs) {
    return new Promise((resolve, reject) => {
      const fail = (why) => {
        clearTimeout(timer);
        if (!this.ready) reject(new Error(why));
      };
      const timer = setTimeout(() => {
        fail('connect timeout');
        if (this.ws) this.ws.terminate();
      }, timeoutMs);
      this.ws = new WebSocket(this.adapter.url(this.base, this), {
        perMessageDeflate: false, // no compression with any server (Tertulia serves none)
        handshakeTimeout: timeoutMs,
        maxPayload: 64 * 1024 * 1024,
      });
      this.ws.on('open', () => this.adapter.onOpen(this));
      this.ws.on('error', (err) => fail(`error: ${err.message}`));
      this.ws.on('close', (code) => {
        if (!this.closing && this.ready && this.closedByServer === null) {
          this.closedByServer = code;
          this.run.closes.push({ socket: this.index, code });
        }
        fail(`closed ${code} before ready`);
      });
      this.ws.on('message', (data) => {
        const text = data.toString();
        const fast = this.ready ? fastMessage(text) : null;
        if (fast !== null) {
          this.run.onDelivery(this, fast.key);
          return;
        }
        const event = this.adapter.parse(this, text);
        if (event === null) return;
        if (event === READY || event === JOINED) {
          if (event === READY && !this.ready) {
            this.ready = true;
            clearTimeout(timer);
            resolve();
          }
          if (event === JOINED || this.adapter !== ADAPTERS.socketio) this.markJoined();
          return;
        }
        this.run.onEvent(this, event);
      });
    });
  }

  markJoined() {
    if (this.joined) return;
    this.joined = true;
    if (this.onJoined) this.onJoined();
  }

  whenJoined() {
    return this.joined ? Promise.resolve() : new Promise((resolve) => { this.onJoined = resolve; });
  }

  close() {
    this.closing = true;
    if (this.ws && this.ws.readyState <= WebSocket.OPEN) this.ws.close(1000);
  }
}

// --- one run: clients, message tracking, counters -----------------------------------------

class Run {
  constructor(config) {
    this.config = config;
    this.params = config.params;
    this.adapter = ADAPTERS[config.protocol];
    if (!this.adapter) throw new Error(`unknown protocol ${config.protocol}`);
    const { room, user } = config.sockets;
    this.clients = room.map((r, i) => new Client(
      i, r, config.tokens[user[i]] || '', config.urls[i % config.urls.length], this.adapter, this));
    this.roomSize = new Map();
    for (const r of room) this.roomSize.set(r, (this.roomSize.get(r) || 0) + 1);
    this.roomSent = new Map(); // messages sent per room, to find missing deliveries
    this.records = new Map(); // key -> {t, room, sender, got, measured}
    this.expected = 0;
    this.delivered = 0;
    this.unknown = 0; // message frames that are none of ours (history, replays)
    this.errors = {}; // error frames by code
    this.closes = [];
    this.latencies = []; // ms, deliveries of messages sent in the measured window
    this.ackLatencies = [];
    this.acked = []; // posts: [room, seq, key]
    this.windowOpen = false;
    this.windowDeliveries = 0;
    this.windowAcks = 0;
    this.loop = null; // closed loops: 'echo' (own copy comes back) or 'ack'
    this.sending = false;
  }

  snapshot() {
    return snapshot(this.config.pids, this.config.clk_tck);
  }

  send(sender) {
    const key = `${sender.index}.${sender.sent++}`;
    const t = now();
    this.records.set(key, { t, room: sender.room, sender, got: 0, measured: this.windowOpen });
    this.roomSent.set(sender.room, (this.roomSent.get(sender.room) || 0) + 1);
    this.expected += this.roomSize.get(sender.room);
    sender.inflight = key;
    sender.ws.send(this.adapter.chat(sender, key));
  }

  onEvent(client, event) {
    if (event.msg !== undefined) this.onDelivery(client, keyOf(event.msg));
    else if (event.ack !== undefined) this.onAck(client, event);
    else if (event.error !== undefined) this.errors[event.error] = (this.errors[event.error] || 0) + 1;
  }

  onDelivery(client, key) {
    const record = this.records.get(key);
    if (record === undefined) {
      this.unknown++;
      return;
    }
    const t = now();
    record.got++;
    client.received++;
    this.delivered++;
    if (this.windowOpen) this.windowDeliveries++;
    if (record.measured) this.latencies.push(t - record.t);
    if (this.loop === 'echo' && client === record.sender && client.inflight === key) {
      client.inflight = null;
      if (this.sending) this.send(client);
    }
  }

  onAck(client, event) {
    const record = this.records.get(event.ack);
    if (record === undefined) return;
    if (this.loop === 'ack') this.acked.push([event.room, event.seq, event.ack]);
    if (this.windowOpen) this.windowAcks++;
    if (record.measured) this.ackLatencies.push(now() - record.t);
    if (this.loop === 'ack' && client.inflight === event.ack) {
      client.inflight = null;
      if (this.sending) this.send(client);
    }
  }

  /** Waits until every tracked message reached every socket of its room, or the timeout. */
  async drain(timeoutMs) {
    const deadline = now() + timeoutMs;
    while (this.delivered < this.expected && now() < deadline) await sleep(20);
  }

  /** Deliveries that never came (per socket) and copies that came twice (per message). */
  losses() {
    let missing = 0;
    for (const c of this.clients) missing += Math.max(0, (this.roomSent.get(c.room) || 0) - c.received);
    let duplicates = 0;
    for (const r of this.records.values()) duplicates += Math.max(0, r.got - this.roomSize.get(r.room));
    return { messages: this.records.size, expected_deliveries: this.expected,
             missing, duplicates, unknown_frames: this.unknown };
  }

  async connectAll() {
    const concurrency = this.params.connect_concurrency || 50;
    const timeoutMs = (this.params.connect_timeout_s || 60) * 1000;
    const failures = [];
    let next = 0;
    let done = 0;
    const t0 = now();
    const worker = async () => {
      while (next < this.clients.length) {
        const client = this.clients[next++];
        try {
          await client.connect(timeoutMs);
        } catch (err) {
          failures.push({ socket: client.index, error: err.message });
        }
        if (++done % 1000 === 0) log(`${done} connected`);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, this.clients.length) }, worker));
    const connectSecs = (now() - t0) / 1000;
    // socket.io: the join acks may still be on their way.
    const joinDeadline = sleep(timeoutMs).then(() => 'timeout');
    const joined = Promise.all(this.clients.filter((c) => c.ready).map((c) => c.whenJoined()));
    const outcome = await Promise.race([joined, joinDeadline]);
    return {
      sockets: this.clients.length,
      seconds: connectSecs,
      seconds_until_joined: (now() - t0) / 1000,
      connects_per_s: this.clients.length / connectSecs,
      failed: failures.length,
      failures: failures.slice(0, 10),
      not_joined: outcome === 'timeout' ? this.clients.filter((c) => !c.joined).length : 0,
    };
  }

  openSockets() {
    return this.clients.filter((c) => c.open).length;
  }

  common() {
    return { losses: this.losses(), closed_by_server: this.closes.length,
             closes: this.closes.slice(0, 10), error_frames: this.errors,
             loadgen_rss_kb: Math.round(process.memoryUsage().rss / 1024) };
  }

  async closeAll() {
    for (const c of this.clients) c.close();
    const deadline = now() + 5000;
    while (this.clients.some((c) => c.ws && c.ws.readyState !== WebSocket.CLOSED) && now() < deadline) {
      await sleep(50);
    }
    for (const c of this.clients) if (c.ws) c.ws.terminate();
  }
}

/** Sends fn(i) for i = 0.. at `rate` per second for `seconds`, catching up if a timer is late. */
async function openLoop(rate, seconds, fn) {
  const total = Math.round(rate * seconds);
  const t0 = now();
  let i = 0;
  while (i < total) {
    const due = Math.min(total, Math.floor(((now() - t0) * rate) / 1000) + 1);
    while (i < due) fn(i++);
    await sleep(Math.max(0, t0 + (i * 1000) / rate - now()));
  }
}

// --- scenarios ----------------------------------------------------------------------------

// A: closed loop; each sender keeps exactly one message in flight until its own copy returns.
async function scenarioA(run) {
  const p = run.params;
  const connect = await run.connectAll();
  const senders = run.config.senders.map((i) => run.clients[i]);
  run.loop = 'echo';
  run.sending = true;
  for (const s of senders) run.send(s);
  await sleep(p.warmup_s * 1000);
  const before = run.snapshot();
  run.windowOpen = true;
  await sleep(p.measure_s * 1000);
  run.windowOpen = false;
  const after = run.snapshot();
  run.sending = false;
  await run.drain(p.drain_s * 1000);
  const use = usage(before, after);
  return {
    connect, usage: use, deliveries: run.windowDeliveries,
    deliveries_per_s: run.windowDeliveries / use.seconds,
    server_cpu_us_per_delivery: (use.server_cpu_s * 1e6) / run.windowDeliveries,
    latency: percentiles(run.latencies), ...run.common(),
  };
}

// B: open loop at `rate` messages/s in total, round-robin over the rooms (one sender each).
async function scenarioB(run) {
  const p = run.params;
  const connect = await run.connectAll();
  const senders = run.config.senders.map((i) => run.clients[i]);
  const post = (i) => run.send(senders[i % senders.length]);
  await openLoop(p.rate, p.warmup_s, post);
  const before = run.snapshot();
  run.windowOpen = true;
  await openLoop(p.rate, p.measure_s, post);
  run.windowOpen = false;
  const after = run.snapshot();
  await run.drain(p.drain_s * 1000);
  const use = usage(before, after);
  return { connect, usage: use, messages_per_s: p.rate, latency: percentiles(run.latencies),
           ...run.common() };
}

// C and C10k: open every socket (`connect_concurrency` in flight), idle, read RSS growth.
async function connectPhase(run) {
  const p = run.params;
  const before = run.snapshot();
  const connect = await run.connectAll();
  const connected = run.snapshot();
  await sleep(p.idle_s * 1000);
  const idle = run.snapshot();
  // Holding thousands of clients makes a big heap: collect it now (run.py passes
  // --expose-gc) so that no pause of the load generator lands among C10k's latency samples.
  if (global.gc) global.gc();
  const n = run.clients.length;
  const connectUse = usage(before, connected);
  const idleUse = usage(before, idle);
  return {
    connect,
    usage: connectUse,
    usage_incl_idle: idleUse,
    server_cpu_ms_per_connect: (connectUse.server_cpu_s * 1000) / n,
    server_cpu_ms_per_connect_incl_idle: (idleUse.server_cpu_s * 1000) / n,
    rss_kb_before: idleUse.server_rss_kb_start,
    rss_kb_idle: idleUse.server_rss_kb_end,
    rss_kb_per_socket: (idleUse.server_rss_kb_end - idleUse.server_rss_kb_start) / n,
    open_after_idle: run.openSockets(),
  };
}

async function scenarioC(run) {
  const phase = await connectPhase(run);
  return { ...phase, ...run.common() };
}

// C10k: after the connect phase, `messages` posts at `rate`/s into the small room.
async function scenarioC10k(run) {
  const p = run.params;
  const phase = await connectPhase(run);
  const sender = run.clients[run.config.senders[0]];
  run.windowOpen = true;
  await openLoop(p.rate, p.messages / p.rate, () => run.send(sender));
  run.windowOpen = false;
  await run.drain(p.drain_s * 1000);
  const open = run.openSockets();
  return { ...phase, room_size: run.roomSize.get(sender.room), latency: percentiles(run.latencies),
           open_at_end: open, held: open === run.clients.length && phase.connect.failed === 0,
           ...run.common() };
}

// posts: every sender keeps one message in flight until its `ack` comes back.
async function scenarioPosts(run) {
  const p = run.params;
  const connect = await run.connectAll();
  const senders = run.config.senders.map((i) => run.clients[i]);
  run.loop = 'ack';
  run.sending = true;
  for (const s of senders) run.send(s);
  await sleep(p.warmup_s * 1000);
  const before = run.snapshot();
  run.windowOpen = true;
  await sleep(p.measure_s * 1000);
  run.windowOpen = false;
  const after = run.snapshot();
  run.sending = false;
  await run.drain(p.drain_s * 1000);
  const use = usage(before, after);
  return { connect, usage: use, acks: run.windowAcks, messages_per_s: run.windowAcks / use.seconds,
           ack_latency: percentiles(run.ackLatencies), delivery_latency: percentiles(run.latencies),
           acked: run.acked, ...run.common() };
}

const SCENARIOS = { A: scenarioA, B: scenarioB, C: scenarioC, C10k: scenarioC10k,
                    posts: scenarioPosts };

async function main() {
  const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const scenario = SCENARIOS[config.scenario];
  if (!scenario) throw new Error(`unknown scenario ${config.scenario}`);
  const run = new Run(config);
  log(`${config.scenario} ${config.protocol}: ${run.clients.length} sockets`);
  const result = await scenario(run);
  process.stdout.write(`${JSON.stringify({ scenario: config.scenario, protocol: config.protocol,
                                           params: config.params, ...result })}\n`);
  await run.closeAll();
}

main().then(() => process.exit(0), (err) => {
  log(err.stack || String(err));
  process.exit(1);
});
