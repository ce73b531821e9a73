'use strict';
// The physical reference: about the least work a chat server can do per message.
// Node + the `ws` package, rooms in a Map; `/ws/chat/<room>` joins that room on connect.
// A `chat_message` is stringified once and `send` to every socket of the room, sender
// included; `ping` answers `pong` (the load generator's "connected" check). Nothing is
// stored and nobody is authenticated.
//
//   node bench/peers/node_ws_server.js --port 8000

const http = require('http');
const { WebSocketServer } = require('ws');

function parsePort(argv) {
  const at = argv.indexOf('--port');
  const port = at >= 0 ? Number(argv[at + 1]) : NaN;
  if (!Number.isInteger(port)) {
    console.error('usage: node node_ws_server.js --port N');
    process.exit(2);
  }
  return port;
}

/** @type {Map<string, Set<import('ws').WebSocket>>} */
const rooms = new Map();
let nextId = 1;

function join(room, ws) {
  let members = rooms.get(room);
  if (!members) {
    members = new Set();
    rooms.set(room, members);
  }
  members.add(ws);
}

function leave(room, ws) {
  const members = rooms.get(room);
  if (!members) return;
  members.delete(ws);
  if (members.size === 0) rooms.delete(room);
}

function onFrame(room, ws, raw) {
  let frame;
  try {
    frame = JSON.parse(raw);
  } catch {
    return;
  }
  if (frame.type === 'chat_message') {
    const text = JSON.stringify({
      type: 'message',
      data: { id: nextId++, room_id: room, content: frame.content,
              created_at: new Date().toISOString() },
    });
    for (const member of rooms.get(room) || []) member.send(text);
  } else if (frame.type === 'ping') {
    ws.send(JSON.stringify({ type: 'pong', timestamp: new Date().toISOString() }));
  }
}

function main() {
  const port = parsePort(process.argv);
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404).end();
  });
  // perMessageDeflate is off by default on the server side of `ws`.
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => {
    const match = /^\/ws\/chat\/([^/?]+)/.exec(req.url || '');
    if (!match) {
      ws.close(4004, 'no room');
      return;
    }
    const room = match[1];
    join(room, ws);
    ws.on('message', (raw) => onFrame(room, ws, raw.toString()));
    ws.on('close', () => leave(room, ws));
    ws.on('error', () => leave(room, ws));
  });
  server.listen(port, '127.0.0.1');
  process.on('SIGTERM', () => {
    for (const ws of wss.clients) ws.terminate();
    server.close(() => process.exit(0));
  });
}

main();
