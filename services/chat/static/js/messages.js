// The message list of the open room: ordered by seq, pending sends at the end, history
// prepended without moving what the reader is looking at. Content is text nodes only.

import { addAttachments } from './attachments.js';
import { avatarFor } from './avatars.js';
import { botBadge } from './bots.js';
import { clear, el, mentionsMe, renderContent } from './dom.js';
import { placeDivider } from './divider.js';
import { formatFull, formatTime, t } from './i18n.js';
import { decorateMessage } from './marks.js';
import { openProfileCard } from './people-panel.js';
import { nameOf } from './people.js';
import { inTimeline } from './rooms.js';
import { threadLine } from './threads.js';

const NEAR_BOTTOM_PX = 80;

export class MessageView {
  /**
   * actions: onEdit(msg, content), onDelete(msg), onRetry(pending), onDiscard(pending),
   * onNearTop().
   */
  constructor(container, actions) {
    this.container = container;
    this.actions = actions;
    this.me = null;
    this.room = null;
    this.nodes = new Map(); // 'm<id>' or 'p<client_msg_id>' -> element
    this.top = el('div', { class: 'history-status muted small' });
    this.emptyNote = el('p', { class: 'empty-room muted' });
    container.addEventListener('scroll', () => {
      if (container.scrollTop < 120) this.actions.onNearTop();
    }, { passive: true });
  }

  setMe(me) {
    this.me = me;
  }

  isNearBottom() {
    const c = this.container;
    return c.scrollHeight - c.scrollTop - c.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.container.scrollTop = this.container.scrollHeight;
  }

  /** Render `room` from scratch: its messages (sorted) and its pending sends. */
  show(room, messages, pendings, { keepScroll = false } = {}) {
    const wasNearBottom = this.isNearBottom();
    const oldTop = this.container.scrollTop;
    this.room = room;
    this.nodes.clear();
    clear(this.container);
    this.container.append(this.top);
    for (const msg of messages) {
      const node = this.build(msg, false);
      this.nodes.set(`m${msg.id}`, node);
      this.container.append(node);
    }
    for (const p of pendings) {
      const node = this.build(p, true);
      this.nodes.set(`p${p.client_msg_id}`, node);
      this.container.append(node);
    }
    this.container.append(this.emptyNote);
    this.refreshTop();
    placeDivider(this);
    if (keepScroll && !wasNearBottom) this.container.scrollTop = oldTop;
    else this.scrollToBottom();
  }

  hide() {
    this.room = null;
    this.nodes.clear();
    clear(this.container);
  }

  /** Loading/has-more/beginning line at the top, and the "no messages yet" note. */
  refreshTop() {
    const room = this.room;
    if (!room) return;
    if (room.loadingOlder) this.top.textContent = t('history.loading');
    else if (!room.hasMore && room.historyLoaded) {
      this.top.textContent = t('history.start', { room: room.name });
    } else this.top.textContent = '';
    const any = this.nodes.size > 0;
    this.emptyNote.textContent = any || !room.historyLoaded ? '' : t('rooms.empty');
    this.emptyNote.hidden = any || !room.historyLoaded;
  }

  /** A confirmed message: new, changed, or the confirmation of a pending send. */
  upsert(msg) {
    if (!inTimeline(msg)) return; // a thread-only reply: its thread shows it
    const stick = this.isNearBottom() || msg.user_id === this.me?.id;
    const key = `m${msg.id}`;
    let node = this.nodes.get(key);
    const pendingKey = msg.client_msg_id ? `p${msg.client_msg_id}` : null;
    if (!node && pendingKey && this.nodes.has(pendingKey)) {
      // The pending bubble becomes the message: no flicker, no duplicate.
      this.nodes.get(pendingKey).remove();
      this.nodes.delete(pendingKey);
      node = this.build(msg, false);
      this.place(node, msg.seq);
    } else if (node) {
      const fresh = this.build(msg, false);
      node.replaceWith(fresh);
      this.nodes.set(key, fresh);
    } else {
      node = this.build(msg, false);
      this.place(node, msg.seq);
    }
    this.refreshTop();
    placeDivider(this);
    if (stick) this.scrollToBottom();
  }

  /** Older messages at the top, keeping the reader's place. */
  prepend(messages) {
    const c = this.container;
    const before = c.scrollHeight - c.scrollTop;
    for (const msg of messages) {
      if (this.nodes.has(`m${msg.id}`) || !inTimeline(msg)) continue;
      this.place(this.build(msg, false), msg.seq);
    }
    this.refreshTop();
    placeDivider(this);
    c.scrollTop = c.scrollHeight - before;
  }

  upsertPending(p) {
    const key = `p${p.client_msg_id}`;
    const node = this.build(p, true);
    const old = this.nodes.get(key);
    if (old) old.replaceWith(node);
    else this.container.insertBefore(node, this.emptyNote);
    this.nodes.set(key, node);
    this.refreshTop();
    this.scrollToBottom();
  }

  removePending(clientMsgId) {
    const key = `p${clientMsgId}`;
    const node = this.nodes.get(key);
    if (node) node.remove();
    this.nodes.delete(key);
    this.refreshTop();
  }

