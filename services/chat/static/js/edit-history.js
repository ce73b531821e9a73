// A message's editing history, for the room's moderators and admins: its "(edited)" marker
// (or, when deleted, a "History" link) opens a dialog listing who changed what, and when
// (GET /api/chat/messages/{id}/history).

import { api } from './api.js';
import { el } from './dom.js';
import { showError } from './errors.js';
import { formatFull, t } from './i18n.js';
import { nameOf } from './people.js';
import { isModerator } from './pins.js';

export function addHistoryLink(head, msg) {
  if (!msg.edited_at || !isModerator(msg.room_id)) return;
  const marker = head.querySelector('.message-edited');
  const open = () => openHistory(msg);
  if (marker) {
    marker.replaceWith(el('button', {
      type: 'button', class: 'link-button message-edited', title: t('edits.open'),
      dataset: { testid: 'message-edited' }, text: t('messages.edited'), onclick: open,
    }));
  } else {
    head.append(el('button', {
      type: 'button', class: 'link-button message-edited', dataset: { testid: 'message-history' },
      text: t('edits.open'), onclick: open,
    }));
  }
}

async function openHistory(msg) {
  let answer;
  try {
    answer = await api(`/api/chat/messages/${msg.id}/history`);
  } catch (error) {
    showError(error);
    return;
  }
  const list = el('ol', { class: 'edit-list' });
  for (const edit of answer.edits) {
    const who = nameOf(edit.editor_id, edit.editor_username);
    const entry = el('li', { class: 'edit-entry', dataset: { testid: 'edit-entry', action: edit.action } },
      el('div', { class: 'small muted' },
        t(edit.action === 'deleted' ? 'edits.deleted' : 'edits.edited', { name: who }),
        ' · ', el('time', { datetime: edit.edited_at, text: formatFull(edit.edited_at) })),
      el('div', { class: 'edit-before' }, el('strong', { text: `${t('edits.before')}: ` }),
        el('span', { dataset: { testid: 'edit-before' }, text: edit.previous_content })));
    if (edit.new_content !== null) {
      entry.append(el('div', { class: 'edit-after' }, el('strong', { text: `${t('edits.after')}: ` }),
        el('span', { dataset: { testid: 'edit-after' }, text: edit.new_content })));
    }
    list.append(entry);
  }
  const dialog = el('dialog', { class: 'edit-history', dataset: { testid: 'edit-history' },
    'aria-label': t('edits.title') },
  el('h2', { text: t('edits.title') }),
  answer.edits.length ? list : el('p', { class: 'muted', text: t('edits.empty') }),
  el('form', { method: 'dialog' },
    el('button', { type: 'submit', dataset: { testid: 'edit-history-close' }, text: t('common.close') })));
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
}
