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
