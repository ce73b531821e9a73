// Toasts, desktop notifications and the notifications inbox (the bell).

import { api } from './api.js';
import { clear, el, icon } from './dom.js';
import { formatFull, formatTime, t } from './i18n.js';
import { plainText } from './markdown.js';

const TOAST_MS = { notification: 7000, broadcast: 12000, error: 8000 };
// Toasts must not cover the conversation: a few at most, the newest replacing the oldest.
const MAX_TOASTS = 3;

/** `key` (e.g. one room's notifications): a new toast with the same key replaces the old. */
export function toast(kind, title, body, { onClick, key } = {}) {
  const box = document.getElementById('toasts');
  if (key) dismissToasts(key);
  while (box.children.length >= MAX_TOASTS) box.firstElementChild.remove();
  const close = el('button', { type: 'button', class: 'toast-close', 'aria-label': t('common.close') },
    icon('close'));
  const node = el('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status',
    dataset: key ? { testid: 'toast', kind, key } : { testid: 'toast', kind } },
  el('div', { class: 'toast-text' },
    title ? el('strong', { class: 'toast-title', text: title }) : null,
    body ? el('p', { class: 'toast-body', text: body }) : null),
  close);
  const remove = () => node.remove();
  close.addEventListener('click', (event) => { event.stopPropagation(); remove(); });
  if (onClick) {
    node.classList.add('clickable');
    node.addEventListener('click', () => { onClick(); remove(); });
  }
  box.append(node);
  setTimeout(remove, TOAST_MS[kind] || 7000);
  return node;
}

/** Take down the toasts of one key (a room that has just been read). */
export function dismissToasts(key) {
  for (const node of [...document.getElementById('toasts').children]) {
    if (node.dataset.key === key) node.remove();
  }
}

// --- desktop notifications ----------------------------------------------------------------

export function desktopSupported() {
  return 'Notification' in window;
}

/** Only when the page is not in front: in front, the toast says it already. */
export function desktop(title, body, onClick) {
  if (!desktopSupported() || Notification.permission !== 'granted') return;
  if (document.visibilityState === 'visible' && document.hasFocus()) return;
  try {
    const n = new Notification(title, { body, icon: '/static/icon.svg', tag: `${title}:${body}` });
    n.onclick = () => { window.focus(); if (onClick) onClick(); n.close(); };
  } catch { /* some browsers allow notifications from a service worker only */ }
}

export function bindDesktopButton(button) {
  const refresh = () => {
    if (!desktopSupported()) {
      button.hidden = true;
      return;
    }
    const permission = Notification.permission;
    button.textContent = t(permission === 'granted' ? 'notify.enabled'
      : permission === 'denied' ? 'notify.denied' : 'notify.enable');
    button.disabled = permission !== 'default';
  };
  button.addEventListener('click', async () => {
    if (!desktopSupported()) return;
    try { await Notification.requestPermission(); } catch { /* old callback form */ }
    refresh();
  });
  refresh();
  return refresh;
}

// --- the inbox ------------------------------------------------------------------------------

export class Inbox {
  /** onOpenRoom(roomId, threadRootId); onError(error). */
  constructor({ onOpenRoom, onError }) {
    this.onOpenRoom = onOpenRoom;
    this.onError = onError;
    this.button = document.getElementById('inbox-button');
    this.badge = document.getElementById('inbox-count');
    this.panel = document.getElementById('inbox');
    this.list = document.getElementById('inbox-list');
    this.empty = document.getElementById('inbox-empty');
    this.more = document.getElementById('inbox-more');
    this.count = 0;
    this.items = [];
    this.nextBefore = null;
    this.available = true;
    this.refreshTimer = null;
    this.button.addEventListener('click', (event) => {
      event.stopPropagation();
      if (this.panel.hidden) this.open(); else this.close();
    });
    this.panel.addEventListener('click', (event) => event.stopPropagation());
    document.addEventListener('click', () => this.close());
    document.addEventListener('keydown', (event) => { if (event.key === 'Escape') this.close(); });
    document.getElementById('inbox-mark-all').addEventListener('click', () => this.markAll());
    this.more.addEventListener('click', () => this.load(true));
  }

