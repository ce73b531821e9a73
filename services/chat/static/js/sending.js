// Sending messages: the composer's text (and the files of its tray) becomes a pending message
// with its client_msg_id, sent at a pace under the server's rate limit, again after a rejoin,
// and confirmed by `ack`.

import { composerTray } from './composer-files.js';
import { t } from './i18n.js';
import { autosize } from './layout.js';
import { toast } from './notify.js';
import { renderRoomChrome } from './room-header.js';
import { renderRooms } from './room-list.js';
import { addLive } from './room-sync.js';
import { $, current, socket, state, view } from './state.js';
import { stopTyping } from './typing.js';
import { onHeldAck } from './word-filters.js';

const ACK_TIMEOUT_MS = 10000;

export function newClientMsgId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function sendComposer() {
  const room = current();
  const box = $('composer');
  const content = box.value.trim();
  const tray = composerTray();
  if (!room) return;
  if (tray?.busy) {
    toast('error', null, t('files.wait'));
    return;
  }
  const files = tray ? tray.files : [];
  if (!content && !files.length) return;
  if (content.length > state.limits.message_max_chars) {
    toast('error', null, t('error.content_too_long', { max: state.limits.message_max_chars }));
    return;
  }
  const p = {
    client_msg_id: newClientMsgId(), room_id: room.id, content, state: 'pending',
    created_at: new Date().toISOString(), timer: null,
    attachments: files, attachment_ids: files.map((f) => f.id),
  };
  state.pending.set(p.client_msg_id, p);
  view.upsertPending(p);
  box.value = '';
  tray?.clear();
  autosize();
  stopTyping();
  transmit(p);
}

// The server allows a user 10 frames a second (burst 30) and closes a socket that keeps
// flooding; sends are paced below that so a burst of Enter presses or a resend after a
// reconnect only waits.
const pacer = { tokens: 10, burst: 10, perSec: 5, at: Date.now(), queue: [], timer: null };

export function transmit(p) {
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
    const frame = { type: 'chat_message', room_id: p.room_id, content: p.content,
      client_msg_id: p.client_msg_id };
    if (p.attachment_ids?.length) frame.attachment_ids = p.attachment_ids;
    if (!socket.send(frame)) continue;
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

export function resendPending(roomId) {
  for (const p of state.pending.values()) {
    if (p.room_id === roomId && p.state === 'pending') transmit(p);
  }
}

export function renderPending(p) {
  if (p.room_id === state.currentId) view.upsertPending(p);
}

export function onAck(data) {
  if (data.held) return onHeldAck(data); // a `hold` word filter: in review, not in the room
  const p = state.pending.get(data.client_msg_id);
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  if (p) clearTimeout(p.timer);
  const known = room.messages.get(data.id);
  const msg = known || {
    id: data.id, room_id: data.room_id, seq: data.seq, created_at: data.created_at,
    content: p ? p.content : '', attachments: p ? p.attachments || [] : [],
    user_id: state.me.id, username: state.me.username,
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

/** Signed out: nothing queued goes out on the next session's socket. */
export function forgetSends() {
  pacer.queue.length = 0;
}
