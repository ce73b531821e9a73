// Tertulia's chat page: the composition root. Each concept is a module under js/ (see
// docs/architecture.md, The chat page); this file makes the three objects that live as long
// as the page, binds the page's controls to the modules' handlers, and starts.
// The frames and endpoints are those of docs/protocol.md.

import { api, setUnauthorizedHandler, storedToken } from './js/api.js';
import { handleClose, handleFrame, renderConnection } from './js/connection.js';
import { bindDms } from './js/dms.js';
import { deleteMessage, editMessage } from './js/edits.js';
import { showError } from './js/errors.js';
import { loadOlder } from './js/history.js';
import { applyI18n, detectLang, lang, onLangChange, setLang, t } from './js/i18n.js';
import { setSidebar } from './js/layout.js';
import { bindAutocomplete } from './js/autocomplete.js';
import { bindComposerFiles } from './js/composer-files.js';
import { bindPeoplePanel } from './js/people-panel.js';
import { bindProfile } from './js/profile.js';
import { invite, joinCurrent, leaveCurrent } from './js/members.js';
import { MessageView } from './js/messages.js';
import { bindModeration } from './js/moderation.js';
import { bindDesktopButton, Inbox } from './js/notify.js';
import { bindPins } from './js/pins.js';
import { renderOnline } from './js/presence.js';
import { renderRoomChrome } from './js/room-header.js';
import { createRoom, renderRooms } from './js/room-list.js';
import { refreshRooms } from './js/room-sync.js';
import { selectRoom } from './js/room-view.js';
import { sortedMessages } from './js/rooms.js';
import { renderPending, sendComposer, transmit } from './js/sending.js';
import { endSession, onAuthSubmit, signOut, startSession } from './js/session.js';
import { ChatSocket } from './js/socket.js';
import { bindSearch } from './js/search.js';
import { openThread } from './js/threads.js';
import {
  $, attach, current, inbox, pendingOf, recall, SIGNED_IN_KEY, socket, state, STATUS_KEY, view,
} from './js/state.js';
import { onComposerInput, renderTyping, stopTyping } from './js/typing.js';
import { renderBadge, scheduleRead } from './js/unread.js';
import { sendView } from './js/view-report.js';

// The three objects that live as long as the page, wired to the handlers of the modules.
attach({
  view: new MessageView($('messages'), {
    onEdit: editMessage,
    onDelete: deleteMessage,
    onRetry: (p) => { p.state = 'pending'; renderPending(p); transmit(p); },
    onDiscard: (p) => {
      state.pending.delete(p.client_msg_id);
      view.removePending(p.client_msg_id);
    },
    onNearTop: () => { const room = current(); if (room) loadOlder(room); },
  }),
  socket: new ChatSocket({
    onFrame: handleFrame,
    onState: renderConnection,
    onOpen: () => { state.authSent = false; },
    onClose: handleClose,
  }),
  inbox: new Inbox({
    onOpenRoom: (id, threadRootId) => {
      selectRoom(id);
      if (threadRootId) openThread(id, threadRootId);
    },
    onError: showError,
  }),
});

let refreshDesktopButton = () => {};

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
  bindDms();
  $('join-room').addEventListener('click', joinCurrent);
  $('leave-room').addEventListener('click', leaveCurrent);
  bindPins();
  bindModeration();
  bindSearch();
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
  bindAutocomplete();
  bindComposerFiles();
  bindPeoplePanel();
  bindProfile();
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
