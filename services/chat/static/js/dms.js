// Direct messages: the sidebar's "Direct messages" list (each named by its other people,
// with the other person's presence on a 1:1), starting one by username
// (`POST /api/chat/dms`), and the open DM's header. A DM is a room of kind "dm" in
// `state.rooms`; its `name` on the page is its people's names, never the server's.

import { api } from './api.js';
import { clear, el, hueOf, initials } from './dom.js';
import { errorText } from './errors.js';
import { t } from './i18n.js';
import { selectRoom } from './room-view.js';
import { newRoom } from './rooms.js';
import { $, current, state } from './state.js';
import { renderBadge } from './unread.js';

export const isDm = (room) => room?.kind === 'dm';

/** The page's name of a room from the server's JSON: a DM's is its other people's. */
export function nameOf(data, room) {
  if (data.kind !== 'dm') return data.name;
  const people = data.members || room?.people || [];
  const others = people.filter((p) => p.user_id !== state.me?.id);
  if (!others.length) return t('dms.nobody');
  return others.map((p) => p.display_name || p.username)
    .sort((a, b) => a.localeCompare(b)).join(', ');
}

/** Keep a room's DM fields from the server's JSON (`GET /api/chat/rooms`, `POST .../dms`). */
export function applyDm(room, data) {
  room.kind = data.kind || 'room';
  if (data.members) room.people = data.members;
  room.name = nameOf(data, room);
}

/** A member changed their profile (`user_updated`): the DMs they are in are renamed. */
export function renameInDms(data) {
  let renamed = false;
  for (const room of state.rooms.values()) {
    const person = isDm(room) && (room.people || []).find((p) => p.user_id === data.user_id);
    if (!person) continue;
    person.display_name = data.display_name || data.username;
    room.name = nameOf({ kind: 'dm', members: room.people }, room);
    renamed = true;
  }
  if (!renamed) return;
  renderDms();
  const room = current();
  if (isDm(room)) renderDmChrome(room);
}

/** The other person of a 1:1 DM (the one whose presence it shows), else null. */
function partner(room) {
  const others = (room.people || []).filter((p) => p.user_id !== state.me?.id);
  return others.length === 1 ? others[0] : null;
}

function statusOf(userId) {
  return state.presence.get(userId)?.status || 'offline';
}

export function renderDms() {
  const list = $('dm-list');
  if (!list) return;
  clear(list);
  const dms = [...state.rooms.values()].filter(isDm)
    .sort((a, b) => a.name.localeCompare(b.name));
  for (const room of dms) list.append(dmItem(room));
  if (!dms.length) list.append(el('p', { class: 'muted small pad', text: t('dms.none') }));
  for (const room of dms) renderBadge(room);
}

function dmItem(room) {
  const other = partner(room);
  const status = other ? statusOf(other.user_id) : null;
  const avatar = el('span', { class: 'avatar tiny', 'aria-hidden': 'true', text: initials(room.name) });
  avatar.style.setProperty('--hue', hueOf(other ? other.username : room.name));
  const item = el('a', {
    class: `room-item dm-item${room.id === state.currentId ? ' active' : ''}`,
    href: `#/rooms/${room.id}`,
    dataset: { testid: 'dm-item', roomId: String(room.id), roomName: room.name,
      status: status || undefined },
    'aria-current': room.id === state.currentId ? 'page' : undefined,
    title: status ? `${room.name} · ${t(`status.${status}`)}` : room.name,
  },
  el('span', { class: 'avatar-wrap dm-avatar' }, avatar,
    status ? el('span', { class: `dot dot-${status}`, dataset: { testid: 'dm-presence' } }) : null),
  el('span', { class: 'room-name', text: room.name }),
  el('span', { class: 'unread-badge', dataset: { testid: 'unread-badge' }, hidden: true }));
  item.addEventListener('click', (event) => {
    event.preventDefault();
    selectRoom(room.id);
  });
  return item;
}

