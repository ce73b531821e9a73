// Reading a room: the "New messages" line before the first message after the read marker
// as it was when the room was opened (it stays while the room is open and moves on the
// next opening), and "Jump to first unread" while that line is above what is on screen,
// paging older history when the first unread message is not loaded yet.

import { el } from './dom.js';
import { loadOlder } from './history.js';
import { t } from './i18n.js';
import { minSeq } from './rooms.js';
import { $, current } from './state.js';
import { readMarkerOf } from './unread.js';

let line = null;
let jump = null;

/** Opening a room: remember where its unread messages start. */
export function markDivider(room) {
  room.divider = { after: readMarkerOf(room), upto: room.last_seq, seen: false };
}

function nodes() {
  if (!line) {
    line = el('div', { class: 'new-messages', role: 'separator',
      dataset: { testid: 'new-messages-divider' } }, el('span', { text: t('reading.newMessages') }));
    jump = el('button', { type: 'button', class: 'jump-unread', hidden: true,
      dataset: { testid: 'jump-unread' }, text: t('reading.jump'), onclick: jumpToUnread });
    $('messages').before(jump);
    $('messages').addEventListener('scroll', renderJump, { passive: true });
  }
  line.firstChild.textContent = t('reading.newMessages');
  jump.textContent = t('reading.jump');
  return line;
}

/** Put the line before the first unread message of the list (others', seq in range). */
export function placeDivider(view) {
  const room = view.room;
  const divider = nodes();
  const mark = room?.divider;
  let first = null;
  // Only once the list reaches back to the first unread message: a line before the oldest
  // loaded one would point at the wrong place.
  if (mark && mark.upto > mark.after && !olderUnreadMissing(room)) {
    for (const node of view.container.querySelectorAll('article.message.other')) {
      const seq = Number(node.dataset.seq);
      if (node.dataset.seq !== '' && seq > mark.after && seq <= mark.upto) {
        first = node;
        break;
      }
    }
  }
  if (first) {
    divider.dataset.afterSeq = String(mark.after);
    if (divider.nextSibling !== first) first.before(divider);
  } else divider.remove();
  requestAnimationFrame(renderJump); // after the list has scrolled where it goes
}

function olderUnreadMissing(room) {
  const mark = room.divider;
  return room.hasMore && mark.upto > mark.after && minSeq(room) > mark.after + 1;
}

function renderJump() {
  if (!jump) return;
  const room = current();
  const box = $('messages');
  const mark = room?.divider;
  let show = false;
  if (mark && !mark.seen && mark.upto > mark.after) {
    if (line.isConnected) {
      const above = line.offsetTop < box.scrollTop;
      const inView = !above && line.offsetTop < box.scrollTop + box.clientHeight;
      if (inView && box.scrollHeight > 0) mark.seen = true;
      show = above;
    } else {
      show = olderUnreadMissing(room);
    }
  }
  jump.hidden = !show || mark.seen;
}

async function jumpToUnread() {
  const room = current();
  if (!room?.divider) return;
  for (let tries = 0; tries < 50 && olderUnreadMissing(room); tries += 1) {
    if (room.loadingOlder) await new Promise((resolve) => setTimeout(resolve, 100));
    else await loadOlder(room);
  }
  if (line.isConnected) line.scrollIntoView({ block: 'start' });
  room.divider.seen = true;
  renderJump();
}
