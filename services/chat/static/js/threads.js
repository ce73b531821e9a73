// Threads: under each message of the room, "N replies · last reply <time>" and "Reply in
// thread"; the thread panel beside the room (over it at phone width) with the root, its
// replies (live: `message` frames that name the root, `thread_updated` for the count) and
// its own composer with "Also send to room". Replies are posted over HTTP with a
// client_msg_id; the reply's own `message` frame, or the answer, adds it once (by id).

import { api } from './api.js';
import { addAttachments } from './attachments.js';
import { botBadge } from './bots.js';
import { clear, el, renderContent } from './dom.js';
import { showError } from './errors.js';
import { formatFull, formatTime, t } from './i18n.js';
import { toast } from './notify.js';
import { newClientMsgId } from './sending.js';
import { $, state, view } from './state.js';
import { bindPaste, UploadTray } from './uploads.js';

const PAGE = 200;
let open = null; // { roomId, rootId, root, replies: Map id -> message }
let panel = null;
let tray = null; // the thread composer's files

/** The thread line of a message in the room's list (nothing for a deleted message without
 *  replies); for a reply also sent to the room, a link to its thread. */
export function threadLine(msg) {
  if (msg.thread_root_id != null) {
    return [el('button', { type: 'button', class: 'link-button small thread-link',
      dataset: { testid: 'in-thread' }, text: t('threads.inThread'),
      onclick: () => openThread(msg.room_id, msg.thread_root_id) })];
  }
  const parts = [];
  if (msg.reply_count > 0) {
    const count = msg.reply_count === 1 ? t('threads.replies.one')
      : t('threads.replies.many', { count: msg.reply_count });
    const last = msg.last_reply_at
      ? ` · ${t('threads.lastReply', { time: formatTime(msg.last_reply_at) })}` : '';
    parts.push(el('button', { type: 'button', class: 'link-button small thread-summary',
      dataset: { testid: 'thread-summary' }, title: formatFull(msg.last_reply_at),
      text: count + last, onclick: () => openThread(msg.room_id, msg.id) }));
  }
  if (!msg.is_deleted) {
    parts.push(el('button', { type: 'button', class: 'link-button small thread-reply',
      dataset: { testid: 'reply-in-thread' }, text: t('threads.reply'),
      onclick: () => openThread(msg.room_id, msg.id) }));
  }
  return parts.length ? [el('div', { class: 'thread-line' }, ...parts)] : [];
}

function build() {
  if (panel) return panel;
  const list = el('div', { id: 'thread-messages', class: 'thread-messages',
    dataset: { testid: 'thread-messages' } });
  const input = el('textarea', { id: 'thread-composer', rows: 2, maxlength: 4000,
    dataset: { testid: 'thread-composer' }, 'data-i18n-placeholder': 'threads.placeholder',
    'data-i18n-aria-label': 'threads.placeholder' });
  const also = el('input', { id: 'thread-also-send', type: 'checkbox',
    dataset: { testid: 'thread-also-send' } });
  const trayNode = el('div', { class: 'upload-tray', dataset: { testid: 'thread-upload-tray' },
    hidden: true });
  tray = new UploadTray(trayNode);
  const files = el('input', { type: 'file', multiple: true, hidden: true, tabindex: '-1',
    'aria-hidden': 'true', dataset: { testid: 'thread-attach-input' } });
  files.addEventListener('change', () => { tray.add(files.files); files.value = ''; });
  bindPaste(input, (chosen) => tray.add(chosen));
  const attach = el('button', { type: 'button', class: 'link-button small',
    dataset: { testid: 'thread-attach-button' }, 'data-i18n': 'files.attach',
    text: t('files.attach'), onclick: () => files.click() });
  const form = el('form', { class: 'thread-composer' }, trayNode, input, files,
    el('div', { class: 'thread-composer-row' }, attach,
      el('label', { class: 'small', for: 'thread-also-send' }, also,
        el('span', { 'data-i18n': 'threads.alsoSend', text: t('threads.alsoSend') })),
      el('button', { type: 'submit', dataset: { testid: 'thread-send' },
        'data-i18n': 'threads.send', text: t('threads.send') })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    sendReply();
  });
  input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendReply();
    }
  });
  panel = $('thread-panel');
  panel.append(
    el('header', { class: 'thread-head' },
      el('h2', { 'data-i18n': 'threads.title', text: t('threads.title') }),
      el('button', { type: 'button', class: 'icon-button', dataset: { testid: 'thread-close' },
        'data-i18n-aria-label': 'threads.close', 'aria-label': t('threads.close'),
        text: '×', onclick: closeThread })),
    list, form);
  return panel;
}