/** Presence changed: the DM list's dots and the open DM's header follow. */
export function paintDmPresence() {
  if (![...state.rooms.values()].some(isDm)) return;
  renderDms();
  const room = current();
  if (isDm(room)) renderDmChrome(room);
}

/** The open DM's header: its people's names, "Direct message" and, on a 1:1, the other
 *  person's status; no invite form and no leave button (a DM's people are fixed). */
export function renderDmChrome(room) {
  $('room-title').textContent = room.name;
  $('room-title').classList.remove('private');
  $('invite-form').hidden = true;
  $('leave-room').hidden = true;
  const other = partner(room);
  const parts = [t('dms.tag')];
  if (other) parts.push(t(`status.${statusOf(other.user_id)}`));
  $('room-meta').textContent = parts.join(' · ');
  $('room-meta').dataset.status = other ? statusOf(other.user_id) : '';
}

// --- starting one --------------------------------------------------------------------------

function typedNames() {
  return $('new-dm-users').value.split(/[\s,]+/).map((s) => s.replace(/^@/, ''))
    .filter(Boolean);
}

let suggestTimer = null;

async function suggest() {
  const last = typedNames().pop() || '';
  try {
    const found = await api(`/api/chat/users?q=${encodeURIComponent(last)}&limit=8`);
    const box = $('new-dm-people');
    clear(box);
    const before = typedNames().slice(0, -1).join(', ');
    for (const u of found) {
      if (u.id === state.me?.id) continue;
      box.append(el('option', { value: before ? `${before}, ${u.username}` : u.username,
        label: u.display_name || u.username }));
    }
  } catch { /* suggestions are a help, not a need */ }
}

async function userIdOf(username) {
  const found = await api(`/api/chat/users?q=${encodeURIComponent(username)}&limit=20`);
  const match = found.find((u) => u.username.toLowerCase() === username.toLowerCase());
  return match ? match.id : null;
}

async function openDm(event) {
  event.preventDefault();
  const errorBox = $('new-dm-error');
  errorBox.hidden = true;
  const names = typedNames();
  if (!names.length) {
    $('new-dm-users').focus();
    return;
  }
  $('new-dm-submit').disabled = true;
  try {
    const ids = [];
    for (const name of names) {
      const id = await userIdOf(name);
      if (id === null) {
        errorBox.textContent = t('dms.unknown', { name });
        errorBox.hidden = false;
        return;
      }
      if (id !== state.me?.id) ids.push(id);
    }
    if (!ids.length) { // the server would refuse it too (`dm_with_self`)
      errorBox.textContent = errorText('dm_with_self');
      errorBox.hidden = false;
      return;
    }
    const data = await api('/api/chat/dms', { method: 'POST', body: { user_ids: ids } });
    let room = state.rooms.get(data.id);
    if (!room) {
      room = newRoom(data);
      room.member = true;
      room.role = 'member';
      room.contig = data.last_seq || 0;
      room.historyLoaded = data.last_seq === 0;
      room.unreadBase = { count: 0, mentions: 0, last_seq: room.contig, read_seq: room.contig };
      state.rooms.set(room.id, room);
    }
    applyDm(room, data);
    room.members = new Set(data.members.map((m) => m.user_id));
    $('new-dm-form').reset();
    $('new-dm-form').hidden = true;
    renderDms();
    selectRoom(room.id);
  } catch (error) {
    if (error.status === 401) return;
    errorBox.textContent = errorText(error.code, error.detail);
    errorBox.hidden = false;
  } finally {
    $('new-dm-submit').disabled = false;
  }
}

/** Bind the "+" of "Direct messages" and its form (app.js calls this once). */
export function bindDms() {
  $('new-dm-button').addEventListener('click', () => {
    $('new-dm-form').hidden = false;
    $('new-dm-error').hidden = true;
    $('new-dm-users').focus();
  });
  $('new-dm-cancel').addEventListener('click', () => {
    $('new-dm-form').reset();
    $('new-dm-form').hidden = true;
  });
  $('new-dm-users').addEventListener('input', () => {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(suggest, 150);
  });
  $('new-dm-form').addEventListener('submit', openDm);
}
