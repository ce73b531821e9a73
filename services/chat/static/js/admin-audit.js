// The audit log (GET /api/admin/audit): who did what, when and why, newest first.

import { t } from './i18n.js';
import { el } from './dom.js';
import { field, itemRow, pagedList, when } from './admin-kit.js';

export const auditSection = {
  id: 'audit',
  titleKey: 'admin.audit.title',
  render(container, ctx) {
    const action = el('input', { type: 'search', 'data-i18n-placeholder': 'admin.audit.action',
      placeholder: t('admin.audit.action') });
    const form = el('form', { class: 'admin-filters', role: 'search' },
      field('admin.audit.action', action),
      el('button', { type: 'submit', class: 'small-button', 'data-i18n': 'admin.find',
        text: t('admin.find') }));
    container.append(form);
    const refresh = pagedList(container, async (cursor) => {
      const params = new URLSearchParams({ limit: '25' });
      if (action.value.trim()) params.set('action', action.value.trim());
      if (cursor) params.set('before_id', cursor);
      const page = await ctx.api(`/api/admin/audit?${params}`);
      return { items: page.entries, next: page.next_before_id ? String(page.next_before_id) : null };
    }, (entry) => itemRow(entry.action, [
      when(entry.at),
      entry.actor_username || t('admin.audit.system'),
      entry.target_id && `${entry.target_type} ${entry.target_id}`,
      entry.reason,
    ], [], `audit-${entry.id}`), ctx);
    form.addEventListener('submit', (event) => { event.preventDefault(); refresh(); });
  },
};
