// Who is online: one presence map for the page (`room_presence` snapshots, `user_presence`
// changes, a new member's status looked up) and the open room's bar of its members online.

import { api } from './api.js';
import { paintDmPresence } from './dms.js';
import { avatarFor } from './avatars.js';
import { clear, el } from './dom.js';
import { t } from './i18n.js';
import { renderMembersPanel } from './people-panel.js';
import { nameOf } from './people.js';
import { $, current, state } from './state.js';

/** A join's snapshot: the room's members who are not offline; the others it knows are. */
export function onRoomPresence(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  const here = new Set();
  for (const u of data.users) {
    room.members.add(u.user_id);
    here.add(u.user_id);
    state.presence.set(u.user_id, { username: u.username, status: u.status });
  }
  for (const id of room.members) {
    const known = state.presence.get(id);
    if (!here.has(id) && known) state.presence.set(id, { ...known, status: 'offline' });
  }
  if (room.id === state.currentId) renderOnline();
  paintDmPresence();
}

export function onUserPresence(data) {
  state.presence.set(data.user_id, { username: data.username, status: data.status });
  if (data.user_id === state.me?.id && data.reason === 'manual'
      && ['online', 'away', 'busy'].includes(data.status)) {
    $('status-menu').value = data.status;
  }
  renderOnline();
  paintDmPresence();
}

export function renderOnline() {
  const box = $('online-users');
  clear(box);
  const room = current();
  renderMembersPanel();
  if (!room) return;
  const users = [...room.members]
    .map((id) => [id, state.presence.get(id) && { ...state.presence.get(id),
      shown: nameOf(id, state.presence.get(id).username) }])
    .filter(([, u]) => u && u.status !== 'offline')
    .sort((a, b) => a[1].shown.localeCompare(b[1].shown));
  for (const [id, u] of users) {
    const avatar = avatarFor(id, u.shown, u.username, 'avatar small');
    box.append(el('span', {
      class: `online-user status-${u.status}`, title: `${u.shown} · ${t(`status.${u.status}`)}`,
      dataset: { testid: 'online-user', userId: String(id), username: u.username, status: u.status },
    }, el('span', { class: 'avatar-wrap' }, avatar, el('span', { class: `dot dot-${u.status}` })),
    el('span', { class: 'online-name', text: u.shown })));
  }
}

/** A new member's status: user_presence only announces changes, and theirs came earlier. */
export async function lookUpPresence(userId, username) {
  try {
    const user = await api(`/api/presence/users/${userId}`);
    if (state.presence.has(userId)) return; // a frame said it meanwhile
    state.presence.set(userId, { username, status: user.status });
    renderOnline();
    paintDmPresence();
  } catch { /* no presence service: the next room_presence or user_presence tells */ }
}
