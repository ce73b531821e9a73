// Mutes and bans of the whole server (GET/POST/DELETE /api/moderation/mutes|bans): a user
// picked by name, for a time or until lifted, with a reason; lifted here. A room's own are
// its moderators', in the chat page.

import { t } from './i18n.js';
import { clear, el } from './dom.js';
import { button, field, itemRow, picker, when } from './admin-kit.js';

const KINDS = ['mute', 'ban'];
const DURATIONS = [['', 'lifted'], ['3600', 'hour'], ['86400', 'day'], [String(7 * 86400), 'week'],
  [String(30 * 86400), 'month']];

export const sanctionsSection = {
  id: 'sanctions',
  titleKey: 'admin.sanctions.title',
  render(container, ctx) {
    const kind = el('select', { dataset: { testid: 'sanction-kind' } },
      ...KINDS.map((name) => el('option', { value: name, 'data-i18n': `admin.sanctions.kind.${name}`,
        text: t(`admin.sanctions.kind.${name}`) })));
    const user = picker('admin.sanctions.user', async (q) => {
      const params = new URLSearchParams({ q, status: 'active', limit: '10' });
      const page = await ctx.api(`/api/admin/users?${params}`);
      return page.users.filter((u) => u.id !== ctx.me.id)
        .map((u) => ({ id: u.id, label: u.username }));
    }, ctx, { testid: 'sanction-user' });
    const duration = el('select', { dataset: { testid: 'sanction-duration' } },
      ...DURATIONS.map(([value, key]) => el('option', { value,
        'data-i18n': `admin.sanctions.for.${key}`, text: t(`admin.sanctions.for.${key}`) })));
    const reason = el('input', { maxlength: '500', dataset: { testid: 'sanction-reason' } });
    const form = el('form', { class: 'admin-filters', novalidate: true },
      field('admin.sanctions.kindLabel', kind), user.node,
      field('admin.sanctions.durationLabel', duration), field('admin.sanctions.reason', reason),
      el('button', { type: 'submit', class: 'small-button', dataset: { testid: 'sanction-add' },
        'data-i18n': 'admin.sanctions.add', text: t('admin.sanctions.add') }));
    const lists = Object.fromEntries(KINDS.map((name) => [name,
      el('ul', { class: 'admin-list', dataset: { testid: `sanction-list-${name}` } })]));
    container.append(el('p', { class: 'muted small', 'data-i18n': 'admin.sanctions.hint',
      text: t('admin.sanctions.hint') }), form);
    for (const name of KINDS) {
      const key = `admin.sanctions.${name}s`;
      container.append(el('h3', { class: 'small', 'data-i18n': key, text: t(key) }), lists[name]);
    }

    const row = (s) => itemRow(s.username, [
      s.until ? t('admin.sanctions.until', { when: when(s.until) }) : t('admin.sanctions.for.lifted'),
      s.reason, t('admin.sanctions.since', { when: when(s.created_at) }),
    ], [
      button('admin.sanctions.lift', async () => {
        try {
          await ctx.api(`/api/moderation/${s.kind}s/${s.user_id}`, { method: 'DELETE' });
          ctx.ok(t(`admin.sanctions.lifted.${s.kind}`, { name: s.username }));
          await refresh();
        } catch (error) {
          ctx.fail(error);
        }
      }, { testid: 'sanction-lift' }),
    ], `sanction-${s.username}`);

    async function refresh() {
      try {
        const bodies = await Promise.all(KINDS.map((name) => ctx.api(`/api/moderation/${name}s`)));
        KINDS.forEach((name, i) => {
          clear(lists[name]);
          for (const s of bodies[i].items) lists[name].append(row(s));
          if (!bodies[i].items.length) {
            lists[name].append(el('li', { class: 'muted small', text: t('admin.none') }));
          }
        });
      } catch (error) {
        ctx.fail(error);
      }
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const [who] = user.picked();
      if (!who) {
        ctx.fail({ detail: t('admin.sanctions.pickUser') });
        return;
      }
      const secs = Number(duration.value);
      try {
        await ctx.api(`/api/moderation/${kind.value}s`, { method: 'POST', body: {
          user_id: who.id, until: secs ? new Date(Date.now() + secs * 1000).toISOString() : null,
          reason: reason.value.trim() || null } });
        ctx.ok(t(`admin.sanctions.added.${kind.value}`, { name: who.label }));
        user.reset();
        reason.value = '';
        await refresh();
      } catch (error) {
        ctx.fail(error);
      }
    });
    refresh();
  },
};
