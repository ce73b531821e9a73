// The page's panels drawn from the state: sockets and replicas, messages and top rooms,
// presence, service health, users and notifications.

import { renderBroadcasts } from './broadcasts.js';
import { color, drawBars, drawPresence, drawSockets } from './charts.js';
import { $, ago, bytes, emptyRow, flash, fmt, formatTime, make, text } from './dom.js';
import { has, plural, t } from './i18n.js';
import { countAt, forgetOldMinutes, lastMinutes, STATUSES, view } from './state.js';

export function renderAll() {
  renderConnections();
  renderMessages();
  renderPresence();
  renderServices();
  renderBroadcasts();
  renderStorage();
  $('main').setAttribute('aria-busy', 'false');
}

export function renderConnections() {
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

export function renderMessages() {
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

export function renderPresence() {
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

export function renderServices() {
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

export function setUsers(u) {
  text($('k-new-users'), fmt(u.new_24h));
  text($('k-known-users'), t('kpi.known', { n: fmt(u.known) }));
}

/** Storage used by chat's files: the total, and how many files (attachments, avatars). */
export function renderStorage() {
  const s = view.storage;
  if (!s) return;
  text($('k-storage'), bytes(s.bytes));
  const kinds = s.by_kind || {};
  const avatars = (kinds.avatar && kinds.avatar.files) || 0;
  text($('k-storage-sub'), t('kpi.storageFiles', { n: fmt(s.files), avatars: fmt(avatars) }));
  $('k-storage').title = `${fmt(s.bytes)} B`;
}

export function setNotifications(n) {
  text($('k-notifications'), fmt(n.sent_24h));
  const reasons = Object.entries(n.by_reason)
    .map(([k, v]) => `${fmt(v)} ${has(`reason.${k}`) ? t(`reason.${k}`) : k}`).join(', ');
  const suppressed = n.suppressed_24h === null
    ? t('kpi.suppressedUnknown') : t('kpi.suppressed', { n: fmt(n.suppressed_24h) });
  text($('k-suppressed'), reasons ? `${reasons}; ${suppressed}` : suppressed);
}
