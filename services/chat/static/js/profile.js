// The profile editor: your picture (js/profile-avatar.js), display name, status text and
// time zone (PATCH /api/auth/me), opened by clicking your own name or avatar.

import { api } from './api.js';
import { errorText } from './errors.js';
import { el } from './dom.js';
import { t } from './i18n.js';
import { onUserUpdated, renderMe } from './people.js';
import { avatarField } from './profile-avatar.js';
import { $, state } from './state.js';

export function browserTimeZone() {
  try { return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC'; } catch { return 'UTC'; }
}

function timeZones(selected) {
  let zones = [];
  try { zones = Intl.supportedValuesOf('timeZone'); } catch { /* older browsers */ }
  return [...new Set([selected, browserTimeZone(), 'UTC', ...zones].filter(Boolean))].sort();
}

export function bindProfile() {
  for (const id of ['current-user', 'me-avatar']) {
    const node = $(id);
    node.setAttribute('role', 'button');
    node.tabIndex = 0;
    node.title = t('profile.edit');
    node.addEventListener('click', openProfileEditor);
    node.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); openProfileEditor(); }
    });
  }
}

export function openProfileEditor() {
  const me = state.me;
  if (!me || document.querySelector('[data-testid="profile-editor"]')) return;
  const zone = me.time_zone || browserTimeZone();
  const name = el('input', { id: 'profile-display-name', maxlength: 64,
    dataset: { testid: 'profile-display-name' }, placeholder: me.username });
  name.value = me.display_name || '';
  const status = el('input', { id: 'profile-status-text', maxlength: 100,
    dataset: { testid: 'profile-status-text' }, placeholder: t('profile.statusPlaceholder') });
  status.value = me.status_text || '';
  const zones = el('select', { id: 'profile-time-zone', dataset: { testid: 'profile-time-zone' } });
  for (const z of timeZones(zone)) zones.append(el('option', { value: z, text: z }));
  zones.value = zone;
  const error = el('p', { class: 'form-error', role: 'alert', hidden: true,
    dataset: { testid: 'profile-error' } });
  const save = el('button', { type: 'submit', dataset: { testid: 'profile-save' }, text: t('common.save') });
  const cancel = el('button', { type: 'button', class: 'secondary', text: t('common.cancel') });
  const form = el('form', { class: 'profile-form' },
    el('h2', { text: t('profile.title') }),
    el('p', { class: 'muted small', text: `@${me.username}` }),
    avatarField(error),
    el('label', { for: 'profile-display-name', text: t('profile.displayName') }), name,
    el('label', { for: 'profile-status-text', text: t('profile.statusText') }), status,
    el('label', { for: 'profile-time-zone', text: t('profile.timeZone') }), zones,
    error, el('div', { class: 'row' }, save, cancel));
  const dialog = el('dialog', { class: 'dialog', dataset: { testid: 'profile-editor' },
    'aria-label': t('profile.title') }, form);
  const close = () => { dialog.close(); dialog.remove(); };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', (event) => { event.preventDefault(); close(); });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    save.disabled = true;
    try {
      const updated = await api('/api/auth/me', { method: 'PATCH', body: {
        display_name: name.value, status_text: status.value, time_zone: zones.value } });
      Object.assign(state.me, updated);
      renderMe();
      onUserUpdated({ user_id: updated.id, username: updated.username,
        display_name: updated.display_name || updated.username,
        status_text: updated.status_text, time_zone: updated.time_zone });
      close();
    } catch (failure) {
      if (failure.status === 401) return;
      error.textContent = errorText(failure.code, failure.detail);
      error.hidden = false;
    } finally {
      save.disabled = false;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  name.focus();
}
