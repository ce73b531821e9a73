// What the page shows: the numbers by minute, rooms, presence, instances and broadcasts
// the stream has told, the server's clock, and the sampled series the line charts draw.

export const STATUSES = ['online', 'away', 'busy', 'offline'];
export const SERIES_WINDOW_MS = 30 * 60 * 1000;
export const SAMPLE_EVERY_MS = 5000;

export const view = {
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
  storage: null, // {bytes, files, by_kind: {attachment: {bytes, files}, avatar: {...}}}
};

export function serverNow() { return Date.now() + view.clockOffsetMs; }

export function minuteIso(ms) {
  const d = new Date(ms);
  d.setUTCSeconds(0, 0);
  return d.toISOString();
}

export function sameMinute(a, b) { return Date.parse(a) === Date.parse(b); }

export function lastMinutes(count) {
  const end = view.minute ? Date.parse(view.minute) : Date.parse(minuteIso(serverNow()));
  const minutes = [];
  for (let i = count - 1; i >= 0; i -= 1) minutes.push(end - i * 60000);
  return minutes;
}

export function countAt(map, ms) {
  for (const [iso, n] of map) if (Date.parse(iso) === ms) return n;
  return 0;
}

export function forgetOldMinutes(oldest) {
  const maps = [view.totals, ...view.roomMinutes.values()];
  for (const map of maps) {
    for (const iso of [...map.keys()]) if (Date.parse(iso) < oldest) map.delete(iso);
  }
  for (const [room, map] of [...view.roomMinutes]) if (!map.size) view.roomMinutes.delete(room);
}

export function sample() {
  const now = serverNow();
  const cutoff = now - SERIES_WINDOW_MS - SAMPLE_EVERY_MS;
  if (view.connections) view.socketSeries.push([now, view.connections.total]);
  view.presenceSeries.push([now, { ...view.presence }]);
  view.socketSeries = view.socketSeries.filter((p) => p[0] >= cutoff);
  view.presenceSeries = view.presenceSeries.filter((p) => p[0] >= cutoff);
}
