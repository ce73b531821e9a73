// A room's mutes and bans in its "Moderation" panel, for its moderators: listed (GET
// /api/chat/rooms/{id}/mutes|bans) and lifted (DELETE …/{user_id}). `moderation_updated`
// reaches only the sanctioned user, so the list follows the panel: on open and Refresh.

import { api } from './api.js';
import { clear, el } from './dom.js';
import { showError } from './errors.js';
import { formatFull, t } from './i18n.js';
import { $ } from './state.js';

const KINDS = ['mute', 'ban'];

/** Fetch and show the room's sanctions; `stillShown()` says the panel still shows the room. */
export async function loadSanctions(roomId, stillShown) {
  try {
    const bodies = await Promise.all(KINDS.map((kind) =>
      api(`/api/chat/rooms/${roomId}/${kind}s`)));
    if (!stillShown()) return;
    render(roomId, bodies.flatMap((body) => body.items), stillShown);
  } catch (error) {
    showError(error);
  }
}

function render(roomId, items, stillShown) {
  const list = $('sanction-list');
  clear(list);
  $('sanction-empty').hidden = items.length > 0;
  for (const s of items) {
    const until = s.until ? t('sanctions.until', { when: formatFull(s.until) })
      : t('sanctions.untilLifted');
    const facts = [t(`sanctions.kind.${s.kind}`), until, s.reason].filter(Boolean).join(' · ');
    list.append(el('li', { class: 'filter-rule', dataset: { testid: 'room-sanction',
      kind: s.kind, userId: String(s.user_id) } },
      el('span', { class: 'filter-pattern', text: s.username }),
      el('span', { class: 'muted small sanction-facts', text: facts }),
      el('button', {
        type: 'button', class: 'link-button small', dataset: { testid: 'room-sanction-lift' },
        text: t('sanctions.lift'),
        onclick: () => lift(roomId, s, stillShown),
      })));
  }
}

async function lift(roomId, sanction, stillShown) {
  try {
    await api(`/api/chat/rooms/${roomId}/${sanction.kind}s/${sanction.user_id}`,
      { method: 'DELETE' });
  } catch (error) {
    showError(error);
  }
  if (stillShown()) loadSanctions(roomId, stillShown);
}