export async function openThread(roomId, rootId) {
  build();
  open = { roomId, rootId, root: null, replies: new Map() };
  const mine = open;
  panel.hidden = false;
  document.body.classList.add('thread-open');
  input().placeholder = t('threads.placeholder');
  input().setAttribute('aria-label', t('threads.placeholder'));
  $('thread-also-send').checked = false;
  render();
  try {
    let after = null;
    for (;;) {
      const query = after === null ? `limit=${PAGE}` : `after_seq=${after}&limit=${PAGE}`;
      const page = await api(`/api/chat/messages/${rootId}/thread?${query}`);
      if (open !== mine) return;
      open.root = page.root;
      open.rootId = page.root.id;
      for (const msg of page.messages) open.replies.set(msg.id, msg);
      if (!page.has_more || page.messages.length === 0) break;
      after = page.messages[page.messages.length - 1].seq;
    }
  } catch (error) {
    showError(error);
  }
  if (open === mine) render();
  input().focus({ preventScroll: true });
}

export function closeThread() {
  open = null;
  tray?.clear();
  if (!panel) return;
  panel.hidden = true;
  document.body.classList.remove('thread-open');
}

function input() {
  return $('thread-composer');
}

function bubble(msg, root) {
  const content = el('div', { class: 'message-content', dataset: { testid: 'message-content' } });
  if (msg.is_deleted) content.textContent = t('messages.deleted');
  else renderContent(content, msg.content, state.me?.username);
  const files = el('div', { class: 'attachments-slot' });
  addAttachments(files, msg);
  return el('article', {
    class: `message thread-message${root ? ' thread-root' : ''}`,
    dataset: { testid: root ? 'thread-root' : 'thread-reply', messageId: String(msg.id),
      seq: String(msg.seq), author: msg.username },
  }, el('div', { class: 'bubble' },
    el('div', { class: 'message-head' },
      el('span', { class: 'message-author',
        text: msg.author_label || msg.display_name || msg.username }),
      botBadge(msg),
      el('time', { class: 'message-time', datetime: msg.created_at,
        title: formatFull(msg.created_at), text: formatTime(msg.created_at) })),
    content, ...files.childNodes));
}

function render() {
  if (!panel || !open) return;
  const list = $('thread-messages');
  clear(list);
  if (!open.root) {
    list.append(el('p', { class: 'muted small', text: t('threads.loading') }));
    return;
  }
  list.append(bubble(open.root, true));
  const replies = [...open.replies.values()].sort((a, b) => a.seq - b.seq);
  for (const msg of replies) list.append(bubble(msg, false));
  list.scrollTop = list.scrollHeight;
}

async function sendReply() {
  if (!open?.root) return;
  const content = input().value.trim();
  if (tray.busy) {
    toast('error', null, t('files.wait'));
    return;
  }
  const ids = tray.files.map((f) => f.id);
  if (!content && !ids.length) return;
  const target = open;
  const body = { content, client_msg_id: newClientMsgId(), thread_root_id: target.rootId,
    also_send_to_room: $('thread-also-send').checked };
  if (ids.length) body.attachment_ids = ids;
  input().value = '';
  try {
    const msg = await api(`/api/chat/rooms/${target.roomId}/messages`, { method: 'POST', body });
    tray.clear(); // a refused reply keeps its files for another try
    if (open === target) {
      open.replies.set(msg.id, { ...(open.replies.get(msg.id) || {}), ...msg });
      render();
    }
  } catch (error) {
    if (open === target && !input().value) input().value = content;
    showError(error);
  }
}

/** A message the room got (live, replayed, edited): a reply of the open thread shows. */
export function noteThreadMessage(room, msg) {
  if (!msg || !open || room.id !== open.roomId) return;
  if (msg.thread_root_id === open.rootId) {
    open.replies.set(msg.id, { ...(open.replies.get(msg.id) || {}), ...msg });
    render();
  } else if (msg.id === open.rootId && open.root) {
    open.root = { ...open.root, ...msg };
    render();
  }
}

/** `thread_updated`: the root's count and latest reply, in the room and in the panel. */
export function onThreadUpdated(data) {
  const room = state.rooms.get(data.room_id);
  if (!room) return;
  const root = room.messages.get(data.root_id);
  if (root) {
    const updated = { ...root, reply_count: data.reply_count, last_reply_at: data.last_reply_at };
    room.messages.set(root.id, updated);
    if (room.id === state.currentId) view.upsert(updated);
  }
  if (open && open.rootId === data.root_id && open.root) {
    open.root = { ...open.root, reply_count: data.reply_count,
      last_reply_at: data.last_reply_at };
  }
}
