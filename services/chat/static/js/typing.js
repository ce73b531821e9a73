// Typing indicators: this user's, sent at most every 2 s while the composer has text and
// stopped after 3 s idle; others', shown until they stop, post, or 5 s pass.

import { typingText } from './i18n.js';
import { autosize } from './layout.js';
import { nameOf } from './people.js';
import { $, current, socket, state } from './state.js';

const TYPING_SEND_EVERY_MS = 2000;
const TYPING_IDLE_MS = 3000;
const TYPING_EXPIRE_MS = 5000;

export function onComposerInput() {
  autosize();
  const room = current();
  if (!room || !room.member || room.joinState !== 'joined') return;
  if (!$('composer').value.trim()) {
    stopTyping();
    return;
  }
  const now = Date.now();
  if (now - state.typingSentAt >= TYPING_SEND_EVERY_MS) {
    if (socket.send({ type: 'typing', room_id: room.id, is_typing: true })) {
      state.typingSentAt = now;
      state.typingRoom = room.id;
    }
  }
  clearTimeout(state.typingIdle);
  state.typingIdle = setTimeout(stopTyping, TYPING_IDLE_MS);
}

export function stopTyping() {
  clearTimeout(state.typingIdle);
  if (state.typingRoom !== null) {
    socket.send({ type: 'typing', room_id: state.typingRoom, is_typing: false });
  }
  state.typingRoom = null;
  state.typingSentAt = 0; // typing again right after a send shows at once
}

export function onTyping(data) {
  const room = state.rooms.get(data.room_id);
  if (!room || data.user_id === state.me?.id) return;
  const old = room.typing.get(data.user_id);
  if (old) clearTimeout(old.timer);
  if (data.is_typing) {
    const timer = setTimeout(() => {
      room.typing.delete(data.user_id);
      if (room.id === state.currentId) renderTyping();
    }, TYPING_EXPIRE_MS);
    room.typing.set(data.user_id, { username: data.username, timer });
  } else {
    room.typing.delete(data.user_id);
  }
  if (room.id === state.currentId) renderTyping();
}

export function renderTyping() {
  const room = current();
  const names = room ? [...room.typing].map(([id, u]) => nameOf(id, u.username)) : [];
  const box = $('typing');
  box.textContent = typingText(names);
  box.hidden = names.length === 0;
}
