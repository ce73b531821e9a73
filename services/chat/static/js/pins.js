// Pinned messages: the pin marker on a message, pin and unpin for the room's moderators,
// the "Pinned" panel of the open room (GET /api/chat/rooms/{id}/pins; a click shows the
// message in the list when it is loaded), and the `message_pinned` / `message_unpinned`
// frames.

import { api } from './api.js';
import { clear, el } from './dom.js';
import { showError } from './errors.js';
import { formatFull, t } from './i18n.js';
import { rerender } from './marks.js';
import { nameOf } from './people.js';
import { $, state, view } from './state.js';

let panelRoom = null; // the room whose pins the open panel shows

export function isModerator(roomId) {
  const room = state.rooms.get(roomId);
  return Boolean(state.me?.is_admin
    || (room && room.member && (room.role === 'admin' || room.role === 'moderator')));
}

/** The pin marker in the head; pin or unpin among the actions, for moderators. */
export function addPinControls(node, head, bubble, msg) {
  if (msg.is_deleted) return;
  if (msg.pinned) {
    node.classList.add('pinned');
    head.append(el('span', {
      class: 'pin-marker', dataset: { testid: 'pin-marker' },
      title: msg.pinned_by_username
        ? t('pins.by', { name: nameOf(msg.pinned_by, msg.pinned_by_username) })
        : t('pins.marker'),
      text: `📌 ${t('pins.marker')}`,
    }));
  }
  if (!isModerator(msg.room_id)) return;
  let actions = bubble.querySelector('.message-actions');
  if (!actions) {
    actions = el('div', { class: 'message-actions' });
    bubble.append(actions);
  }
  actions.append(el('button', {
    type: 'button', class: 'link-button',
    dataset: { testid: msg.pinned ? 'message-unpin' : 'message-pin' },
    text: msg.pinned ? t('pins.unpin') : t('pins.pin'),
    onclick: () => setPinned(msg, !msg.pinned),
  }));
}

async function setPinned(msg, pinned) {
  try {
    const answer = await api(`/api/chat/messages/${msg.id}/pin`,
      { method: pinned ? 'PUT' : 'DELETE' });
    apply(answer.room_id, answer.id, {
      pinned: answer.pinned, pinned_at: answer.pinned_at, pinned_by: answer.pinned_by,
      pinned_by_username: answer.pinned_by_username,
    });
  } catch (error) {
    showError(error);
  }
}

function apply(roomId, messageId, fields) {
  const room = state.rooms.get(roomId);
  const msg = room && room.messages.get(messageId);
  if (msg) {
    Object.assign(msg, fields);
    rerender(msg);
  }
  if (panelRoom === roomId) loadPanel(roomId);
}

export function onPinned(data) {
  apply(data.room_id, data.message_id, {
    pinned: true, pinned_at: data.pinned_at, pinned_by: data.pinned_by,
    pinned_by_username: data.pinned_by_username,
  });
}

export function onUnpinned(data) {
  apply(data.room_id, data.message_id,
    { pinned: false, pinned_at: null, pinned_by: null, pinned_by_username: null });
}

/** Bind the header's "Pinned" button (app.js, once). */
export function bindPins() {
  $('pins-button').addEventListener('click', () => {
    if (panelRoom !== null) closePanel();
    else if (state.currentId !== null) loadPanel(state.currentId);
  });
  $('pins-close').addEventListener('click', closePanel);
}

/** The room shown changed: the panel follows it, or closes with no room. */
export function syncPinsPanel() {
  if (panelRoom === null || panelRoom === state.currentId) return;
  if (state.currentId === null) closePanel();
  else loadPanel(state.currentId);
}

function closePanel() {
  panelRoom = null;
  $('pins-panel').hidden = true;
  $('pins-button').setAttribute('aria-expanded', 'false');
}

async function loadPanel(roomId) {
  panelRoom = roomId;
  $('pins-panel').hidden = false;
  $('pins-button').setAttribute('aria-expanded', 'true');
  let answer;
  try {
    answer = await api(`/api/chat/rooms/${roomId}/pins`);
  } catch (error) {
    showError(error);
    return;
  }
  if (panelRoom !== roomId) return;
  const list = $('pins-list');
  clear(list);
  $('pins-empty').hidden = answer.messages.length > 0;
  for (const msg of answer.messages) {
    list.append(el('li', {}, el('button', {
      type: 'button', class: 'pin-entry', dataset: { testid: 'pin-entry', messageId: String(msg.id) },
      onclick: () => reveal(msg.id),
    },
    el('span', { class: 'pin-entry-head small muted',
      text: `${msg.author_label || msg.display_name || msg.username} · `
        + formatFull(msg.created_at) }),
    el('span', { class: 'pin-entry-content', dataset: { testid: 'pin-entry-content' },
      text: msg.content }))));
  }
}

function reveal(messageId) {
  const node = view.nodes.get(`m${messageId}`);
  if (!node) return; // not loaded: the panel shows its words already
  node.scrollIntoView({ block: 'center' });
  node.classList.add('flash');
  setTimeout(() => node.classList.remove('flash'), 1500);
}
