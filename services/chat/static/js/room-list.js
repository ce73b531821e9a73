// The room list in the sidebar (the user's rooms, then the other public ones), creating a
// room, and a room's new name or privacy (`room_updated`).

import { api } from './api.js';
import { isDm, renderDms } from './dms.js';
import { clear, el, icon } from './dom.js';
import { errorText } from './errors.js';
import { t } from './i18n.js';
import { renderRoomChrome } from './room-header.js';
import { selectRoom } from './room-view.js';
import { newRoom } from './rooms.js';
import { $, state } from './state.js';
import { renderBadge } from './unread.js';

export function renderRooms() {
  const list = $('room-list');
  clear(list);
  renderDms(); // the "Direct messages" section is its own list
  const rooms = [...state.rooms.values()].filter((r) => !isDm(r))
    .sort((a, b) => a.name.localeCompare(b.name));
  const mine = rooms.filter((r) => r.member);
  const others = rooms.filter((r) => !r.member);
  const group = (key, items) => {
    if (!items.length) return;
    list.append(el('h3', { class: 'room-group', text: t(key) }));
    for (const room of items) list.append(roomItem(room));
  };
  group('rooms.mine', mine);
  group('rooms.public', others);
  if (!rooms.length) list.append(el('p', { class: 'muted small pad', text: t('rooms.none') }));
  for (const room of rooms) renderBadge(room);
}

function roomItem(room) {
  const item = el('a', {
    class: `room-item${room.id === state.currentId ? ' active' : ''}`,
    href: `#/rooms/${room.id}`,
    dataset: { testid: 'room-item', roomId: String(room.id), roomName: room.name },
    'aria-current': room.id === state.currentId ? 'page' : undefined,
  },
  el('span', { class: 'room-icon', 'aria-hidden': 'true' }, room.is_private ? icon('lock') : '#'),
  el('span', { class: 'room-name', text: room.name }),
  el('span', { class: 'unread-badge', dataset: { testid: 'unread-badge' }, hidden: true }));
  item.addEventListener('click', (event) => {
    event.preventDefault();
    selectRoom(room.id);
  });
  return item;
}

export async function createRoom(event) {
  event.preventDefault();
  const name = $('new-room-name').value.trim();
  const errorBox = $('new-room-error');
  errorBox.hidden = true;
  if (!name) {
    $('new-room-name').focus();
    return;
  }
  $('new-room-submit').disabled = true;
  try {
    const data = await api('/api/chat/rooms', {
      method: 'POST', body: { name, is_private: $('new-room-private').checked },
    });
    const room = state.rooms.get(data.id) || newRoom(data);
    room.member = true;
    room.role = 'admin';
    room.historyLoaded = true;
    room.contig = data.last_seq || 0;
    room.unreadBase = { count: 0, mentions: 0, last_seq: room.contig, read_seq: room.contig };
    state.rooms.set(room.id, room);
    $('new-room-form').reset();
    $('new-room-form').hidden = true;
    renderRooms();
    selectRoom(room.id);
  } catch (error) {
    if (error.status === 401) return;
    errorBox.textContent = errorText(error.code, error.detail);
    errorBox.hidden = false;
  } finally {
    $('new-room-submit').disabled = false;
  }
}

export function onRoomUpdated(data) {
  const room = state.rooms.get(data.id);
  if (!room) return;
  room.name = data.name;
  room.is_private = Boolean(data.is_private);
  room.slow_mode_secs = data.slow_mode_secs || 0;
  renderRooms();
  renderRoomChrome();
}
