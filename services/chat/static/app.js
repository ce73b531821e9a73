// Tertulia's chat page: sign-in, rooms, one WebSocket for all of them, recovery by seq.
// The frames and endpoints are those of docs/protocol.md.

import {
  ApiError, api, preferBearer, setUnauthorizedHandler, storeToken, storedToken,
} from './js/api.js';
import { clear, el, hueOf, icon, initials } from './js/dom.js';
import { applyI18n, detectLang, lang, onLangChange, setLang, t, typingText } from './js/i18n.js';
import { MessageView } from './js/messages.js';
import { Inbox, bindDesktopButton, desktop, dismissToasts, toast } from './js/notify.js';
import {
  advanceContig, maxSeq, minSeq, newRoom, sortedMessages, storeMessage, unreadOf,
} from './js/rooms.js';
import { ChatSocket } from './js/socket.js';

const TYPING_SEND_EVERY_MS = 2000;
const TYPING_IDLE_MS = 3000;
const TYPING_EXPIRE_MS = 5000;
const ACK_TIMEOUT_MS = 10000;
const GAP_WAIT_MS = 2000;
const ROOMS_REFRESH_MS = 20000;
const PAGE_SIZE = 50;
const POLICY_RETRY_MS = 15000;
const READ_DELAY_MS = 700;
const STATUS_KEY = 'tertulia.status';
// Not a secret: only "this browser signed in", so a fresh visit does not ask /api/auth/me
// (and log a 401) before showing the sign-in form. The session itself is the HttpOnly cookie.
const SIGNED_IN_KEY = 'tertulia.signedIn';

function remember(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch { /* storage may be unavailable */ }
}

function recall(key) {
  try { return localStorage.getItem(key); } catch { return null; }
}

const $ = (id) => document.getElementById(id);

const state = {
  me: null,
  rooms: new Map(),
  currentId: null,
  pending: new Map(), // client_msg_id -> {client_msg_id, room_id, content, state, created_at}
  // user_id -> {username, status}: one map for the page, whichever room a frame came through;
  // a room's bar is its members looked up here.
  presence: new Map(),
  limits: { message_max_chars: 4000, max_frame_bytes: 65536 },
  joinQueue: [], // room ids whose `join` awaits `joined` or an error, in the order sent
  authSent: false,
  policyWarned: false,
  myStatus: 'online',
  typingSentAt: 0,
  typingRoom: null,
  typingIdle: null,
  readTimer: null,
  roomsTimer: null,
  viewSent: null, // the last `view` frame this socket sent, as "room:visible"
};

const view = new MessageView($('messages'), {
  onEdit: editMessage,
  onDelete: deleteMessage,
  onRetry: (p) => { p.state = 'pending'; renderPending(p); transmit(p); },
  onDiscard: (p) => { state.pending.delete(p.client_msg_id); view.removePending(p.client_msg_id); },
  onNearTop: () => { const room = current(); if (room) loadOlder(room); },
});

const socket = new ChatSocket({
  onFrame: handleFrame,
  onState: renderConnection,
  onOpen: () => { state.authSent = false; },
  onClose: handleClose,
});

const inbox = new Inbox({ onOpenRoom: (id) => selectRoom(id), onError: showError });
let refreshDesktopButton = () => {};

// --- rooms ----------------------------------------------------------------------------------

function current() {
  return state.currentId === null ? null : state.rooms.get(state.currentId) || null;
}

function pendingOf(roomId) {
  return [...state.pending.values()].filter((p) => p.room_id === roomId);
}

