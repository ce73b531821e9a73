// What the administration page's sections share: a problem's text, a labelled field, a row
// of one item with its actions, a "load more" list.

import { t } from './i18n.js';
import { clear, el } from './dom.js';

/** The page's string for the error's code, else the server's detail, else a generic line. */
export function problemText(error) {
  const code = error && (error.code || (error.status === 0 ? 'network' : null));
  if (code) {
    const key = `error.${code}`;
    const text = t(key);
    if (text !== key) return text;
  }
  return (error && error.detail) || t('error.generic');
}

export function field(labelKey, input) {
  return el('label', { class: 'admin-field' },
    el('span', { 'data-i18n': labelKey, text: t(labelKey) }), input);
}

export function button(key, onclick, { secondary = true, testid } = {}) {
  return el('button', { type: 'button', class: secondary ? 'secondary small-button' : 'small-button',
    'data-i18n': key, text: t(key), onclick, dataset: testid ? { testid } : undefined });
}

/** One item: its title, a line of facts, and its actions; all wrap at phone width. */
export function itemRow(title, facts, actions, testid) {
  return el('li', { class: 'admin-item', dataset: { testid } },
    el('div', { class: 'admin-item-text' },
      el('strong', { class: 'admin-item-title', text: title }),
      el('span', { class: 'muted small', text: facts.filter(Boolean).join(' · ') })),
    el('div', { class: 'admin-item-actions' }, ...actions));
}

/**
 * A paged list: `load(cursor)` gives `{items, next}`; `row(item, refresh)` renders one.
 * Returns `refresh()`, which starts again from the first page.
 */
export function pagedList(container, load, row, ctx) {
  const list = el('ul', { class: 'admin-list' });
  const more = button('admin.more', () => next());
  const empty = el('p', { class: 'muted small', 'data-i18n': 'admin.none', text: t('admin.none') });
  container.append(list, empty, more);
  let cursor = null;
  async function next() {
    try {
      const page = await load(cursor);
      for (const item of page.items) list.append(row(item, refresh));
      cursor = page.next;
      more.hidden = !cursor;
      empty.hidden = list.childElementCount > 0;
    } catch (error) {
      ctx.fail(error);
    }
  }
  async function refresh() {
    clear(list);
    cursor = null;
    await next();
  }
  refresh();
  return refresh;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

/**
 * Pick by name: what `search(q)` finds (`[{id, label}]`) becomes buttons; a pick shows as a
 * chip that removes it. `many` keeps several picks. Returns `{node, picked(), reset()}`.
 */
export function picker(labelKey, search, ctx, { many = false, testid } = {}) {
  const query = el('input', { type: 'search', autocapitalize: 'none', spellcheck: 'false',
    'aria-label': t(labelKey), 'data-i18n-aria-label': labelKey,
    dataset: { testid: `${testid}-query` } });
  const matches = el('div', { class: 'admin-chips', dataset: { testid: `${testid}-matches` } });
  const chosen = el('div', { class: 'admin-chips', dataset: { testid: `${testid}-picked` } });
  let picks = [];
  const draw = () => {
    clear(chosen);
    for (const pick of picks) {
      chosen.append(el('button', { type: 'button', class: 'secondary small-button',
        text: `${pick.label} ✕`, title: t('admin.unpick'), onclick: () => {
          picks = picks.filter((other) => other.id !== pick.id);
          draw();
        } }));
    }
  };
  async function find() {
    try {
      const found = await search(query.value.trim());
      clear(matches);
      for (const item of found) {
        matches.append(el('button', { type: 'button', class: 'small-button', text: item.label,
          dataset: { testid: `${testid}-match` }, onclick: () => {
            picks = many ? [...picks.filter((p) => p.id !== item.id), item] : [item];
            clear(matches);
            query.value = '';
            draw();
          } }));
      }
      if (!found.length) matches.append(el('span', { class: 'muted small', text: t('admin.none') }));
    } catch (error) {
      ctx.fail(error);
    }
  }
  query.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      find();
    }
  });
  const node = el('div', { class: 'admin-field admin-picker' },
    el('span', { 'data-i18n': labelKey, text: t(labelKey) }),
    el('span', { class: 'admin-inline' }, query,
      button('admin.find', find, { testid: `${testid}-find` })),
    matches, chosen);
  return { node, picked: () => picks, reset: () => { picks = []; draw(); clear(matches); } };
}

/** Rooms by name for a picker (not archived ones: nothing is posted there). */
export function roomSearch(ctx) {
  return async (q) => {
    const params = new URLSearchParams({ q, archived: 'false', limit: '10' });
    const page = await ctx.api(`/api/admin/rooms?${params}`);
    return page.rooms.map((room) => ({ id: room.id, label: room.name }));
  };
}

/** A secret the server gives once: a read-only field to copy it from, and a note saying so. */
export function shownOnce(noteKey, value, testid) {
  const box = el('input', { readonly: true, value, class: 'admin-url', spellcheck: 'false',
    'aria-label': t(noteKey), dataset: { testid }, onfocus: (event) => event.target.select() });
  const copy = button('admin.copy', async () => {
    box.focus();
    box.select();
    try {
      await navigator.clipboard.writeText(value);
      copy.textContent = t('admin.copied');
    } catch { /* no clipboard here: the text is selected for the person to copy */ }
  });
  return el('div', { class: 'admin-once', role: 'status' },
    el('strong', { class: 'small', text: t(noteKey) }),
    el('span', { class: 'admin-inline admin-once-value' }, box, copy));
}
