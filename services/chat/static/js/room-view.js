// The open room: picking one (from the list, the address or a notification), showing it,
// and closing it when it goes away.

import { fillScreen, loadLatest } from './history.js';
import { setSidebar } from './layout.js';
import { loadMembers } from './members.js';
import { renderOnline } from './presence.js';
import { markDivider } from './divider.js';
import { renderRoomChrome } from './room-header.js';
import { renderRooms } from './room-list.js';
import { joinRoom } from './room-sync.js';
import { closeThread } from './threads.js';
import { sortedMessages } from './rooms.js';
import { $, current, pendingOf, remember, socket, state, view } from './state.js';
import { renderTyping, stopTyping } from './typing.js';
import { scheduleRead } from './unread.js';
import { sendView } from './view-report.js';

export function selectRoom(id) {
  const room = state.rooms.get(Number(id));
  if (!room) return;
  if (room.id === state.currentId) {
    setSidebar(false);
    return;
  }
  const previous = current();
  if (previous && previous.id !== room.id) {
    stopTyping();
    // A visitor's view of a public room is not kept live after leaving it.
    if (!previous.member && previous.joinState !== 'none') {
      socket.send({ type: 'leave', room_id: previous.id });
      previous.joinState = 'none';
    }
  }
  state.currentId = room.id;
  if (location.hash !== `#/rooms/${room.id}`) history.replaceState(null, '', `#/rooms/${room.id}`);
  remember(`tertulia.room.${state.me.username}`, String(room.id));
  setSidebar(false);
  closeThread();
  markDivider(room);
  showRoom(room, { keepScroll: false });
  if (room.joinState === 'none') joinRoom(room);
  else if (!room.historyLoaded && room.joinState === 'joined') loadLatest(room);
  if (!room.membersLoaded) loadMembers(room);
  renderRooms();
  scheduleRead();
  sendView();
  if (room.member) $('composer').focus({ preventScroll: true });
}

export function showRoom(room, opts) {
  $('welcome').hidden = true;
  $('messages').hidden = false;
  view.show(room, sortedMessages(room), pendingOf(room.id), opts);
  renderRoomChrome();
  renderTyping();
  renderOnline();
  if (room.historyLoaded) fillScreen(room);
}

export function closeRoomView() {
  state.currentId = null;
  closeThread();
  sendView();
  view.hide();
  history.replaceState(null, '', location.pathname);
  renderRoomChrome();
  renderTyping();
  renderOnline();
}
