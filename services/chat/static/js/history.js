// A room's history over HTTP: its latest page on opening, older pages while scrolling up,
// the edits made while the page was away, and a hole in the live frames that stays open.

import { api } from './api.js';
import { applyUpdate } from './edits.js';
import { showError } from './errors.js';
import { addLive } from './room-sync.js';
import { showRoom } from './room-view.js';
import { advanceContig, holdSeqs, maxSeq, minSeq, storeMessage } from './rooms.js';
import { $, state, view } from './state.js';
import { scheduleRead } from './unread.js';

const PAGE_SIZE = 50;
const GAP_WAIT_MS = 2000;

export async function loadLatest(room) {
  if (room.loadingOlder) return;
  room.loadingOlder = true;
  if (room.id === state.currentId) view.refreshTop();
  try {
    const page = await api(`/api/chat/rooms/${room.id}/messages?limit=${PAGE_SIZE}`);
    for (const msg of page.messages) storeMessage(room, msg, state.pending, state.me?.id);
    holdSeqs(room, page.thread_seqs);
    advanceContig(room);
    room.historyLoaded = true;
    room.hasMore = page.has_more;
  } catch (error) {
    showError(error);
  } finally {
    room.loadingOlder = false;
  }
  if (room.id === state.currentId) {
    showRoom(room, { keepScroll: false });
    scheduleRead();
    fillScreen(room);
  }
}

export async function loadOlder(room) {
  if (!room.hasMore || room.loadingOlder || !room.historyLoaded) return;
  const before = minSeq(room);
  if (!Number.isFinite(before)) return;
  room.loadingOlder = true;
  view.refreshTop();
  try {
    const page = await api(
      `/api/chat/rooms/${room.id}/messages?before_seq=${before}&limit=${PAGE_SIZE}`);
    const added = page.messages.filter(
      (msg) => storeMessage(room, msg, state.pending, state.me?.id));
    holdSeqs(room, page.thread_seqs);
    room.hasMore = page.has_more;
    room.loadingOlder = false;
    if (room.id === state.currentId) view.prepend(added);
  } catch (error) {
    room.loadingOlder = false;
    showError(error);
  }
  if (room.id === state.currentId) {
    view.refreshTop();
    fillScreen(room);
  }
}

/** Keep paging until the list can scroll (or the room's start is reached). */
export function fillScreen(room) {
  const box = $('messages');
  if (room.hasMore && box.scrollHeight <= box.clientHeight + 40) {
    setTimeout(() => loadOlder(room), 0);
  }
}

/** A replay carries the missed messages only: edits and deletions of messages this page
 *  already had come from the latest history page (older ones stay as they were seen). */
export async function refreshHeld(room) {
  try {
    const page = await api(`/api/chat/rooms/${room.id}/messages?limit=${PAGE_SIZE}`);
    for (const msg of page.messages) {
      const held = room.messages.get(msg.id);
      if (held && (held.edited_at !== msg.edited_at || held.is_deleted !== msg.is_deleted
                   || held.reply_count !== msg.reply_count)) {
        applyUpdate(msg);
      }
    }
  } catch { /* the live frames go on; the next reconnect tries again */ }
}

/** Live frames can overtake each other; a hole that stays open is fetched over HTTP. */
export function watchGap(room) {
  if (room.gapTimer) return;
  room.gapTimer = setTimeout(async () => {
    room.gapTimer = null;
    const top = maxSeq(room);
    if (room.contig === null || room.contig >= top || room.gapFetching) return;
    room.gapFetching = true;
    try {
      const page = await api(`/api/chat/rooms/${room.id}/messages?after_seq=${room.contig}&limit=200`);
      holdSeqs(room, page.thread_seqs);
      for (const msg of page.messages) addLive(room, msg);
      advanceContig(room);
    } catch (error) {
      if (error.status !== 401) watchGap(room);
    } finally {
      room.gapFetching = false;
    }
  }, GAP_WAIT_MS);
}
