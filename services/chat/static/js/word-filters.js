// Word filters and held messages in the chat page: the room's "Moderation" panel (room
// admins list, add and remove the room's rules; its moderators approve or reject what a
// `hold` rule kept back, and list and lift its mutes and bans: room-sanctions.js), and the
// author's side: a held ack and the decision frames.

import { api } from './api.js';
import { clear, el } from './dom.js';
import { showError } from './errors.js';
import { formatFull, t } from './i18n.js';
import { toast } from './notify.js';
import { isModerator } from './pins.js';
import { loadSanctions } from './room-sanctions.js';
import { $, state, view } from './state.js';

let panelRoom = null; // the room whose rules and held messages the open panel shows

export function isRoomAdmin(roomId) {
  const room = state.rooms.get(roomId);
  return Boolean(state.me?.is_admin || (room && room.member && room.role === 'admin'));
}

/** A post a `hold` rule stopped: it left the composer but reached nobody yet. */
export function onHeldAck(data) {
  const p = state.pending.get(data.client_msg_id);
  if (p) {
    clearTimeout(p.timer);
    state.pending.delete(data.client_msg_id);
    view.removePending(data.client_msg_id);
  }
  toast('info', null, t('filters.heldNotice'));
  if (panelRoom === data.room_id) loadPanel(data.room_id);
}

/** `held_approved` / `held_rejected`, to the author. */
export function onHeldDecided(type, data) {
  if (type === 'held_approved') toast('info', null, t('filters.approvedNotice'));
  else toast('error', null, data.note ? t('filters.rejectedNote', { note: data.note })
    : t('filters.rejectedNotice'));
}

/** Bind the room bar's button (app.js, once). */
export function bindWordFilters() {
  $('filters-button').addEventListener('click', () => {
    if (panelRoom !== null) closePanel();
    else if (state.currentId !== null) loadPanel(state.currentId);
  });
  $('filters-close').addEventListener('click', closePanel);
  $('filters-refresh').addEventListener('click', () => panelRoom !== null && loadPanel(panelRoom));
  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    addRule();
  });
}

/** The room shown changed: the button shows for its moderators; the panel follows. */
export function syncFiltersPanel() {
  const roomId = state.currentId;
  $('filters-button').hidden = roomId === null || !isModerator(roomId);
  if (panelRoom === null || panelRoom === roomId) return;
  if (roomId === null || !isModerator(roomId)) closePanel();
  else loadPanel(roomId);
}

function closePanel() {
  panelRoom = null;
  $('filters-panel').hidden = true;
  $('filters-button').setAttribute('aria-expanded', 'false');
}

async function loadPanel(roomId) {
  panelRoom = roomId;
  $('filters-panel').hidden = false;
  $('filters-button').setAttribute('aria-expanded', 'true');
  const admin = isRoomAdmin(roomId);
  $('filters-rules').hidden = !admin;
  loadSanctions(roomId, () => panelRoom === roomId);
  try {
    const [rules, held] = await Promise.all([
      admin ? api(`/api/chat/rooms/${roomId}/word-filters`) : null,
      api(`/api/moderation/held?room_id=${roomId}&limit=50`),
    ]);
    if (panelRoom !== roomId) return;
    if (rules) renderRules(roomId, rules.rules);
    renderHeld(held.held);
  } catch (error) {
    showError(error);
  }
}

function renderRules(roomId, rules) {
  const list = $('filter-list');
  clear(list);
  $('filter-empty').hidden = rules.length > 0;
  for (const rule of rules) {
    list.append(el('li', { class: 'filter-rule', dataset: { testid: 'filter-rule' } },
      el('span', { class: 'filter-pattern', text: rule.pattern }),
      el('span', { class: 'muted small', text: t(`filters.action.${rule.action}`) }),
      el('button', {
        type: 'button', class: 'link-button small', dataset: { testid: 'filter-remove' },
        text: t('filters.remove'),
        onclick: () => removeRule(roomId, rule.id),
      })));
  }
}

function renderHeld(rows) {
  const list = $('held-list');
  clear(list);
  $('held-empty').hidden = rows.length > 0;
  for (const held of rows) {
    const note = el('input', {
      class: 'held-note', maxlength: '500', dataset: { testid: 'held-note' },
      placeholder: t('filters.notePlaceholder'), 'aria-label': t('filters.notePlaceholder'),
    });
    list.append(el('li', { class: 'held-entry', dataset: { testid: 'held-entry' } },
      el('span', { class: 'small muted',
        text: `${held.username} · ${formatFull(held.created_at)}` }),
      el('span', { class: 'held-content', dataset: { testid: 'held-content' },
        text: held.content }),
      el('div', { class: 'held-actions' },
        el('button', {
          type: 'button', class: 'small-button', dataset: { testid: 'held-approve' },
          text: t('filters.approve'), onclick: () => decide(held, 'approve'),
        }),
        note,
        el('button', {
          type: 'button', class: 'small-button secondary', dataset: { testid: 'held-reject' },
          text: t('filters.reject'), onclick: () => decide(held, 'reject', note.value),
        }))));
  }
}

async function decide(held, verdict, note) {
  try {
    const init = { method: 'POST' };
    if (verdict === 'reject' && note && note.trim()) init.body = { note: note.trim() };
    await api(`/api/moderation/held/${held.held_id}/${verdict}`, init);
  } catch (error) {
    showError(error);
  }
  if (panelRoom !== null) loadPanel(panelRoom);
}

async function addRule() {
  const roomId = panelRoom;
  const input = $('filter-pattern');
  const pattern = input.value.trim();
  if (roomId === null || !pattern) return;
  try {
    await api(`/api/chat/rooms/${roomId}/word-filters`,
      { method: 'POST', body: { pattern, action: $('filter-action').value } });
    input.value = '';
  } catch (error) {
    showError(error);
  }
  if (panelRoom === roomId) loadPanel(roomId);
}

async function removeRule(roomId, ruleId) {
  try {
    await api(`/api/chat/rooms/${roomId}/word-filters/${ruleId}`, { method: 'DELETE' });
  } catch (error) {
    showError(error);
  }
  if (panelRoom === roomId) loadPanel(roomId);
}