async function refreshRooms() {
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

function joinRoom(room) {
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

function onJoined(data) {
  const room = state.rooms.get(data.room_id);
  const at = state.joinQueue.indexOf(data.room_id);
  if (at >= 0) state.joinQueue.splice(at, 1);
  if (!room) return;
  if (data.room) {
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
  for (const msg of replay) storeMessage(room, msg, state.pending, state.me?.id);
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

/** A replay carries the missed messages only: edits and deletions of messages this page
 *  already had come from the latest history page (older ones stay as they were seen). */
async function refreshHeld(room) {
  try {
    const page = await api(`/api/chat/rooms/${room.id}/messages?limit=${PAGE_SIZE}`);
    for (const msg of page.messages) {
      const held = room.messages.get(msg.id);
      if (held && (held.edited_at !== msg.edited_at || held.is_deleted !== msg.is_deleted)) {
        applyUpdate(msg);
      }
    }
  } catch { /* the live frames go on; the next reconnect tries again */ }
}

function onJoinError(code) {
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

function addLive(room, msg) {
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
  if (fresh) renderBadge(room);
}

/** Live frames can overtake each other; a hole that stays open is fetched over HTTP. */
function watchGap(room) {
  if (room.gapTimer) return;
  room.gapTimer = setTimeout(async () => {
    room.gapTimer = null;
    const top = maxSeq(room);
    if (room.contig === null || room.contig >= top || room.gapFetching) return;
    room.gapFetching = true;
    try {
      const page = await api(`/api/chat/rooms/${room.id}/messages?after_seq=${room.contig}&limit=200`);
      for (const msg of page.messages) addLive(room, msg);
    } catch (error) {
      if (error.status !== 401) watchGap(room);
    } finally {
      room.gapFetching = false;
    }
  }, GAP_WAIT_MS);
}

async function loadLatest(room) {
  if (room.loadingOlder) return;
  room.loadingOlder = true;
  if (room.id === state.currentId) view.refreshTop();
  try {
    const page = await api(`/api/chat/rooms/${room.id}/messages?limit=${PAGE_SIZE}`);
    for (const msg of page.messages) storeMessage(room, msg, state.pending, state.me?.id);
    advanceContig(room);
    room.historyLoaded = true;
    room.hasMore = page.has_more;
  } catch (error) {
    showError(error);
  } finally {
    room.loadingOlder = false;
  }
  if (room.id === state.currentId) {
    showRoom(room, { keepScroll: false });
    scheduleRead();
    fillScreen(room);
  }
}

async function loadOlder(room) {
  if (!room.hasMore || room.loadingOlder || !room.historyLoaded) return;
  const before = minSeq(room);
  if (!Number.isFinite(before)) return;
  room.loadingOlder = true;
  view.refreshTop();
  try {
    const page = await api(
      `/api/chat/rooms/${room.id}/messages?before_seq=${before}&limit=${PAGE_SIZE}`);
    const added = page.messages.filter(
      (msg) => storeMessage(room, msg, state.pending, state.me?.id));
    room.hasMore = page.has_more;
    room.loadingOlder = false;
    if (room.id === state.currentId) view.prepend(added);
  } catch (error) {
    room.loadingOlder = false;
    showError(error);
  }
  if (room.id === state.currentId) {
    view.refreshTop();
    fillScreen(room);
  }
}

/** Keep paging until the list can scroll (or the room's start is reached). */
function fillScreen(room) {
  const box = $('messages');
  if (room.hasMore && box.scrollHeight <= box.clientHeight + 40) {
    setTimeout(() => loadOlder(room), 0);
  }
}

// --- the open room ----------------------------------------------------------------------

function selectRoom(id) {
  const room = state.rooms.get(Number(id));
  if (!room) return;
  if (room.id === state.currentId) {
    setSidebar(false);
    return;
  }
  const previous = current();
  if (previous && previous.id !== room.id) {
    stopTyping();
    // A visitor's view of a public room is not kept live after leaving it.
    if (!previous.member && previous.joinState !== 'none') {
      socket.send({ type: 'leave', room_id: previous.id });
      previous.joinState = 'none';
    }
  }
  state.currentId = room.id;
  if (location.hash !== `#/rooms/${room.id}`) history.replaceState(null, '', `#/rooms/${room.id}`);
  remember(`tertulia.room.${state.me.username}`, String(room.id));
  setSidebar(false);
  showRoom(room, { keepScroll: false });
  if (room.joinState === 'none') joinRoom(room);
  else if (!room.historyLoaded && room.joinState === 'joined') loadLatest(room);
  if (!room.membersLoaded) loadMembers(room);
  renderRooms();
  scheduleRead();
  sendView();
  if (room.member) $('composer').focus({ preventScroll: true });
}

function showRoom(room, opts) {
  $('welcome').hidden = true;
  $('messages').hidden = false;
  view.show(room, sortedMessages(room), pendingOf(room.id), opts);
  renderRoomChrome();
  renderTyping();
  renderOnline();
  if (room.historyLoaded) fillScreen(room);
}

function closeRoomView() {
  state.currentId = null;
  sendView();
  view.hide();
  history.replaceState(null, '', location.pathname);
  renderRoomChrome();
  renderTyping();
  renderOnline();
}

function renderRoomChrome() {
  const room = current();
  const admin = state.me?.is_admin;
  $('room-title').textContent = room ? room.name : t('rooms.pick');
  $('welcome').hidden = Boolean(room);
  $('messages').hidden = !room;
  $('room-bar').hidden = !room;
  $('composer-form').hidden = !room || !room.member;
  $('join-bar').hidden = !room || room.member;
  $('leave-room').hidden = !room || !room.member;
  $('invite-form').hidden = !room || !room.member
    || !(room.role === 'admin' || room.role === 'moderator' || admin);
  if (!room) {
    $('room-meta').textContent = '';
    return;
  }
  const parts = [t(room.is_private ? 'rooms.privateTag' : 'rooms.publicTag')];
  if (room.role && room.role !== 'member') parts.push(t(`rooms.role.${room.role}`));
  $('room-meta').textContent = parts.join(' · ');
  $('room-title').classList.toggle('private', room.is_private);
}

async function loadMembers(room) {
  try {
    const members = await api(`/api/chat/rooms/${room.id}/members`);
    room.members = new Set(members.map((m) => m.user_id));
    room.membersLoaded = true;
    const mine = members.find((m) => m.user_id === state.me.id);
    if (mine) room.role = mine.role;
    if (room.id === state.currentId) {
      renderOnline();
      renderRoomChrome();
    }
  } catch { /* the list of who is online waits for the next room_presence */ }
}

// --- sending ------------------------------------------------------------------------------

function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function sendComposer() {
  const room = current();
  const box = $('composer');
  const content = box.value.trim();
  if (!room || !content) return;
  if (content.length > state.limits.message_max_chars) {
    toast('error', null, t('error.content_too_long', { max: state.limits.message_max_chars }));
    return;
  }
  const p = {
    client_msg_id: newClientMsgId(), room_id: room.id, content, state: 'pending',
    created_at: new Date().toISOString(), timer: null,
  };
  state.pending.set(p.client_msg_id, p);
  view.upsertPending(p);
  box.value = '';
  autosize();
  stopTyping();
  transmit(p);
}

// The server allows a user 10 frames a second (burst 30) and closes a socket that keeps
// flooding; sends are paced below that so a burst of Enter presses or a resend after a
// reconnect only waits.
const pacer = { tokens: 10, burst: 10, perSec: 5, at: Date.now(), queue: [], timer: null };

function transmit(p) {
  clearTimeout(p.timer);
  if (!pacer.queue.includes(p)) pacer.queue.push(p);
  drainSends();
}

function drainSends() {
  clearTimeout(pacer.timer);
  const now = Date.now();
  pacer.tokens = Math.min(pacer.burst, pacer.tokens + ((now - pacer.at) / 1000) * pacer.perSec);
  pacer.at = now;
  while (pacer.queue.length && pacer.tokens >= 1) {
    const p = pacer.queue.shift();
    const room = state.rooms.get(p.room_id);
    // Discarded, confirmed, or its room is not joined (it is sent again on `joined`).
    if (state.pending.get(p.client_msg_id) !== p || p.state !== 'pending') continue;
    if (!room || room.joinState !== 'joined') continue;
    if (!socket.send({ type: 'chat_message', room_id: p.room_id, content: p.content,
      client_msg_id: p.client_msg_id })) continue;
    pacer.tokens -= 1;
    p.timer = setTimeout(() => {
      // Connected but no answer (refused without a ref, e.g. rate limited): let the user retry.
      if (state.pending.get(p.client_msg_id) === p && socket.isOpen && p.state === 'pending') {
        p.state = 'failed';
        renderPending(p);
      }
    }, ACK_TIMEOUT_MS);
  }
  if (pacer.queue.length) pacer.timer = setTimeout(drainSends, 1000 / pacer.perSec);
}

function resendPending(roomId) {
  for (const p of state.pending.values()) {
    if (p.room_id === roomId && p.state === 'pending') transmit(p);
  }
}

function renderPending(p) {
  if (p.room_id === state.currentId) view.upsertPending(p);
}

function onAck(data) {
  const p = state.pending.get(data.client_msg_id);
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  if (p) clearTimeout(p.timer);
  const known = room.messages.get(data.id);
  const msg = known || {
    id: data.id, room_id: data.room_id, seq: data.seq, created_at: data.created_at,
    content: p ? p.content : '', user_id: state.me.id, username: state.me.username,
    message_type: 'text', edited_at: null, is_deleted: false, client_msg_id: data.client_msg_id,
  };
  if (!known && !p) return; // an ack for a send this page forgot (discarded): nothing to show
  if (!room.member) {
    room.member = true; // posting in a public room joins it
    renderRooms();
    renderRoomChrome();
  }
  addLive(room, msg);
}

function editMessage(msg, content) {
  if (content.length > state.limits.message_max_chars) {
    toast('error', null, t('error.content_too_long', { max: state.limits.message_max_chars }));
    return;
  }
  if (socket.send({ type: 'edit_message', message_id: msg.id, content })) return;
  api(`/api/chat/messages/${msg.id}`, { method: 'PATCH', body: { content } })
    .then((updated) => applyUpdate(updated)).catch(showError);
}

function deleteMessage(msg) {
  if (socket.send({ type: 'delete_message', message_id: msg.id })) return;
  api(`/api/chat/messages/${msg.id}`, { method: 'DELETE' })
    .then((updated) => applyUpdate(updated)).catch(showError);
}

/** `message_edited` / `message_deleted`: only messages this page has. */
function applyUpdate(data) {
  const room = state.rooms.get(data.room_id);
  if (!room || !room.messages.has(data.id)) return;
  room.messages.set(data.id, { ...room.messages.get(data.id), ...data });
  if (room.id === state.currentId) view.upsert(room.messages.get(data.id));
  renderBadge(room);
}

// --- typing ---------------------------------------------------------------------------------

function onComposerInput() {
  autosize();
  const room = current();
  if (!room || !room.member || room.joinState !== 'joined') return;
  if (!$('composer').value.trim()) {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (now - state.typingSentAt >= TYPING_SEND_EVERY_MS) {
    if (socket.send({ type: 'typing', room_id: room.id, is_typing: true })) {
      state.typingSentAt = now;
      state.typingRoom = room.id;
    }
  }
  clearTimeout(state.typingIdle);
  state.typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  clearTimeout(state.typingIdle);
  if (state.typingRoom !== null) {
    socket.send({ type: 'typing', room_id: state.typingRoom, is_typing: false });
  }
  state.typingRoom = null;
  state.typingSentAt = 0; // typing again right after a send shows at once
}

function onTyping(data) {
  const room = state.rooms.get(data.room_id);
  if (!room || data.user_id === state.me?.id) return;
  const old = room.typing.get(data.user_id);
  if (old) clearTimeout(old.timer);
  if (data.is_typing) {
    const timer = setTimeout(() => {
      room.typing.delete(data.user_id);
      if (room.id === state.currentId) renderTyping();
    }, TYPING_EXPIRE_MS);
    room.typing.set(data.user_id, { username: data.username, timer });
  } else {
    room.typing.delete(data.user_id);
  }
  if (room.id === state.currentId) renderTyping();
}

function renderTyping() {
  const room = current();
  const names = room ? [...room.typing.values()].map((u) => u.username) : [];
  const box = $('typing');
  box.textContent = typingText(names);
  box.hidden = names.length === 0;
}

// --- unread and read markers ----------------------------------------------------------

function viewing(room) {
  return room.id === state.currentId && document.visibilityState === 'visible';
}

/** Tell the server which joined room this tab shows and whether the tab is visible: nobody
 * is notified of what is on their screen, and everybody of what is not. */
function sendView() {
  const room = current();
  const roomId = room && room.joinState === 'joined' ? room.id : null;
  const visible = document.visibilityState === 'visible';
  const said = `${roomId}:${visible}`;
  if (said === state.viewSent) return;
  if (socket.send({ type: 'view', room_id: roomId, visible })) state.viewSent = said;
}

function renderBadge(room) {
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

function scheduleRead() {
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

function onUnread(data) {
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

// --- members and presence ---------------------------------------------------------------

/** A join's snapshot: the room's members who are not offline; the others it knows are. */
function onRoomPresence(data) {
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
}

function onUserPresence(data) {
  state.presence.set(data.user_id, { username: data.username, status: data.status });
  if (data.user_id === state.me?.id && data.reason === 'manual'
      && ['online', 'away', 'busy'].includes(data.status)) {
    $('status-menu').value = data.status;
  }
  renderOnline();
}

function renderOnline() {
  const box = $('online-users');
  clear(box);
  const room = current();
  if (!room) return;
  const users = [...room.members]
    .map((id) => [id, state.presence.get(id)])
    .filter(([, u]) => u && u.status !== 'offline')
    .sort((a, b) => a[1].username.localeCompare(b[1].username));
  for (const [id, u] of users) {
    const avatar = el('span', { class: 'avatar small', 'aria-hidden': 'true', text: initials(u.username) });
    avatar.style.setProperty('--hue', hueOf(u.username));
    box.append(el('span', {
      class: `online-user status-${u.status}`, title: `${u.username} · ${t(`status.${u.status}`)}`,
      dataset: { testid: 'online-user', userId: String(id), username: u.username, status: u.status },
    }, el('span', { class: 'avatar-wrap' }, avatar, el('span', { class: `dot dot-${u.status}` })),
    el('span', { class: 'online-name', text: u.username })));
  }
}

function onMemberJoined(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) {
    // An invitation to a room this page did not know: the server tells the invitee directly.
    if (data.user_id === state.me?.id) refreshRooms().catch(() => {});
    return;
  }
  room.members.add(data.user_id);
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

/** A new member's status: user_presence only announces changes, and theirs came earlier. */
async function lookUpPresence(userId, username) {
  try {
    const user = await api(`/api/presence/users/${userId}`);
    if (state.presence.has(userId)) return; // a frame said it meanwhile
    state.presence.set(userId, { username, status: user.status });
    renderOnline();
  } catch { /* no presence service: the next room_presence or user_presence tells */ }
}

function onMemberLeft(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  room.members.delete(data.user_id);
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

function onRoleChanged(data) {
  const room = state.rooms.get(data.room_id);
  if (!room || data.user_id !== state.me.id) return;
  room.role = data.role;
  renderRoomChrome();
}

function onRoomUpdated(data) {
  const room = state.rooms.get(data.id);
  if (!room) return;
  room.name = data.name;
  room.is_private = Boolean(data.is_private);
  renderRooms();
  renderRoomChrome();
}

// --- the socket -----------------------------------------------------------------------------

function handleFrame(frame) {
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
    case 'typing': return onTyping(data);
    case 'unread': return onUnread(data);
    case 'member_joined': return onMemberJoined(data);
    case 'member_left': return onMemberLeft(data);
    case 'member_role_changed': return onRoleChanged(data);
    case 'room_updated': return onRoomUpdated(data);
    case 'room_presence': return onRoomPresence(data);
    case 'user_presence': return onUserPresence(data);
    case 'notification': return onNotification(data);
    case 'admin_broadcast': return onBroadcast(data);
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

function handleClose(code) {
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

function renderConnection(stateName) {
  const pill = $('connection-status');
  pill.dataset.state = stateName;
  pill.textContent = t(`conn.${stateName}`);
  pill.className = `pill ${{ connected: 'pill-live', connecting: 'pill-wait' }[stateName] || 'pill-off'}`;
  pill.title = stateName === 'disconnected' ? t('conn.retry') : '';
}

function onNotification(n) {
  const roomId = n.data?.room_id;
  const open = roomId ? () => selectRoom(roomId) : undefined;
  const room = roomId ? state.rooms.get(roomId) : null;
  if (room && viewing(room) && document.hasFocus()) {
    // The message is on screen already: the notification about it is read.
    inbox.add({ ...n, read: true });
    api(`/api/notifications/${encodeURIComponent(n.id)}/read`, { method: 'POST' })
      .catch(() => {});
    return;
  }
  inbox.add(n);
  toast('notification', n.title, n.content,
    { onClick: open, key: roomId ? roomToast(roomId) : undefined });
  desktop(n.title, n.content, open);
}

/** One toast per room: a second notification of the same room replaces the first. */
function roomToast(roomId) {
  return `room-${roomId}`;
}

function onBroadcast(data) {
  const title = t('notify.broadcastFrom', { from: data.from || '' });
  toast('broadcast', title, data.message);
  desktop(title, data.message);
}

function onErrorFrame(data) {
  const { code, ref } = data;
  if (typeof ref === 'string' && state.pending.has(ref)) {
    const p = state.pending.get(ref);
    clearTimeout(p.timer);
    p.state = 'failed';
    renderPending(p);
    toast('error', null, errorText(code, data.message));
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

// --- errors ---------------------------------------------------------------------------------

function errorText(code, fallback) {
  if (code === 'network') return t('error.network');
  if (code === 'content_too_long') {
    return t('error.content_too_long', { max: state.limits.message_max_chars });
  }
  const key = `error.${code}`;
  const text = t(key);
  if (text !== key) return text;
  return fallback || t('error.generic');
}

function showError(error) {
  if (error instanceof ApiError) {
    if (error.status === 401) return; // the session handler took over
    toast('error', null, errorText(error.code || (error.status === 0 ? 'network' : null),
      error.detail));
  } else {
    toast('error', null, t('error.generic'));
  }
}

// --- the room list ----------------------------------------------------------------------

function renderRooms() {
  const list = $('room-list');
  clear(list);
  const rooms = [...state.rooms.values()].sort((a, b) => a.name.localeCompare(b.name));
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

async function createRoom(event) {
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

async function joinCurrent() {
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

async function leaveCurrent() {
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

async function invite(event) {
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

// --- session ------------------------------------------------------------------------------

async function signIn(username, password) {
  const body = await api('/api/auth/login', { method: 'POST', body: { username, password },
    auth: false });
  storeToken(body.access_token);
  const me = await api('/api/auth/me');
  await startSession(me);
}

async function onAuthSubmit(register) {
  const username = $('auth-username').value.trim();
  const password = $('auth-password').value;
  const errorBox = $('auth-error');
  errorBox.hidden = true;
  $('auth-notice').hidden = true;
  if (!username || !password) {
    errorBox.textContent = t('auth.missing');
    errorBox.hidden = false;
    return;
  }
  for (const id of ['auth-sign-in', 'auth-sign-up']) $(id).disabled = true;
  try {
    if (register) {
      await api('/api/auth/register', { method: 'POST', body: { username, password }, auth: false });
    }
    await signIn(username, password);
  } catch (error) {
    const code = error.code || (error.status === 0 ? 'network' : null);
    errorBox.textContent = errorText(code, error.detail);
    errorBox.hidden = false;
  } finally {
    for (const id of ['auth-sign-in', 'auth-sign-up']) $(id).disabled = false;
  }
}

async function startSession(me) {
  state.me = me;
  remember(SIGNED_IN_KEY, '1');
  view.setMe(me);
  $('auth-screen').hidden = true;
  $('app').hidden = false;
  document.body.classList.remove('booting');
  $('current-user').textContent = me.username;
  const avatar = $('me-avatar');
  avatar.textContent = initials(me.username);
  avatar.style.setProperty('--hue', hueOf(me.username));
  const slot = $('dashboard-slot');
  clear(slot);
  if (me.is_admin) {
    slot.append(el('a', { href: '/dashboard', class: 'dashboard-link', dataset: { testid: 'dashboard-link' },
      'data-i18n': 'dashboard.link', text: t('dashboard.link') }));
  }
  try { state.myStatus = sessionStorage.getItem(STATUS_KEY) || 'online'; } catch { /* ignore */ }
  $('status-menu').value = state.myStatus;
  $('auth-password').value = '';
  try {
    await refreshRooms();
  } catch (error) {
    showError(error);
  }
  // The room in the address, else the one this user had open last in this browser. A first
  // visit opens none: opening a room marks it read, and its notifications with it.
  const wanted = Number((location.hash.match(/^#\/rooms\/(\d+)$/) || [])[1]
    || recall(`tertulia.room.${me.username}`));
  if (state.rooms.has(wanted)) selectRoom(wanted);
  else renderRoomChrome();
  socket.start();
  inbox.refreshCount();
  clearInterval(state.roomsTimer);
  state.roomsTimer = setInterval(() => {
    if (socket.isOpen) refreshRooms().catch(() => {});
  }, ROOMS_REFRESH_MS);
}

function endSession(notice) {
  socket.stop();
  clearInterval(state.roomsTimer);
  storeToken(null);
  remember(SIGNED_IN_KEY, null);
  for (const p of state.pending.values()) clearTimeout(p.timer);
  for (const room of state.rooms.values()) {
    for (const typist of room.typing.values()) clearTimeout(typist.timer);
    clearTimeout(room.gapTimer);
  }
  pacer.queue.length = 0;
  Object.assign(state, {
    me: null, rooms: new Map(), currentId: null, pending: new Map(), presence: new Map(),
    joinQueue: [], typingRoom: null, myStatus: 'online',
  });
  view.hide();
  inbox.reset();
  clear($('room-list'));
  clear($('online-users'));
  delete document.body.dataset.replicaId;
  delete document.body.dataset.connectionId;
  document.title = 'Tertulia';
  $('app').hidden = true;
  $('auth-screen').hidden = false;
  document.body.classList.remove('booting');
  const box = $('auth-notice');
  box.textContent = notice || '';
  box.hidden = !notice;
  $('auth-username').focus();
}

async function signOut() {
  try { await api('/api/auth/logout', { method: 'POST', auth: false }); } catch { /* gone anyway */ }
  try { sessionStorage.removeItem(STATUS_KEY); } catch { /* ignore */ }
  endSession(t('auth.signedOut'));
}

// --- layout bits ----------------------------------------------------------------------------

function setSidebar(open) {
  document.body.classList.toggle('sidebar-open', open);
  $('scrim').hidden = !open;
  $('menu-button').setAttribute('aria-expanded', String(open));
}

function autosize() {
  const box = $('composer');
  box.style.height = 'auto';
  box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
}

function relabel() {
  applyI18n(document);
  for (const id of ['lang-switch', 'auth-lang']) $(id).value = lang();
  renderConnection(socket.state);
  refreshDesktopButton();
  if (!state.me) return;
  renderRooms();
  renderRoomChrome();
  renderTyping();
  renderOnline();
  const room = current();
  if (room) view.show(room, sortedMessages(room), pendingOf(room.id), { keepScroll: true });
  if (!$('inbox').hidden) inbox.render();
}

function bind() {
  $('auth-form').addEventListener('submit', (event) => {
    event.preventDefault();
    onAuthSubmit(false);
  });
  $('auth-sign-up').addEventListener('click', () => onAuthSubmit(true));
  for (const id of ['lang-switch', 'auth-lang']) {
    $(id).addEventListener('change', (event) => setLang(event.target.value));
  }
  $('sign-out').addEventListener('click', signOut);
  $('status-menu').addEventListener('change', (event) => {
    state.myStatus = event.target.value;
    try { sessionStorage.setItem(STATUS_KEY, state.myStatus); } catch { /* ignore */ }
    socket.send({ type: 'set_status', status: state.myStatus });
  });
  $('new-room-button').addEventListener('click', () => {
    $('new-room-form').hidden = false;
    $('new-room-error').hidden = true;
    $('new-room-name').focus();
  });
  $('new-room-cancel').addEventListener('click', () => {
    $('new-room-form').reset();
    $('new-room-form').hidden = true;
  });
  $('new-room-form').addEventListener('submit', createRoom);
  $('join-room').addEventListener('click', joinCurrent);
  $('leave-room').addEventListener('click', leaveCurrent);
  $('invite-form').addEventListener('submit', invite);
  $('composer-form').addEventListener('submit', (event) => {
    event.preventDefault();
    sendComposer();
  });
  $('composer').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendComposer();
    }
  });
  $('composer').addEventListener('input', onComposerInput);
  $('composer').addEventListener('blur', () => { if (!$('composer').value.trim()) stopTyping(); });
  $('connection-status').addEventListener('click', () => {
    if (state.me) socket.reconnectNow();
  });
  $('menu-button').addEventListener('click', () => setSidebar(true));
  $('sidebar-close').addEventListener('click', () => setSidebar(false));
  $('scrim').addEventListener('click', () => setSidebar(false));
  document.addEventListener('visibilitychange', () => {
    const room = current();
    if (room) renderBadge(room);
    scheduleRead();
    sendView();
    if (document.visibilityState === 'visible' && state.me) {
      socket.reconnectNow();
      refreshRooms().catch(() => {});
    }
  });
  window.addEventListener('focus', () => scheduleRead());
  window.addEventListener('hashchange', () => {
    const match = location.hash.match(/^#\/rooms\/(\d+)$/);
    if (match && state.me && Number(match[1]) !== state.currentId) selectRoom(Number(match[1]));
  });
}

async function boot() {
  setLang(detectLang(), { remember: false });
  onLangChange(relabel);
  refreshDesktopButton = bindDesktopButton($('enable-desktop-notifications'));
  bind();
  relabel();
  setUnauthorizedHandler(() => { if (state.me) endSession(t('auth.expired')); });
  let me = null;
  if (recall(SIGNED_IN_KEY) || storedToken()) {
    try {
      me = await api('/api/auth/me', { auth: false });
    } catch (error) {
      if (error.status === 401 && storedToken()) {
        try { me = await api('/api/auth/me', { auth: false }); } catch { /* sign in again */ }
      }
    }
  }
  if (me) await startSession(me);
  else endSession(null);
}

boot();
