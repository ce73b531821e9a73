// The room's members panel (presence dot, name shown, @username, role; live with the
// `member_*`, presence and `user_updated` frames) and the profile card a click on a member
// or a message's author opens (status text, their local time, presence, role here).

import { api } from './api.js';
import { avatarFor } from './avatars.js';
import { clear, el } from './dom.js';
import { t } from './i18n.js';
import { nameOf, onPeopleChange, people, rememberMembers, rememberUser, roleIn } from './people.js';
import { renderOnline } from './presence.js';
import { $, current, state } from './state.js';

let panelRoom = null; // the room whose panel is open, or null

export function bindPeoplePanel() {
  $('members-button').addEventListener('click', () => {
    if (panelRoom !== null) closeMembersPanel();
    else openMembersPanel();
  });
  $('members-close').addEventListener('click', closeMembersPanel);
  onPeopleChange(renderOnline); // the room bar's names (it draws this panel too)
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closeProfileCard();
  });
  document.addEventListener('click', (event) => {
    const card = document.querySelector('[data-testid="profile-card"]');
    if (card && !card.contains(event.target) && !event.target.closest('[data-user-card]')) {
      closeProfileCard();
    }
  });
}

export async function openMembersPanel() {
  const room = current();
  if (!room) return;
  panelRoom = room.id;
  $('members-panel').hidden = false;
  $('members-button').setAttribute('aria-expanded', 'true');
  renderMembersPanel();
  try {
    const members = await api(`/api/chat/rooms/${room.id}/members`);
    for (const m of members) room.members.add(m.user_id);
    rememberMembers(room.id, members);
  } catch { /* the list shows what the page knows */ }
}

export function closeMembersPanel() {
  panelRoom = null;
  $('members-panel').hidden = true;
  $('members-button').setAttribute('aria-expanded', 'false');
}

function statusOf(userId) {
  return state.presence.get(userId)?.status || 'offline';
}

const STATUS_RANK = { online: 0, busy: 1, away: 2, offline: 3 };

/** Draw the open room's members again (a no-op while the panel is closed). */
export function renderMembersPanel() {
  const room = current();
  if (panelRoom === null) return;
  if (!room || room.id !== panelRoom) { closeMembersPanel(); return; }
  const list = $('members-list');
  clear(list);
  const rows = [...room.members].map((id) => ({
    id, name: nameOf(id, state.presence.get(id)?.username),
    username: people.get(id)?.username || state.presence.get(id)?.username || '',
    status: statusOf(id), role: roleIn(room.id, id) }))
    .sort((a, b) => STATUS_RANK[a.status] - STATUS_RANK[b.status] || a.name.localeCompare(b.name));
  $('members-count').textContent = String(rows.length);
  for (const row of rows) {
    const avatar = avatarFor(row.id, row.name, row.username || row.name, 'avatar small');
    const item = el('li', {}, el('button', {
      type: 'button', class: `member-row status-${row.status}`,
      dataset: { testid: 'member-row', userId: String(row.id), username: row.username,
        status: row.status, userCard: '1' },
      onclick: (event) => openProfileCard(row.id, event.currentTarget),
    }, el('span', { class: 'avatar-wrap' }, avatar, el('span', { class: `dot dot-${row.status}`,
      title: t(`status.${row.status}`) })),
    el('span', { class: 'member-names' },
      el('span', { class: 'member-name', dataset: { testid: 'member-name' }, text: row.name }),
      el('span', { class: 'muted small', text: `@${row.username}` })),
    row.role && row.role !== 'member'
      ? el('span', { class: 'role-tag small', dataset: { testid: 'member-role' },
        text: t(`people.role.${row.role}`) }) : null));
    list.append(item);
  }
}

/** "14:05" in `timeZone`, or '' when the browser does not know it. */
export function localTime(timeZone, now = new Date()) {
  if (!timeZone) return '';
  try {
    return new Intl.DateTimeFormat(document.documentElement.lang || undefined,
      { hour: '2-digit', minute: '2-digit', timeZone }).format(now);
  } catch { return ''; }
}

export function closeProfileCard() {
  document.querySelector('[data-testid="profile-card"]')?.remove();
}

/** The card about `userId`, beside `anchor` (a member row or an author's name). */
export async function openProfileCard(userId, anchor) {
  closeProfileCard();
  if (userId === null || userId === undefined) return;
  const card = el('section', { class: 'profile-card', role: 'dialog',
    dataset: { testid: 'profile-card', userId: String(userId) } });
  document.body.append(card);
  const place = () => {
    const box = anchor?.getBoundingClientRect();
    const width = Math.min(300, window.innerWidth - 16);
    const left = box ? Math.max(8, Math.min(box.left, window.innerWidth - width - 8)) : 8;
    card.style.left = `${left}px`;
    card.style.width = `${width}px`;
    const below = box ? box.bottom + 6 : 60;
    card.style.top = `${Math.max(8, Math.min(below, window.innerHeight - card.offsetHeight - 8))}px`;
  };
  const fill = () => {
    const room = current();
    const known = people.get(userId) || {};
    const status = statusOf(userId);
    const name = nameOf(userId, known.username);
    const avatar = avatarFor(userId, name, known.username || name);
    const role = room ? roleIn(room.id, userId) : null;
    const time = localTime(known.time_zone);
    clear(card);
    card.append(
      el('div', { class: 'card-head' }, avatar, el('div', {},
        el('strong', { dataset: { testid: 'card-name' }, text: name }),
        el('div', { class: 'muted small', dataset: { testid: 'card-username' },
          text: `@${known.username || ''}` }))),
      known.status_text ? el('p', { class: 'card-status', dataset: { testid: 'card-status-text' },
        text: known.status_text }) : null,
      el('p', { class: 'small' }, el('span', { class: `dot dot-${status}` }), ' ',
        el('span', { dataset: { testid: 'card-presence' }, text: t(`status.${status}`) }),
        role ? ` · ${t(`people.role.${role}`)}` : ''),
      time ? el('p', { class: 'small muted', dataset: { testid: 'card-local-time' },
        text: t('profile.localTime', { time, zone: known.time_zone }) }) : null);
    place();
  };
  fill();
  try {
    const profile = await api(`/api/chat/users/${userId}`);
    rememberUser({ ...profile, user_id: profile.user_id });
    if (card.isConnected) fill();
  } catch { /* the card shows what the page knows */ }
}
