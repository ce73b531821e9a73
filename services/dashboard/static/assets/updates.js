// The stream's events into the state. Every event's data is {"type", "data"}: a snapshot
// (initial_data) replaces what the page shows; deltas carry absolute numbers for what changed.

import { log } from './activity.js';
import { noteBroadcast } from './broadcasts.js';
import { $, flash, formatTime } from './dom.js';
import { t } from './i18n.js';
import {
  renderAll, renderConnections, renderMessages, renderPresence, renderServices, renderStorage,
  setNotifications, setUsers,
} from './panels.js';
import { sample, view } from './state.js';
import { link } from './stream.js';

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
  view.storage = s.storage || null;
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
    case 'storage_stats':
      view.storage = d;
      renderStorage();
      flash('k-storage');
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

export function dispatch(raw) {
  let message;
  try { message = JSON.parse(raw); } catch (e) { return; }
  $('last-id').textContent = link.lastEventId || '–';
  if (message.type === 'initial_data') applySnapshot(message.data);
  else applyDelta(message.type, message.data);
}
