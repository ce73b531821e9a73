// Server settings that take effect while the system runs (every replica within seconds).
// Saving sends them all: the server checks every one before it writes any.

import { t } from './i18n.js';
import { el } from './dom.js';
import { field } from './admin-kit.js';

export const settingsSection = {
  id: 'settings',
  titleKey: 'admin.settings.title',
  render(container, ctx) {
    const openSignup = el('input', { type: 'checkbox', dataset: { testid: 'setting-open-signup' } });
    const maxChars = el('input', { type: 'number', min: '1', max: '10000', class: 'admin-narrow',
      dataset: { testid: 'setting-message-max-chars' } });
    const form = el('form', { class: 'admin-settings' },
      el('label', { class: 'admin-check' }, openSignup,
        el('span', { 'data-i18n': 'admin.settings.openSignup', text: t('admin.settings.openSignup') })),
      el('p', { class: 'muted small', 'data-i18n': 'admin.settings.openSignupHint',
        text: t('admin.settings.openSignupHint') }),
      field('admin.settings.messageMaxChars', maxChars),
      el('button', { type: 'submit', class: 'small-button', dataset: { testid: 'settings-save' },
        'data-i18n': 'common.save', text: t('common.save') }));
    container.append(form);
    const fill = (settings) => {
      openSignup.checked = settings.open_signup;
      maxChars.value = String(settings.message_max_chars);
    };
    ctx.api('/api/admin/settings').then(fill, ctx.fail);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      try {
        fill(await ctx.api('/api/admin/settings', { method: 'PATCH', body: {
          open_signup: openSignup.checked, message_max_chars: Number(maxChars.value) } }));
        ctx.ok(t('admin.settings.saved'));
      } catch (error) {
        ctx.fail(error);
      }
    });
  },
};