  reset() {
    this.count = 0;
    this.items = [];
    this.nextBefore = null;
    this.close();
    this.setCount(0);
  }

  setCount(count) {
    this.count = Math.max(0, count);
    this.badge.textContent = this.count > 99 ? '99+' : String(this.count);
    this.badge.hidden = this.count === 0;
    this.button.classList.toggle('has-unread', this.count > 0);
  }

  async refreshCount() {
    try {
      const body = await api('/api/notifications/unread-count');
      this.available = true;
      this.setCount(body.count);
    } catch (error) {
      // Without the notifications service (chat on its own) the bell simply stays quiet.
      if (error.status === 404 || error.status === 0 || error.status >= 500) this.available = false;
    }
  }

  /** Soon, once: a read marker moved and the notifications service clears entries by itself. */
  refreshSoon() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      this.refreshCount();
      if (!this.panel.hidden) this.load(false);
    }, 1200);
  }

  /** A `notification` frame. */
  add(notification) {
    if (!notification.read) this.setCount(this.count + 1);
    if (!this.items.some((n) => n.id === notification.id)) this.items.unshift(notification);
    if (!this.panel.hidden) this.render();
  }

  open() {
    this.panel.hidden = false;
    this.button.setAttribute('aria-expanded', 'true');
    this.load(false);
  }

  close() {
    if (this.panel.hidden) return;
    this.panel.hidden = true;
    this.button.setAttribute('aria-expanded', 'false');
  }

  async load(older) {
    const query = new URLSearchParams({ limit: '30' });
    if (older && this.nextBefore) query.set('before', this.nextBefore);
    try {
      const page = await api(`/api/notifications?${query}`);
      this.items = older ? this.items.concat(page.notifications) : page.notifications;
      this.nextBefore = page.has_more ? page.next_before : null;
      if (!older) this.refreshCount();
      this.render();
    } catch (error) {
      this.onError(error);
    }
  }

  render() {
    clear(this.list);
    for (const n of this.items) this.list.append(this.item(n));
    this.empty.hidden = this.items.length > 0;
    this.more.hidden = !this.nextBefore;
  }

  item(n) {
    const reason = n.reason || n.data?.kind || 'message';
    const node = el('li', {
      class: `inbox-item${n.read ? '' : ' unread'}`,
      dataset: { testid: 'inbox-item', notificationId: n.id, read: String(Boolean(n.read)) },
    });
    const main = el('button', { type: 'button', class: 'inbox-main' },
      el('span', { class: 'inbox-title', text: n.title || '' }),
      el('span', { class: 'inbox-content', text: plainText(n.content || '') || t('files.noText') }),
      el('span', { class: 'inbox-meta' },
        el('span', { class: `reason reason-${reason}`, text: t(`inbox.reason.${reason}`) }),
        el('time', { datetime: n.created_at, title: formatFull(n.created_at),
          text: formatTime(n.created_at) })));
    main.addEventListener('click', async () => {
      await this.markRead(n);
      const roomId = n.data?.room_id;
      if (roomId) {
        this.close();
        this.onOpenRoom(roomId, n.data?.thread_root_id);
      }
    });
    node.append(main);
    if (!n.read) {
      node.append(el('button', { type: 'button', class: 'link-button small inbox-read',
        dataset: { testid: 'inbox-item-read' }, title: t('inbox.markRead'),
        'aria-label': t('inbox.markRead'), onclick: () => this.markRead(n) }, icon('check', 14)));
    }
    return node;
  }

  async markRead(n) {
    if (n.read) return;
    try {
      const updated = await api(`/api/notifications/${encodeURIComponent(n.id)}/read`,
        { method: 'POST' });
      Object.assign(n, updated || { read: true });
      n.read = true;
      this.setCount(this.count - 1);
      this.render();
      this.refreshCount();
    } catch (error) {
      this.onError(error);
    }
  }

  async markAll() {
    try {
      await api('/api/notifications/read-all', { method: 'POST' });
      for (const n of this.items) n.read = true;
      this.setCount(0);
      this.render();
    } catch (error) {
      this.onError(error);
    }
  }
}

/** One toast per room: a second notification of the same room replaces the first. */
export function roomToast(roomId) {
  return `room-${roomId}`;
}
