// Search: the header's search box, the results panel (each result's room, author, time and
// its words with the matched ones in <mark> elements, built as DOM nodes, never HTML), more
// results on demand, and a result opened in context: its room, older history paged until the
// message is loaded, scrolled to and highlighted (a thread-only reply opens its thread).

import { api } from './api.js';
import { nameOf } from './dms.js';
import { clear, el } from './dom.js';
import { showError } from './errors.js';
import { loadOlder } from './history.js';
import { formatFull, t } from './i18n.js';
import { selectRoom } from './room-view.js';
import { minSeq } from './rooms.js';
import { $, state, view } from './state.js';
import { openThread } from './threads.js';

const PAGE = 20;
const MAX_PAGES_BACK = 100;
let shown = { q: '', cursor: null };

export function bindSearch() {
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const q = $('search-input').value.trim();
    if (q) run(q, null);
  });
  $('search-input').addEventListener('keydown', (event) => {
    if (event.key === 'Escape') closeSearch();
  });
  $('search-close').addEventListener('click', closeSearch);
  $('search-more').addEventListener('click', () => {
    if (shown.cursor) run(shown.q, shown.cursor);
  });
}

export function closeSearch() {
  $('search-panel').hidden = true;
}

async function run(q, cursor) {
  const params = new URLSearchParams({ q, limit: String(PAGE) });
  if (cursor) params.set('cursor', cursor);
  let page;
  $('search-error').hidden = true;
  try {
    page = await api(`/api/search?${params}`);
  } catch (error) {
    if (error.code !== 'invalid_query') {
      showError(error);
      return;
    }
    clear($('search-results'));
    $('search-error').textContent = t('search.invalid', { detail: error.detail || '' });
    $('search-error').hidden = false;
    $('search-empty').hidden = true;
    $('search-more').hidden = true;
    $('search-panel').hidden = false;
    return;
  }
  const list = $('search-results');
  if (!cursor) clear(list);
  shown = { q, cursor: page.next_cursor };
  for (const item of page.items) list.append(el('li', {}, result(item)));
  $('search-empty').hidden = list.childElementCount > 0;
  $('search-more').hidden = !page.next_cursor;
  $('search-panel').hidden = false;
}

/** The message's words, the matched ones in <mark>: highlights are code-point offsets. */
export function marked(content, highlights) {
  const points = Array.from(content);
  const nodes = [];
  let at = 0;
  for (const [start, end] of highlights) {
    if (start > at) nodes.push(document.createTextNode(points.slice(at, start).join('')));
    nodes.push(el('mark', { text: points.slice(start, end).join('') }));
    at = end;
  }
  if (at < points.length) nodes.push(document.createTextNode(points.slice(at).join('')));
  return nodes;
}

function result(item) {
  const msg = item.message;
  const room = state.rooms.get(item.room.id);
  const roomName = room ? room.name : nameOf(item.room, null);
  const where = item.room.kind === 'dm' ? roomName : `#${roomName}`;
  return el('button', {
    type: 'button', class: 'search-result',
    dataset: { testid: 'search-result', messageId: String(msg.id) },
    onclick: () => openResult(item),
  },
  el('span', { class: 'search-result-head small muted' },
    el('span', { class: 'search-result-room', dataset: { testid: 'search-result-room' }, text: where }),
    ` · ${msg.author_label || msg.display_name || msg.username} · ${formatFull(msg.created_at)}`,
    msg.thread_root_id ? ` · ${t('search.inThread')}` : ''),
  el('span', { class: 'search-result-content', dataset: { testid: 'search-result-content' } },
    ...marked(msg.content, item.highlights)));
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function openResult(item) {
  const msg = item.message;
  if (!state.rooms.has(msg.room_id)) return;
  if (window.matchMedia('(max-width: 720px)').matches) closeSearch();
  selectRoom(msg.room_id);
  const room = state.rooms.get(msg.room_id);
  if (msg.thread_root_id && !msg.also_send_to_room) {
    await openThread(msg.room_id, msg.thread_root_id);
    flash(document.querySelector(
      `#thread-panel [data-message-id="${CSS.escape(String(msg.id))}"]`));
    return;
  }
  for (let tries = 0; tries < 100 && !room.historyLoaded; tries += 1) await pause(50);
  for (let pages = 0; pages < MAX_PAGES_BACK && room.hasMore && minSeq(room) > msg.seq;
    pages += 1) {
    if (room.loadingOlder) await pause(50);
    else await loadOlder(room);
    if (state.currentId !== room.id) return;
  }
  flash(view.nodes.get(`m${msg.id}`));
}

function flash(node) {
  if (!node) return;
  node.scrollIntoView({ block: 'center' });
  node.classList.add('search-target');
  setTimeout(() => node.classList.remove('search-target'), 4000);
}
