// Membership: the open room's member list, joining, leaving and inviting, and the
// `member_joined`, `member_left` and `member_role_changed` frames.

import { api } from './api.js';
import { errorText, showError } from './errors.js';
import { t } from './i18n.js';
import { toast } from './notify.js';
import { forgetMember, rememberMember, rememberMembers } from './people.js';
import { lookUpPresence, renderOnline } from './presence.js';
import { renderRoomChrome } from './room-header.js';
import { renderRooms } from './room-list.js';
import { joinRoom, refreshRooms } from './room-sync.js';
import { closeRoomView } from './room-view.js';
import { $, current, socket, state } from './state.js';
import { scheduleRead } from './unread.js';

export async function loadMembers(room) {
  try {
    const members = await api(`/api/chat/rooms/${room.id}/members`);
    room.members = new Set(members.map((m) => m.user_id));
    room.membersLoaded = true;
    rememberMembers(room.id, members);
    const mine = members.find((m) => m.user_id === state.me.id);
    if (mine) room.role = mine.role;
    if (room.id === state.currentId) {
      renderOnline();
      renderRoomChrome();
    }
  } catch { /* the list of who is online waits for the next room_presence */ }
}

export function onMemberJoined(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) {
    // An invitation to a room this page did not know: the server tells the invitee directly.
    if (data.user_id === state.me?.id) refreshRooms().catch(() => {});
    return;
  }
  room.members.add(data.user_id);
  rememberMember(data);
  if (data.user_id !== state.me.id && !state.presence.has(data.user_id)) {
    lookUpPresence(data.user_id, data.username);
  } else if (room.id === state.currentId) {
    renderOnline();
  }
  if (data.user_id === state.me.id) {
    room.member = true;
    room.role = data.role;
    room.unreadBase = { count: 0, mentions: 0, last_seq: room.last_seq, read_seq: data.read_seq };
    if (room.joinState === 'none') joinRoom(room); // invited to a public room we only saw
    renderRooms();
    renderRoomChrome();
    scheduleRead();
  }
}

export function onMemberLeft(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  room.members.delete(data.user_id);
  forgetMember(data);
  if (data.user_id !== state.me.id) {
    if (room.id === state.currentId) renderOnline();
    return;
  }
  room.member = false;
  room.role = null;
  room.joinState = 'none'; // our sockets stop hearing the room
  if (data.reason === 'kicked') toast('error', null, t('rooms.kicked', { room: room.name }));
  if (room.is_private) {
    state.rooms.delete(room.id);
    if (state.currentId === room.id) closeRoomView();
  } else if (state.currentId === room.id) {
    joinRoom(room); // keep reading it as a visitor
  }
  renderRooms();
  renderRoomChrome();
}

export function onRoleChanged(data) {
  const room = state.rooms.get(data.room_id);
  if (room) rememberMember(data);
  if (!room || data.user_id !== state.me.id) return;
  room.role = data.role;
  renderRoomChrome();
}

export async function joinCurrent() {
  const room = current();
  if (!room) return;
  try {
    await api(`/api/chat/rooms/${room.id}/join`, { method: 'POST' });
    room.member = true;
    room.role = room.role || 'member';
    room.unreadBase = { count: 0, mentions: 0, last_seq: room.last_seq, read_seq: 0 };
    room.members.add(state.me.id);
    state.presence.set(state.me.id, { username: state.me.username, status: state.myStatus });
    renderOnline();
    renderRooms();
    renderRoomChrome();
    scheduleRead();
    $('composer').focus();
  } catch (error) {
    showError(error);
  }
}

export async function leaveCurrent() {
  const room = current();
  if (!room) return;
  try {
    await api(`/api/chat/rooms/${room.id}/leave`, { method: 'POST' });
  } catch (error) {
    showError(error);
    return;
  }
  socket.send({ type: 'leave', room_id: room.id });
  room.member = false;
  room.role = null;
  room.joinState = 'none';
  if (room.is_private) state.rooms.delete(room.id);
  closeRoomView();
  renderRooms();
}

export async function invite(event) {
  event.preventDefault();
  const room = current();
  const input = $('invite-username');
  const username = input.value.trim();
  const result = $('invite-result');
  if (!room || !username) return;
  $('invite-submit').disabled = true;
  try {
    const member = await api(`/api/chat/rooms/${room.id}/members`, {
      method: 'POST', body: { username },
    });
    room.members.add(member.user_id);
    input.value = '';
    result.textContent = t('rooms.invited', { name: member.username });
    result.className = 'small invite-result ok';
  } catch (error) {
    if (error.status === 401) return;
    result.textContent = errorText(error.code, error.detail);
    result.className = 'small invite-result bad';
  } finally {
    $('invite-submit').disabled = false;
    result.hidden = false;
    setTimeout(() => { result.hidden = true; }, 6000);
  }
}
