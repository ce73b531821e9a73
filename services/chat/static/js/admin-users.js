// Users: search by name, filter by status; deactivate, reactivate, change the server role,
// sign out everywhere (docs/protocol.md, Administration).

import { t } from './i18n.js';
import { el } from './dom.js';
import { button, field, itemRow, pagedList } from './admin-kit.js';

function actionsOf(user, ctx, refresh) {
  const act = (path, body, doneKey) => async () => {
    try {
      await ctx.api(`/api/admin/users/${user.id}/${path}`, { method: 'POST', body });
      ctx.ok(t(doneKey, { name: user.username }));
      await refresh();
    } catch (error) {
      ctx.fail(error);
    }
  };
  if (user.id === ctx.me.id) return [];
  return [
    user.deactivated_at
      ? button('admin.users.reactivate', act('reactivate', undefined, 'admin.users.reactivated'),
        { testid: 'user-reactivate' })
      : button('admin.users.deactivate', act('deactivate', undefined, 'admin.users.deactivated'),
        { testid: 'user-deactivate' }),
    button(user.is_admin ? 'admin.users.demote' : 'admin.users.promote',
      act('role', { is_admin: !user.is_admin }, 'admin.users.roleChanged'),
      { testid: 'user-role' }),
    button('admin.users.reset', act('sessions/revoke', undefined, 'admin.users.resetDone'),
      { testid: 'user-reset' }),
  ];
}

export const usersSection = {
  id: 'users',
  titleKey: 'admin.users.title',
  render(container, ctx) {
    const query = el('input', { type: 'search', dataset: { testid: 'users-query' },
      'data-i18n-placeholder': 'admin.users.search', placeholder: t('admin.users.search') });
    const status = el('select', { dataset: { testid: 'users-status' } },
      ...['all', 'active', 'deactivated'].map((value) => el('option', { value,
        'data-i18n': `admin.users.status.${value}`, text: t(`admin.users.status.${value}`) })));
    const form = el('form', { class: 'admin-filters', role: 'search' },
      field('admin.users.search', query), field('admin.users.statusLabel', status),
      el('button', { type: 'submit', class: 'small-button', 'data-i18n': 'admin.find',
        text: t('admin.find') }));
    container.append(form);
    const refresh = pagedList(container, async (cursor) => {
      const params = new URLSearchParams({ q: query.value.trim(), status: status.value, limit: '25' });
      if (cursor) params.set('cursor', cursor);
      const page = await ctx.api(`/api/admin/users?${params}`);
      return { items: page.users, next: page.next_cursor };
    }, (user, again) => itemRow(
      user.display_name ? `${user.username} (${user.display_name})` : user.username,
      [user.is_admin && t('admin.users.admin'),
        user.deactivated_at ? t('admin.users.isDeactivated') : t('admin.users.isActive')],
      actionsOf(user, ctx, again), `user-${user.username}`), ctx);
    form.addEventListener('submit', (event) => { event.preventDefault(); refresh(); });
    status.addEventListener('change', () => refresh());
  },
};
