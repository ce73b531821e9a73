// Bots (/api/admin/bots): accounts that act with scoped tokens. Create one; per bot, its
// tokens (post in and read chosen rooms), a new one shown once, revoke; deactivate the bot.

import { t } from './i18n.js';
import { clear, el } from './dom.js';
import { button, field, itemRow, picker, roomSearch, shownOnce, when } from './admin-kit.js';

function check(key, testid, checked) {
  const box = el('input', { type: 'checkbox', checked, dataset: { testid } });
  return [box, el('label', {}, box, el('span', { 'data-i18n': key, text: t(key) }))];
}

/** The bot's tokens and a form for a new one, under the bot's row. */
function tokensPanel(bot, ctx) {
  const list = el('ul', { class: 'admin-list', dataset: { testid: 'bot-token-list' } });
  const once = el('div');
  const name = el('input', { maxlength: '64', dataset: { testid: 'bot-token-name' } });
  const rooms = picker('admin.bots.rooms', roomSearch(ctx), ctx, { many: true, testid: 'bot-token-room' });
  const [post, postLabel] = check('admin.bots.scope.post', 'bot-token-post', true);
  const [read, readLabel] = check('admin.bots.scope.read', 'bot-token-read', false);
  const form = el('form', { class: 'admin-filters', novalidate: true },
    field('admin.bots.tokenName', name), rooms.node,
    el('fieldset', { class: 'admin-checks' },
      el('legend', { 'data-i18n': 'admin.bots.scopes', text: t('admin.bots.scopes') }),
      postLabel, readLabel),
    el('button', { type: 'submit', class: 'small-button', dataset: { testid: 'bot-token-create' },
      'data-i18n': 'admin.bots.createToken', text: t('admin.bots.createToken') }));
  const panel = el('div', { class: 'admin-sub', dataset: { testid: 'bot-tokens' } },
    el('h3', { 'data-i18n': 'admin.bots.tokens', text: t('admin.bots.tokens') }),
    list, once, form);

  const row = (token) => itemRow(token.name, [
    token.scopes.join(', '), t('admin.bots.created', { when: when(token.created_at) }),
    token.revoked_at && t('admin.bots.revokedAt', { when: when(token.revoked_at) }),
  ], [
    !token.revoked_at && button('admin.bots.revoke', async () => {
      try {
        await ctx.api(`/api/admin/bots/${bot.id}/tokens/${token.id}`, { method: 'DELETE' });
        ctx.ok(t('admin.bots.revoked', { name: token.name }));
        await refresh();
      } catch (error) {
        ctx.fail(error);
      }
    }, { testid: 'bot-token-revoke' }),
  ], `bot-token-${token.name}`);

  async function refresh() {
    try {
      const tokens = await ctx.api(`/api/admin/bots/${bot.id}/tokens`);
      clear(list);
      for (const token of tokens) list.append(row(token));
      if (!tokens.length) list.append(el('li', { class: 'muted small', text: t('admin.none') }));
    } catch (error) {
      ctx.fail(error);
    }
  }
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const scopes = rooms.picked().flatMap((room) => [post.checked && `post:${room.id}`,
      read.checked && `read:${room.id}`]).filter(Boolean);
    try {
      const made = await ctx.api(`/api/admin/bots/${bot.id}/tokens`, { method: 'POST',
        body: { name: name.value.trim(), scopes } });
      clear(once);
      once.append(shownOnce('admin.bots.tokenOnce', made.token, 'bot-token-secret'));
      name.value = '';
      rooms.reset();
      ctx.ok(t('admin.bots.tokenCreated', { name: made.name }));
      await refresh();
    } catch (error) {
      ctx.fail(error);
    }
  });
  refresh();
  return panel;
}

export const botsSection = {
  id: 'bots',
  titleKey: 'admin.bots.title',
  render(container, ctx) {
    const username = el('input', { maxlength: '64', autocapitalize: 'none', spellcheck: 'false',
      dataset: { testid: 'bot-username' } });
    const display = el('input', { maxlength: '200', dataset: { testid: 'bot-display-name' } });
    const form = el('form', { class: 'admin-filters', novalidate: true },
      field('admin.bots.username', username), field('admin.bots.displayName', display),
      el('button', { type: 'submit', class: 'small-button', dataset: { testid: 'bot-create' },
        'data-i18n': 'admin.bots.create', text: t('admin.bots.create') }));
    const list = el('ul', { class: 'admin-list', dataset: { testid: 'bot-list' } });
    container.append(el('p', { class: 'muted small', 'data-i18n': 'admin.bots.hint',
      text: t('admin.bots.hint') }), form, list);

    const row = (bot) => {
      const item = itemRow(bot.display_name ? `${bot.username} (${bot.display_name})` : bot.username,
        [bot.deactivated_at ? t('admin.users.isDeactivated') : t('admin.users.isActive')], [
          button('admin.bots.showTokens', () => {
            const open = item.querySelector('.admin-sub');
            if (open) open.remove();
            else item.append(tokensPanel(bot, ctx));
          }, { testid: 'bot-tokens-toggle' }),
          !bot.deactivated_at && button('admin.users.deactivate', async () => {
            try {
              await ctx.api(`/api/admin/bots/${bot.id}/deactivate`, { method: 'POST' });
              ctx.ok(t('admin.users.deactivated', { name: bot.username }));
              await refresh();
            } catch (error) {
              ctx.fail(error);
            }
          }, { testid: 'bot-deactivate' }),
        ], `bot-${bot.username}`);
      return item;
    };

    async function refresh() {
      try {
        const bots = await ctx.api('/api/admin/bots');
        clear(list);
        for (const bot of bots) list.append(row(bot));
        if (!bots.length) list.append(el('li', { class: 'muted small', text: t('admin.none') }));
      } catch (error) {
        ctx.fail(error);
      }
    }
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        const bot = await ctx.api('/api/admin/bots', { method: 'POST', body: {
          username: username.value.trim(), display_name: display.value.trim() || null } });
        username.value = '';
        display.value = '';
        ctx.ok(t('admin.bots.botCreated', { name: bot.username }));
        await refresh();
      } catch (error) {
        ctx.fail(error);
      }
    });
    refresh();
  },
};
