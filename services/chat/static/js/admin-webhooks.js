// Outgoing webhooks (the notifications service's /api/notifications/webhooks, on this same
// origin): chat's events of chosen rooms POSTed, signed, to a URL. Create one (its secret
// shown once), see how its deliveries go, delete it.

import { t } from './i18n.js';
import { clear, el } from './dom.js';
import { button, field, itemRow, picker, roomSearch, shownOnce, when } from './admin-kit.js';

const PATH = '/api/notifications/webhooks';

function statusFacts(status) {
  return [
    t('admin.webhooks.delivered', { n: status.delivered }),
    t('admin.webhooks.failed', { n: status.failed_attempts }),
    t('admin.webhooks.dead', { n: status.dead_lettered }),
    status.last_error && t('admin.webhooks.lastError', { error: status.last_error,
      when: when(status.last_failure_at) }),
  ];
}

export const webhooksSection = {
  id: 'webhooks',
  titleKey: 'admin.webhooks.title',
  render(container, ctx) {
    const url = el('input', { type: 'url', maxlength: '2000', spellcheck: 'false',
      autocapitalize: 'none', placeholder: 'https://', dataset: { testid: 'webhook-url' } });
    const rooms = picker('admin.webhooks.rooms', roomSearch(ctx), ctx, { many: true, testid: 'webhook-room' });
    const events = el('fieldset', { class: 'admin-checks', dataset: { testid: 'webhook-events' } },
      el('legend', { 'data-i18n': 'admin.webhooks.events', text: t('admin.webhooks.events') }));
    const once = el('div');
    const form = el('form', { class: 'admin-filters', novalidate: true },
      field('admin.webhooks.url', url), rooms.node, events,
      el('button', { type: 'submit', class: 'small-button', dataset: { testid: 'webhook-create' },
        'data-i18n': 'admin.webhooks.create', text: t('admin.webhooks.create') }));
    const list = el('ul', { class: 'admin-list', dataset: { testid: 'webhook-list' } });
    container.append(el('p', { class: 'muted small', 'data-i18n': 'admin.webhooks.hint',
      text: t('admin.webhooks.hint') }), form, once,
    el('div', { class: 'admin-item-actions' },
      button('admin.webhooks.refresh', () => refresh(), { testid: 'webhook-refresh' })), list);

    const row = (hook) => itemRow(hook.url, [
      t('admin.webhooks.roomIds', { ids: hook.room_ids.map((id) => `#${id}`).join(', ') }),
      hook.events.join(', '), ...statusFacts(hook.status),
    ], [
      button('admin.webhooks.delete', async () => {
        try {
          await ctx.api(`${PATH}/${hook.id}`, { method: 'DELETE' });
          ctx.ok(t('admin.webhooks.deleted'));
          await refresh();
        } catch (error) {
          ctx.fail(error);
        }
      }, { testid: 'webhook-delete' }),
    ], `webhook-${hook.id}`);

    function drawEvents(names) {
      if (events.querySelector('input')) return;
      for (const name of names) {
        events.append(el('label', {}, el('input', { type: 'checkbox', value: name,
          checked: name === 'message.created', dataset: { testid: `webhook-event-${name}` } }),
        el('span', { text: name })));
      }
    }
    async function refresh() {
      try {
        const body = await ctx.api(PATH);
        drawEvents(body.events);
        clear(list);
        for (const hook of body.webhooks) list.append(row(hook));
        if (!body.webhooks.length) list.append(el('li', { class: 'muted small', text: t('admin.none') }));
      } catch (error) {
        ctx.fail(error);
      }
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const chosen = [...events.querySelectorAll('input:checked')].map((box) => box.value);
      try {
        const made = await ctx.api(PATH, { method: 'POST', body: { url: url.value.trim(),
          room_ids: rooms.picked().map((room) => room.id), events: chosen } });
        clear(once);
        once.append(shownOnce('admin.webhooks.secretOnce', made.secret, 'webhook-secret'));
        url.value = '';
        rooms.reset();
        ctx.ok(t('admin.webhooks.created'));
        await refresh();
      } catch (error) {
        ctx.fail(error);
      }
    });
    refresh();
  },
};
