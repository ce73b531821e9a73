// Reactions under a message: a chip per emoji ("👍 3", highlighted when mine, its title
// naming who reacted; a click toggles mine), an "Add reaction" picker of common emojis, and
// the `reaction` frame. A message's `reactions` come from history; a live frame is the same
// for every socket, so `me` is worked out here.

import { api } from './api.js';
import { el } from './dom.js';
import { showError } from './errors.js';
import { t } from './i18n.js';
import { rerender } from './marks.js';
import { nameOf } from './people.js';
import { state } from './state.js';

export const PICKER_EMOJIS = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀', '🚀', '✅', '👎', '🔥'];
const NAMES_SHOWN = 10;

function canReact(msg) {
  const room = state.rooms.get(msg.room_id);
  return Boolean(state.me && room && room.member && !msg.is_deleted);
}

function whoText(reaction) {
  const ids = reaction.user_ids || [];
  const names = (reaction.usernames || []).map((name, i) => nameOf(ids[i], name));
  const shown = names.slice(0, NAMES_SHOWN).join(', ');
  const more = reaction.count - Math.min(names.length, NAMES_SHOWN);
  const who = more > 0 ? `${shown} ${t('reactions.more', { n: more })}` : shown;
  return t('reactions.by', { names: who, emoji: reaction.emoji });
}

/** The reactions bar of a confirmed message, appended to its bubble. */
export function addReactions(bubble, msg) {
  if (msg.is_deleted) return;
  const reactions = msg.reactions || [];
  const allowed = canReact(msg);
  if (!reactions.length && !allowed) return;
  const bar = el('div', { class: 'reactions', dataset: { testid: 'reactions' } });
  for (const reaction of reactions) {
    bar.append(el('button', {
      type: 'button',
      class: `reaction-chip${reaction.me ? ' mine' : ''}`,
      dataset: { testid: 'reaction-chip', emoji: reaction.emoji, count: String(reaction.count) },
      'aria-pressed': reaction.me ? 'true' : 'false',
      title: whoText(reaction),
      disabled: !allowed,
      onclick: () => toggle(msg, reaction.emoji, !reaction.me),
    }, el('span', { class: 'reaction-emoji', text: reaction.emoji }),
    el('span', { class: 'reaction-count', dataset: { testid: 'reaction-count' },
      text: String(reaction.count) })));
  }
  if (allowed) bar.append(pickerButton(msg));
  bubble.append(bar);
}

function pickerButton(msg) {
  const picker = el('div', { class: 'reaction-picker', dataset: { testid: 'reaction-picker' },
    role: 'menu', hidden: true });
  for (const emoji of PICKER_EMOJIS) {
    picker.append(el('button', {
      type: 'button', class: 'reaction-pick', role: 'menuitem', title: emoji,
      dataset: { testid: 'reaction-pick', emoji },
      onclick: () => {
        picker.hidden = true;
        const mine = (msg.reactions || []).some((r) => r.emoji === emoji && r.me);
        if (!mine) toggle(msg, emoji, true);
      },
    }, emoji));
  }
  const wrap = el('span', { class: 'reaction-add-wrap' });
  const outside = (event) => {
    if (wrap.contains(event.target)) return;
    picker.hidden = true;
    document.removeEventListener('click', outside, true);
  };
  const button = el('button', {
    type: 'button', class: 'reaction-add', dataset: { testid: 'reaction-add' },
    'aria-haspopup': 'true', 'aria-label': t('reactions.add'), title: t('reactions.add'),
    onclick: () => {
      picker.hidden = !picker.hidden;
      if (picker.hidden) return;
      picker.scrollIntoView({ block: 'nearest' });
      document.addEventListener('click', outside, true);
    },
  }, '☺+');
  picker.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') { picker.hidden = true; button.focus(); }
  });
  wrap.append(button, picker);
  return wrap;
}

async function toggle(msg, emoji, adding) {
  const path = `/api/chat/messages/${msg.id}/reactions/${encodeURIComponent(emoji)}`;
  try {
    const answer = await api(path, { method: adding ? 'PUT' : 'DELETE' });
    setReactions(answer.room_id, answer.message_id, () => answer.reactions);
  } catch (error) {
    showError(error);
  }
}

function setReactions(roomId, messageId, change) {
  const room = state.rooms.get(roomId);
  const msg = room && room.messages.get(messageId);
  if (!msg) return;
  msg.reactions = change(msg.reactions || []);
  rerender(msg);
}

/** `reaction`: one person's emoji added or removed; `count` is the total after it. */
export function onReaction(data) {
  setReactions(data.room_id, data.message_id, (reactions) => {
    const mine = data.user_id === state.me?.id;
    const next = reactions.map((r) => ({ ...r }));
    let entry = next.find((r) => r.emoji === data.emoji);
    if (!entry) {
      if (data.action !== 'added') return next;
      entry = { emoji: data.emoji, count: 0, me: false, user_ids: [], usernames: [] };
      next.push(entry);
    }
    entry.count = data.count;
    const ids = entry.user_ids || [];
    const names = entry.usernames || [];
    const at = ids.indexOf(data.user_id);
    if (data.action === 'added' && at < 0) {
      ids.push(data.user_id);
      names.push(data.username || '?');
    } else if (data.action === 'removed' && at >= 0) {
      ids.splice(at, 1);
      names.splice(at, 1);
    }
    entry.user_ids = ids;
    entry.usernames = names;
    if (mine) entry.me = data.action === 'added';
    return next.filter((r) => r.count > 0);
  });
}
