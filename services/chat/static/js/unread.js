// Unread counts and read markers: a room's badge and the tab title, the `read` frame sent a
// moment after the newest message is on screen, and the server's `unread` counts.

import { t } from './i18n.js';
import { dismissToasts, roomToast } from './notify.js';
import { maxSeq, unreadOf } from './rooms.js';
import { current, inbox, socket, state, viewing } from './state.js';

const READ_DELAY_MS = 700;

/** The room's read marker as this page knows it: the server's, or the one it sent since. */
export function readMarkerOf(room) {
  return Math.max(room.unreadBase.read_seq || 0, room.readSent || 0);
}

export function renderBadge(room) {
  const item = document.querySelector(`.room-item[data-room-id="${room.id}"]`);
  if (!item) return;
  const badge = item.querySelector('.unread-badge');
  const { count, mentions } = room.member && !viewing(room) ? unreadOf(room, state.me) : { count: 0, mentions: 0 };
  badge.textContent = count > 0 ? (count > 99 ? '99+' : String(count)) : '';
  badge.hidden = count === 0;
  badge.classList.toggle('mention', mentions > 0);
  item.classList.toggle('unread', count > 0);
  item.title = count > 0 ? t('rooms.unreadLabel', { count }) : '';
  renderTitle();
}

function renderTitle() {
  let total = 0;
  for (const room of state.rooms.values()) {
    if (room.member && !viewing(room)) total += unreadOf(room, state.me).count;
  }
  document.title = total > 0 ? `(${total}) Tertulia` : 'Tertulia';
}

export function scheduleRead() {
  clearTimeout(state.readTimer);
  state.readTimer = setTimeout(() => {
    const room = current();
    if (!room || !room.member || room.joinState !== 'joined' || !viewing(room)) return;
    const top = maxSeq(room);
    if (top > Math.max(room.unreadBase.read_seq, room.readSent)
        && socket.send({ type: 'read', room_id: room.id, seq: top })) {
      room.readSent = top;
    }
    renderBadge(room);
  }, READ_DELAY_MS);
}

export function onUnread(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  const moved = data.read_seq > room.unreadBase.read_seq;
  room.unreadBase = data;
  renderBadge(room);
  if (moved) {
    // Read past: what the toasts of this room said is on screen now, or was.
    dismissToasts(roomToast(room.id));
    inbox.refreshSoon();
  }
}
