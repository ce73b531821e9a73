// The socket's frames and closes: `hello` (auth, limits, rejoin everything), each frame
// type to its handler, `error` frames, close codes, and the connection pill.

import { preferBearer, storedToken } from './api.js';
import { applyUpdate } from './edits.js';
import { errorText, showError } from './errors.js';
import { t } from './i18n.js';
import { onMemberJoined, onMemberLeft, onRoleChanged } from './members.js';
import { onModerationUpdated, onReportCreated, onReportResolved, refusalText } from './moderation.js';
import { onBroadcast, onNotification } from './notifications.js';
import { onUserUpdated } from './people.js';
import { toast } from './notify.js';
import { onRoomPresence, onUserPresence } from './presence.js';
import { onPinned, onUnpinned } from './pins.js';
import { onReaction } from './reactions.js';
import { onRoomUpdated } from './room-list.js';
import { addLive, joinRoom, onJoined, onJoinError, refreshRooms } from './room-sync.js';
import { onAck, renderPending } from './sending.js';
import { endSession } from './session.js';
import { $, current, inbox, socket, state, view } from './state.js';
import { onThreadUpdated } from './threads.js';
import { onTyping, renderTyping } from './typing.js';
import { onUnread } from './unread.js';

const POLICY_RETRY_MS = 15000;

export function handleFrame(frame) {
  const data = frame.data || {};
  switch (frame.type) {
    case 'hello': return onHello(data);
    case 'joined': return onJoined(data);
    case 'message': {
      const room = state.rooms.get(data.room_id);
      if (!room) return undefined;
      if (room.joinState === 'joining') room.replay.push(data);
      else addLive(room, data);
      return undefined;
    }
    case 'ack': return onAck(data);
    case 'message_edited':
    case 'message_deleted': return applyUpdate(data);
    case 'thread_updated': return onThreadUpdated(data);
    case 'typing': return onTyping(data);
    case 'reaction': return onReaction(data);
    case 'message_pinned': return onPinned(data);
    case 'message_unpinned': return onUnpinned(data);
    case 'unread': return onUnread(data);
    case 'member_joined': return onMemberJoined(data);
    case 'member_left': return onMemberLeft(data);
    case 'member_role_changed': return onRoleChanged(data);
    case 'room_updated': return onRoomUpdated(data);
    case 'room_presence': return onRoomPresence(data);
    case 'user_presence': return onUserPresence(data);
    case 'user_updated': return onUserUpdated(data);
    case 'notification': return onNotification(data);
    case 'admin_broadcast': return onBroadcast(data);
    case 'report_created': return onReportCreated(data);
    case 'report_resolved': return onReportResolved(data);
    case 'moderation_updated': return onModerationUpdated(data);
    case 'error': return onErrorFrame(data);
    default: return undefined; // pong, left
  }
}

function onHello(data) {
  document.body.dataset.replicaId = data.replica_id || '';
  document.body.dataset.connectionId = data.connection_id || '';
  if (data.limits) Object.assign(state.limits, data.limits);
  $('composer').maxLength = state.limits.message_max_chars;
  if (!data.user) {
    // A guest socket: the cookie did not come. Use this tab's token once, else sign in again.
    const token = storedToken();
    if (token && !state.authSent) {
      state.authSent = true;
      preferBearer();
      socket.send({ type: 'auth', token });
      return;
    }
    endSession(t('auth.expired'));
    return;
  }
  if (state.me && data.user.id !== state.me.id) {
    endSession(t('auth.expired'));
    return;
  }
  socket.connected();
  state.policyWarned = false;
  state.joinQueue = [];
  state.viewSent = null; // a new socket shows nothing until told
  for (const room of state.rooms.values()) {
    room.joinState = 'none';
    room.replay = null;
  }
  if (state.myStatus !== 'online') socket.send({ type: 'set_status', status: state.myStatus });
  const room = current();
  if (room) joinRoom(room);
  refreshRooms().catch(showError);
  inbox.refreshCount();
}

export function handleClose(code) {
  state.joinQueue = [];
  for (const p of state.pending.values()) clearTimeout(p.timer);
  for (const room of state.rooms.values()) {
    room.joinState = 'none';
    room.replay = null;
    for (const typist of room.typing.values()) clearTimeout(typist.timer);
    room.typing.clear();
  }
  state.typingRoom = null;
  renderTyping();
  if (code === 4001) {
    endSession(t('auth.expired'));
    return false;
  }
  if (code === 1008 || code === 4004 || code === 4003) {
    // A policy close (Origin refused, or flooding): say so once, then retry slowly.
    if (!state.policyWarned) toast('error', null, t(code === 1008 ? 'error.closed1008' : 'error.closed4004'));
    state.policyWarned = true;
    return POLICY_RETRY_MS;
  }
  return true;
}

export function renderConnection(stateName) {
  const pill = $('connection-status');
  pill.dataset.state = stateName;
  pill.textContent = t(`conn.${stateName}`);
  pill.className = `pill ${{ connected: 'pill-live', connecting: 'pill-wait' }[stateName] || 'pill-off'}`;
  pill.title = stateName === 'disconnected' ? t('conn.retry') : '';
}

function onErrorFrame(data) {
  const { code, ref } = data;
  if (typeof ref === 'string' && state.pending.has(ref)) {
    const p = state.pending.get(ref);
    clearTimeout(p.timer);
    p.state = 'failed';
    renderPending(p);
    toast('error', null, refusalText(data, p.room_id) || errorText(code, data.message));
    return;
  }
  if (ref === 'join') {
    onJoinError(code);
    return;
  }
  if (ref === 'typing' || ref === 'read' || ref === 'ping') return; // nothing the user did
  if (typeof ref === 'number') {
    // An edit or delete refused: show the message as it really is.
    for (const room of state.rooms.values()) {
      if (room.messages.has(ref) && room.id === state.currentId) view.upsert(room.messages.get(ref));
    }
  }
  toast('error', null, errorText(code, data.message));
}