  /** Insert a confirmed message's node before the first confirmed node with a higher seq. */
  place(node, seq) {
    this.nodes.set(`m${node.dataset.messageId}`, node);
    let anchor = this.emptyNote;
    // Pending sends stay last; confirmed messages are found by walking back from them.
    let cursor = this.emptyNote.previousElementSibling;
    while (cursor && cursor !== this.top) {
      const cursorSeq = cursor.dataset.seq === '' ? Infinity : Number(cursor.dataset.seq);
      if (cursorSeq < seq) break;
      anchor = cursor;
      cursor = cursor.previousElementSibling;
    }
    this.container.insertBefore(node, anchor);
  }

  build(msg, pending) {
    const me = this.me;
    const own = me !== null && (pending || msg.user_id === me.id);
    const author = pending ? me.username : (msg.username || '?');
    const shown = pending ? (me.display_name || me.username)
      : msg.author_label || nameOf(msg.user_id, msg.display_name || msg.username);
    const state = pending ? msg.state : 'sent';
    const node = el('article', {
      class: `message ${own ? 'own' : 'other'}${msg.is_deleted ? ' deleted' : ''}`,
      dataset: {
        testid: 'message',
        messageId: pending ? '' : String(msg.id),
        seq: pending ? '' : String(msg.seq),
        author,
        state,
        clientMsgId: msg.client_msg_id || '',
      },
    });
    const avatar = avatarFor(pending ? me.id : msg.user_id, shown, author);
    const time = el('time', {
      class: 'message-time', dataset: { testid: 'message-time' },
      datetime: msg.created_at, title: formatFull(msg.created_at),
      text: formatTime(msg.created_at),
    });
    const head = el('div', { class: 'message-head' },
      el('span', { class: 'message-author', dataset: { testid: 'message-author', userCard: '1' },
        text: shown, title: `@${author}`,
        onclick: (event) => openProfileCard(pending ? me.id : msg.user_id, event.currentTarget) }),
      pending ? null : botBadge(msg),
      time);
    if (msg.edited_at && !msg.is_deleted) {
      head.append(el('span', { class: 'message-edited', dataset: { testid: 'message-edited' },
        title: formatFull(msg.edited_at), text: t('messages.edited') }));
    }
    if (pending) {
      head.append(el('span', { class: `message-status ${state}`,
        text: state === 'failed' ? t('messages.failed') : t('messages.sending') }));
    }
    const content = el('div', { class: 'message-content', dataset: { testid: 'message-content' } });
    if (msg.is_deleted) content.textContent = t('messages.deleted');
    else renderContent(content, msg.content, me?.username);
    if (!pending && !msg.is_deleted && me && !own && mentionsMe(msg.content, me.username)) {
      node.classList.add('mentions-me');
    }
    const bubble = el('div', { class: 'bubble' }, head, content);
    addAttachments(bubble, msg);
    const actions = this.actionsFor(msg, pending, own, node, content);
    if (actions) bubble.append(actions);
    if (!pending) decorateMessage(node, head, bubble, msg);
    if (!pending) bubble.append(...threadLine(msg));
    node.append(avatar, bubble);
    return node;
  }

  actionsFor(msg, pending, own, node, content) {
    if (pending && msg.state === 'failed') {
      return el('div', { class: 'message-actions always' },
        el('button', { type: 'button', class: 'link-button', dataset: { testid: 'message-retry' },
          text: t('messages.retry'), onclick: () => this.actions.onRetry(msg) }),
        el('button', { type: 'button', class: 'link-button', dataset: { testid: 'message-discard' },
          text: t('messages.discard'), onclick: () => this.actions.onDiscard(msg) }));
    }
    if (pending || !own || msg.is_deleted) return null;
    return el('div', { class: 'message-actions' },
      el('button', { type: 'button', class: 'link-button', dataset: { testid: 'message-edit' },
        text: t('messages.edit'), onclick: () => this.startEdit(msg, node, content) }),
      el('button', { type: 'button', class: 'link-button', dataset: { testid: 'message-delete' },
        text: t('messages.delete'), onclick: () => this.actions.onDelete(msg) }));
  }

  startEdit(msg, node, content) {
    if (node.querySelector('.message-edit-input')) return;
    const input = el('textarea', { // keeps the lines of a code block or a list
      class: 'message-edit-input', dataset: { testid: 'message-edit-input' },
      rows: Math.min(8, msg.content.split('\n').length),
      'aria-label': t('messages.edit'), title: t('messages.editHint'), maxlength: 4000,
    });
    input.value = msg.content;
    const hint = el('span', { class: 'muted small', text: t('messages.editHint') });
    const editor = el('div', { class: 'message-editor' }, input, hint);
    content.hidden = true;
    content.after(editor);
    const finish = () => {
      editor.remove();
      content.hidden = false;
    };
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        const text = input.value.trim();
        finish();
        if (text && text !== msg.content) this.actions.onEdit(msg, text);
      } else if (event.key === 'Escape') {
        event.preventDefault();
        finish();
      }
    });
    input.addEventListener('blur', () => setTimeout(() => {
      if (editor.isConnected && document.activeElement !== input) finish();
    }, 150));
    input.focus();
    input.select();
  }
}
