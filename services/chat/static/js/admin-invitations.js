// Invitations: links for signing up while open sign-up is off, with an expiry and a number
// of uses; revoked here.

import { t } from './i18n.js';
import { clear, el } from './dom.js';
import { button, field, itemRow, when } from './admin-kit.js';

const EXPIRIES = [[3600, 'hour'], [86400, 'day'], [7 * 86400, 'week'], [30 * 86400, 'month']];

export const invitationsSection = {
  id: 'invitations',
  titleKey: 'admin.invitations.title',
  render(container, ctx) {
    const expires = el('select', { dataset: { testid: 'invitation-expires' } },
      ...EXPIRIES.map(([secs, key]) => el('option', { value: String(secs),
        'data-i18n': `admin.invitations.expires.${key}`, text: t(`admin.invitations.expires.${key}`) })));
    expires.value = String(7 * 86400);
    const uses = el('input', { type: 'number', min: '1', max: '10000', value: '1',
      class: 'admin-narrow', dataset: { testid: 'invitation-uses' } });
    const form = el('form', { class: 'admin-filters' },
      field('admin.invitations.expiresLabel', expires), field('admin.invitations.uses', uses),
      el('button', { type: 'submit', class: 'small-button', dataset: { testid: 'invitation-create' },
        'data-i18n': 'admin.invitations.create', text: t('admin.invitations.create') }));
    const list = el('ul', { class: 'admin-list', dataset: { testid: 'invitation-list' } });
    container.append(el('p', { class: 'muted small', 'data-i18n': 'admin.invitations.hint',
      text: t('admin.invitations.hint') }), form, list);

    const row = (inv) => itemRow(t(`admin.invitations.status.${inv.status}`), [
      t('admin.invitations.used', { uses: inv.uses, max: inv.max_uses }),
      t('admin.invitations.until', { when: when(inv.expires_at) }),
    ], [
      el('input', { readonly: true, value: inv.url, class: 'admin-url',
        'aria-label': t('admin.invitations.link'), dataset: { testid: 'invitation-url' },
        onfocus: (event) => event.target.select() }),
      inv.status === 'active' && button('admin.invitations.revoke', async () => {
        try {
          await ctx.api(`/api/admin/invitations/${inv.id}`, { method: 'DELETE' });
          ctx.ok(t('admin.invitations.revoked'));
          await refresh();
        } catch (error) {
          ctx.fail(error);
        }
      }, { testid: 'invitation-revoke' }),
    ], `invitation-${inv.id}`);

    async function refresh() {
      try {
        const body = await ctx.api('/api/admin/invitations');
        clear(list);
        for (const inv of body.invitations) list.append(row(inv));
      } catch (error) {
        ctx.fail(error);
      }
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        await ctx.api('/api/admin/invitations', { method: 'POST', body: {
          expires_in_secs: Number(expires.value), max_uses: Number(uses.value) } });
        ctx.ok(t('admin.invitations.created'));
        await refresh();
      } catch (error) {
        ctx.fail(error);
      }
    });
    refresh();
  },
};
