// The session: signing in or up, starting the page for a user, and ending it (signed out,
// expired or revoked). The session itself is the HttpOnly cookie.

import { api, storeToken } from './api.js';
import { clear, el, hueOf, initials } from './dom.js';
import { errorText, showError } from './errors.js';
import { t } from './i18n.js';
import { renderMe } from './people.js';
import { renderRoomChrome } from './room-header.js';
import { refreshRooms } from './room-sync.js';
import { selectRoom } from './room-view.js';
import { forgetSends } from './sending.js';
import {
  $, inbox, recall, remember, SIGNED_IN_KEY, socket, state, STATUS_KEY, view,
} from './state.js';

const ROOMS_REFRESH_MS = 20000;

async function signIn(username, password) {
  const body = await api('/api/auth/login', { method: 'POST', body: { username, password },
    auth: false });
  storeToken(body.access_token);
  const me = await api('/api/auth/me');
  await startSession(me);
}

/** The sign-up invitation of a link `/?invite=<token>` (the administration page makes them). */
export function invitationInUrl() {
  return new URLSearchParams(location.search).get('invite');
}

function forgetInvitation() {
  const url = new URL(location.href);
  url.searchParams.delete('invite');
  history.replaceState(null, '', url.pathname + url.search + url.hash);
}

/** On the sign-in form: say that this link carries an invitation. */
export function noticeInvitation() {
  if (!invitationInUrl()) return;
  const box = $('auth-notice');
  box.textContent = t('auth.invited');
  box.hidden = false;
}

export async function onAuthSubmit(register) {
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
      const invitation = invitationInUrl();
      await api('/api/auth/register', { method: 'POST', auth: false,
        body: invitation ? { username, password, invitation } : { username, password } });
      if (invitation) forgetInvitation();
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

export async function startSession(me) {
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
  renderMe();
  const slot = $('dashboard-slot');
  clear(slot);
  if (me.is_admin) {
    slot.append(el('a', { href: '/dashboard', class: 'dashboard-link', dataset: { testid: 'dashboard-link' },
      'data-i18n': 'dashboard.link', text: t('dashboard.link') }),
    ' ',
    el('a', { href: '/admin', class: 'dashboard-link', dataset: { testid: 'admin-link' },
      'data-i18n': 'admin.link', text: t('admin.link') }));
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

export function endSession(notice) {
  socket.stop();
  clearInterval(state.roomsTimer);
  storeToken(null);
  remember(SIGNED_IN_KEY, null);
  for (const p of state.pending.values()) clearTimeout(p.timer);
  for (const room of state.rooms.values()) {
    for (const typist of room.typing.values()) clearTimeout(typist.timer);
    clearTimeout(room.gapTimer);
  }
  forgetSends();
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
  if (!notice) noticeInvitation();
  $('auth-username').focus();
}

export async function signOut() {
  try { await api('/api/auth/logout', { method: 'POST', auth: false }); } catch { /* gone anyway */ }
  try { sessionStorage.removeItem(STATUS_KEY); } catch { /* ignore */ }
  endSession(t('auth.signedOut'));
}
