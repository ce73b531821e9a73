// Rooms kept in step with the server: the room list and unread counts over HTTP, every
// member room joined on the socket (`since_seq` = `contig`), replays held until `joined`,
// and live messages stored as they come.

import { api } from './api.js';
import { applyDm } from './dms.js';
import { loadLatest, refreshHeld, watchGap } from './history.js';
import { t } from './i18n.js';
import { toast } from './notify.js';
import { renderRoomChrome } from './room-header.js';
import { renderRooms } from './room-list.js';
import { closeRoomView, showRoom } from './room-view.js';
import { advanceContig, minSeq, newRoom, storeMessage } from './rooms.js';
import { resendPending } from './sending.js';
import { socket, state, view } from './state.js';
import { renderTyping } from './typing.js';
import { noteThreadMessage } from './threads.js';
import { renderBadge, scheduleRead } from './unread.js';
import { sendView } from './view-report.js';

export async function refreshRooms() {
  const [rooms, unread] = await Promise.all([
    api('/api/chat/rooms'),
    api('/api/chat/unread'),
  ]);
  const seen = new Set();
  for (const data of rooms) {
    seen.add(data.id);
    let room = state.rooms.get(data.id);
    if (!room) {
      room = newRoom(data);
      state.rooms.set(data.id, room);
    }
    room.name = data.name;
    room.is_private = Boolean(data.is_private);
    room.slow_mode_secs = data.slow_mode_secs || 0;
    applyDm(room, data);
    room.last_seq = Math.max(room.last_seq, data.last_seq || 0);
  }
  const memberOf = new Map(unread.map((u) => [u.room_id, u]));
  for (const [id, room] of state.rooms) {
    if (!seen.has(id)) {
      // No longer visible (private, and we were removed).
      if (state.currentId === id) closeRoomView();
      state.rooms.delete(id);
      continue;
    }
    const u = memberOf.get(id);
    room.member = Boolean(u);
    if (u) room.unreadBase = u;
    else if (room.role) room.role = null;
  }
  renderRooms();
  // Member rooms are always joined on the socket, so badges and notifications stay live.
  for (const room of state.rooms.values()) {
    if (room.member && room.joinState === 'none') joinRoom(room);
  }
  renderRoomChrome();
}

export function joinRoom(room) {
  if (!socket.isOpen) return;
  const frame = { type: 'join', room_id: room.id };
  if (room.contig === null && room.member && room.id !== state.currentId) {
    // Not looking at it: start from where the unread counts are, history comes on opening.
    room.contig = room.unreadBase.last_seq || 0;
  }
  if (room.contig !== null) frame.since_seq = room.contig;
  room.sinceSent = room.contig;
  room.joinState = 'joining';
  room.replay = [];
  state.joinQueue.push(room.id);
  socket.send(frame);
}

export function onJoined(data) {
  const room = state.rooms.get(data.room_id);
  const at = state.joinQueue.indexOf(data.room_id);
  if (at >= 0) state.joinQueue.splice(at, 1);
  if (!room) return;
  if (data.room && data.room.kind !== 'dm') {
    room.name = data.room.name;
    room.is_private = Boolean(data.room.is_private);
  }
  room.role = data.role;
  room.member = data.role !== null;
  room.last_seq = Math.max(room.last_seq, data.last_seq);
  const replay = room.replay || [];
  room.replay = null;
  room.joinState = 'joined';
  const caughtUp = data.recovered && room.sinceSent !== null && room.messages.size > 0;
  if (!data.recovered && room.sinceSent !== null && room.messages.size > 0) {
    // Too much was missed to replay: start again from the latest messages, page the rest.
    room.messages.clear();
    room.seqs.clear();
  }
  for (const msg of replay) {
    storeMessage(room, msg, state.pending, state.me?.id);
    noteThreadMessage(room, msg);
  }
  room.contig = Math.max(room.contig ?? 0, data.last_seq);
  advanceContig(room);
  if (!data.recovered) {
    room.historyLoaded = true;
    room.hasMore = minSeq(room) > 1 && room.seqs.size > 0;
  }
  if (room.last_seq === 0) {
    room.historyLoaded = true;
    room.hasMore = false;
  }
  renderBadge(room);
  if (room.id === state.currentId) sendView();
  if (room.id === state.currentId) {
    showRoom(room, { keepScroll: true });
    if (!room.historyLoaded) loadLatest(room);
    scheduleRead();
  }
  resendPending(room.id);
  if (caughtUp) refreshHeld(room);
}

export function onJoinError(code) {
  const id = state.joinQueue.shift();
  const room = state.rooms.get(id);
  if (!room) return;
  room.joinState = 'none';
  room.replay = null;
  if (code === 'room_not_found') {
    state.rooms.delete(id);
    if (state.currentId === id) {
      closeRoomView();
      toast('error', null, t('rooms.gone'));
    }
    renderRooms();
  }
}

export function addLive(room, msg) {
  const fresh = storeMessage(room, msg, state.pending, state.me?.id);
  advanceContig(room);
  if (room.contig !== null && msg.seq > room.contig + 1) watchGap(room);
  const typist = room.typing.get(msg.user_id);
  if (typist) {
    clearTimeout(typist.timer);
    room.typing.delete(msg.user_id);
  }
  if (room.id === state.currentId) {
    view.upsert(room.messages.get(msg.id));
    renderTyping();
    scheduleRead();
  }
  noteThreadMessage(room, room.messages.get(msg.id));
  if (fresh) renderBadge(room);
}
