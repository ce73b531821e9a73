// People: what the page knows of each user (name shown, @username, status text, time zone)
// and of each room's members (role), from members lists, messages, `member_*` frames and
// `user_updated`; a change renames them wherever they are on screen.

import { renameInDms } from './dms.js';
import { paintAvatar } from './avatars.js';
import { $, current, pendingOf, state, view } from './state.js';
import { sortedMessages } from './rooms.js';

// user_id -> {username, display_name, status_text, time_zone}
export const people = new Map();
// room_id -> Map(user_id -> role)
export const roles = new Map();
const listeners = new Set();

/** Call `fn()` whenever someone's profile or a room's members change. */
export function onPeopleChange(fn) { listeners.add(fn); }

function changed() { for (const fn of listeners) fn(); }

/** Learn what a member, message or profile says of its user (fields it lacks are kept);
 *  true when it changes their picture (messages already drawn need it too). */
export function rememberUser(data) {
  const id = data.user_id ?? data.id;
  if (id === null || id === undefined || !data.username) return false;
  const known = people.get(id) || {};
  const picture = 'avatar_url' in data && (data.avatar_url || null) !== (known.avatar_url || null);
  people.set(id, {
    ...known,
    username: data.username,
    display_name: data.display_name || known.display_name || data.username,
    ...('status_text' in data ? { status_text: data.status_text } : {}),
    ...('time_zone' in data ? { time_zone: data.time_zone } : {}),
    ...('avatar_url' in data ? { avatar_url: data.avatar_url } : {}),
  });
  return picture;
}

/** The name to show for a user: their display name, else their username. */
export function nameOf(userId, fallback) {
  const known = people.get(userId);
  return (known && known.display_name) || fallback || '?';
}

export function rememberMembers(roomId, members) {
  const map = new Map();
  let pictures = false;
  for (const m of members) {
    pictures = rememberUser(m) || pictures;
    map.set(m.user_id, m.role);
  }
  roles.set(roomId, map);
  if (pictures) rerender(); // their messages get their avatars
  else changed();
}

export function rememberMember(data) {
  rememberUser(data);
  if (!roles.has(data.room_id)) roles.set(data.room_id, new Map());
  if (data.role) roles.get(data.room_id).set(data.user_id, data.role);
  changed();
}

export function forgetMember(data) {
  roles.get(data.room_id)?.delete(data.user_id);
  changed();
}

export function roleIn(roomId, userId) {
  return roles.get(roomId)?.get(userId) || null;
}

/** `user_updated`: someone changed their profile; rename them everywhere on screen. */
export function onUserUpdated(data) {
  const known = people.get(data.user_id) || {};
  people.set(data.user_id, { ...known, username: data.username,
    display_name: data.display_name || data.username, status_text: data.status_text,
    time_zone: data.time_zone,
    ...('avatar_url' in data ? { avatar_url: data.avatar_url } : {}) });
  if (state.me && data.user_id === state.me.id) {
    state.me.display_name = data.display_name === data.username ? null : data.display_name;
    state.me.status_text = data.status_text;
    state.me.time_zone = data.time_zone;
    if ('avatar_url' in data) state.me.avatar_url = data.avatar_url;
    renderMe();
  }
  renameInDms(data);
  rerender();
}

/** The sidebar's own name and avatar. */
export function renderMe() {
  const me = state.me;
  if (!me) return;
  rememberUser({ ...me, user_id: me.id });
  const shown = me.display_name || me.username;
  $('current-user').textContent = shown;
  paintAvatar($('me-avatar'), { name: shown, hueKey: me.username, url: me.avatar_url || null });
}

/** Draw the open room's messages again, keeping the reader's place. */
export function rerender() {
  const room = current();
  if (room && view) {
    view.show(room, sortedMessages(room), pendingOf(room.id), { keepScroll: true });
  }
  changed();
}
