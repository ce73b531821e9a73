// The server's word filters (GET/POST/DELETE /api/admin/word-filters): every room's
// messages and edits, room names and display names meet them. A room's own rules are kept
// in the chat page's Moderation panel by its admins.

import { t } from './i18n.js';
import { clear, el } from './dom.js';
import { button, field, itemRow, when } from './admin-kit.js';

export const wordFiltersSection = {
  id: 'word-filters',
  titleKey: 'admin.filters.title',
  render(container, ctx) {
    const pattern = el('input', { maxlength: '64', required: true, autocapitalize: 'none',
      spellcheck: 'false', dataset: { testid: 'server-filter-pattern' } });
    const action = el('select', { dataset: { testid: 'server-filter-action' } },
      ...['block', 'hold'].map((name) => el('option', { value: name,
        'data-i18n': `filters.action.${name}`, text: t(`filters.action.${name}`) })));
    const form = el('form', { class: 'admin-filters' },
      field('filters.patternPlaceholder', pattern), field('filters.actionLabel', action),
      el('button', { type: 'submit', class: 'small-button', dataset: { testid: 'server-filter-add' },
        'data-i18n': 'filters.add', text: t('filters.add') }));
    const list = el('ul', { class: 'admin-list', dataset: { testid: 'server-filter-list' } });
    const empty = el('p', { class: 'muted small', 'data-i18n': 'admin.none', text: t('admin.none') });
    container.append(el('p', { class: 'muted small', 'data-i18n': 'admin.filters.hint',
      text: t('admin.filters.hint') }), form, list, empty);

    const row = (rule) => itemRow(rule.pattern, [
      t(`filters.action.${rule.action}`), when(rule.created_at),
    ], [
      button('filters.remove', async () => {
        try {
          await ctx.api(`/api/admin/word-filters/${rule.id}`, { method: 'DELETE' });
          ctx.ok(t('admin.filters.removed'));
          await refresh();
        } catch (error) {
          ctx.fail(error);
        }
      }, { testid: 'server-filter-remove' }),
    ], 'server-filter');

    async function refresh() {
      try {
        const body = await ctx.api('/api/admin/word-filters');
        clear(list);
        for (const rule of body.rules) list.append(row(rule));
        empty.hidden = body.rules.length > 0;
      } catch (error) {
        ctx.fail(error);
      }
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await ctx.api('/api/admin/word-filters', { method: 'POST',
          body: { pattern: pattern.value.trim(), action: action.value } });
        pattern.value = '';
        ctx.ok(t('admin.filters.added'));
        await refresh();
      } catch (error) {
        ctx.fail(error);
      }
    });
    refresh();
  },
};
