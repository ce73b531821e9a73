// One room as the page knows it: its messages by id, the seqs it holds, how far it has every
// message (`contig`, the since_seq of the next join) and its unread counts. No DOM here.

import { mentionsMe } from './dom.js';

export function newRoom(data) {
  return {
    id: data.id, name: data.name, is_private: Boolean(data.is_private),
    last_seq: data.last_seq || 0,
    kind: data.kind || 'room', people: data.members || [], // a DM's people (js/dms.js)
    member: false, role: null,
    messages: new Map(), // id -> message
    seqs: new Set(),
    contig: null, // every message up to this seq is here (or was before we started caring)
    historyLoaded: false, hasMore: false, loadingOlder: false,
    joinState: 'none', replay: null, sinceSent: null,
    unreadBase: { count: 0, mentions: 0, last_seq: 0, read_seq: 0 },
    readSent: 0,
    typing: new Map(),
    members: new Set(), membersLoaded: false, // who is online: the page's presence map
    gapTimer: null, gapFetching: false,
  };
}

export function sortedMessages(room) {
  return [...room.messages.values()].sort((a, b) => a.seq - b.seq);
}

export function maxSeq(room) {
  let max = 0;
  for (const seq of room.seqs) if (seq > max) max = seq;
  return max;
}

export function minSeq(room) {
  let min = Infinity;
  for (const seq of room.seqs) if (seq < min) min = seq;
  return min;
}

/** A message from a frame or a page: stored once, by id; returns true if it was new. */
export function storeMessage(room, msg, pending, meId) {
  // Our own message, back from the server: its pending copy is done.
  if (msg.client_msg_id && msg.user_id === meId && pending.has(msg.client_msg_id)) {
    pending.delete(msg.client_msg_id);
  }
  const known = room.messages.get(msg.id);
  room.messages.set(msg.id, known ? { ...known, ...msg } : msg);
  room.seqs.add(msg.seq);
  room.last_seq = Math.max(room.last_seq, msg.seq);
  return !known;
}

/** Move `contig` up over every seq that is now here. */
export function advanceContig(room) {
  if (room.contig === null) return;
  while (room.seqs.has(room.contig + 1)) room.contig += 1;
}

/** The server's count as of `unreadBase.last_seq`, plus others' messages that came after. */
export function unreadOf(room, me) {
  const base = room.unreadBase;
  let count = base.count;
  let mentions = base.mentions;
  const from = Math.max(base.last_seq, base.read_seq);
  for (const msg of room.messages.values()) {
    if (msg.seq <= from || msg.is_deleted || msg.user_id === me?.id) continue;
    count += 1;
    if (mentionsMe(msg.content, me?.username)) mentions += 1;
  }
  return { count, mentions };
}
