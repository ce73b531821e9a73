// Editing and deleting a message (on the socket, else over HTTP), and the
// `message_edited` / `message_deleted` frames.

import { api } from './api.js';
import { showError } from './errors.js';
import { t } from './i18n.js';
import { toast } from './notify.js';
import { socket, state, view } from './state.js';
import { noteThreadMessage } from './threads.js';
import { renderBadge } from './unread.js';

export function editMessage(msg, content) {
  if (content.length > state.limits.message_max_chars) {
    toast('error', null, t('error.content_too_long', { max: state.limits.message_max_chars }));
    return;
  }
  if (socket.send({ type: 'edit_message', message_id: msg.id, content })) return;
  api(`/api/chat/messages/${msg.id}`, { method: 'PATCH', body: { content } })
    .then((updated) => applyUpdate(updated)).catch(showError);
}

export function deleteMessage(msg) {
  if (socket.send({ type: 'delete_message', message_id: msg.id })) return;
  api(`/api/chat/messages/${msg.id}`, { method: 'DELETE' })
    .then((updated) => applyUpdate(updated)).catch(showError);
}

/** `message_edited` / `message_deleted`: only messages this page has. */
export function applyUpdate(data) {
  const room = state.rooms.get(data.room_id);
  if (!room || !room.messages.has(data.id)) return;
  room.messages.set(data.id, { ...room.messages.get(data.id), ...data });
  if (room.id === state.currentId) view.upsert(room.messages.get(data.id));
  noteThreadMessage(room, room.messages.get(data.id));
  renderBadge(room);
}
