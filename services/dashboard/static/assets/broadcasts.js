// Broadcasts: the list with each one's reach and reads, and the form that sends one.

import { log } from './activity.js';
import { $, fmt, formatTime, make, text } from './dom.js';
import { plural, t } from './i18n.js';
import { view } from './state.js';

const BROADCAST_URL = '/api/dashboard/broadcast';

/** A broadcast from the stream or from the page's own POST: listed, and logged once. */
export function noteBroadcast(b) {
  if (!view.broadcastsLogged.has(b.broadcast_id)) {
    view.broadcastsLogged.add(b.broadcast_id);
    log(t('activity.broadcast', { content: b.content }), b.sent_at);
  }
  view.broadcasts.set(b.broadcast_id, b);
  renderBroadcasts();
}

export function renderBroadcasts() {
  const list = $('broadcasts');
  list.replaceChildren();
  const items = [...view.broadcasts.values()].sort((a, b) => Date.parse(b.sent_at) - Date.parse(a.sent_at));
  for (const b of items) {
    const li = make('li');
    li.append(make('div', 'content', b.content));
    const read = b.read === null ? t('broadcast.readUnknown') : t('broadcast.read', { n: fmt(b.read) });
    li.append(make('div', 'meta', t('broadcast.meta', {
      time: formatTime(b.sent_at), sent: fmt(b.sent_to), users: fmt(b.users_reached),
      replicas: fmt(b.replicas), expected: fmt(b.expected_replicas), inboxes: fmt(b.inboxes),
      read })));
    list.append(li);
  }
}

/** The broadcast form: a count of characters as one types, and the POST's answer shown
 *  and listed (the stream's delta may come first or after). */
export function wireBroadcastForm() {
  const textarea = $('broadcast-text');
  const count = () => text($('broadcast-count'),
    t('broadcast.count', { n: textarea.value.length, max: textarea.maxLength }));
  textarea.addEventListener('input', count);
  count();

  $('broadcast-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const content = textarea.value.trim();
    if (!content) return;
    const result = $('broadcast-result');
    const button = $('broadcast-send');
    button.disabled = true;
    result.className = 'small';
    result.textContent = t('broadcast.sending');
    try {
      const response = await fetch(BROADCAST_URL, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ content }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.detail || body.title || `HTTP ${response.status}`);
      result.className = 'small result-ok';
      result.textContent = body.replicas
        ? plural('broadcast.delivered', body.replicas, { sent: fmt(body.sent_to),
          total: fmt(body.total_connections), users: fmt(body.users_reached) })
        : t('broadcast.unconfirmed', { total: fmt(body.total_connections) });
      noteBroadcast(body);
      textarea.value = '';
      count();
    } catch (err) {
      result.className = 'small result-bad';
      result.textContent = t('broadcast.failed', { detail: err.message });
    } finally {
      button.disabled = false;
    }
  });
}
