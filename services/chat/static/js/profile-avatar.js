// Your picture, in the profile editor: upload one (PUT /api/auth/me/avatar; the server crops
// it to a centred square) or remove it (DELETE). Everyone else sees it through the members
// list, people search and profiles; your own initials come back without one.

import { api } from './api.js';
import { paintAvatar } from './avatars.js';
import { el } from './dom.js';
import { errorText } from './errors.js';
import { t } from './i18n.js';
import { rememberUser, renderMe, rerender } from './people.js';
import { state } from './state.js';

/** The editor's avatar row; `error` is the form's error line. */
export function avatarField(error) {
  const me = state.me;
  const preview = el('span', { class: 'avatar', 'aria-hidden': 'true',
    dataset: { testid: 'profile-avatar' } });
  const input = el('input', { type: 'file', accept: 'image/png,image/jpeg,image/gif,image/webp',
    hidden: true, dataset: { testid: 'profile-avatar-input' } });
  const choose = el('button', { type: 'button', class: 'secondary small-button',
    dataset: { testid: 'profile-avatar-upload' }, text: t('profile.avatarUpload'),
    onclick: () => input.click() });
  const remove = el('button', { type: 'button', class: 'link-button small',
    dataset: { testid: 'profile-avatar-remove' }, text: t('profile.avatarRemove') });
  const paint = () => {
    paintAvatar(preview, { name: me.display_name || me.username, hueKey: me.username,
      url: me.avatar_url || null });
    remove.hidden = !me.avatar_url;
  };
  const apply = (avatarUrl) => {
    me.avatar_url = avatarUrl;
    rememberUser({ ...me, user_id: me.id });
    renderMe();
    paint();
    rerender(); // your messages' avatars
  };
  const busy = (on) => { choose.disabled = on; remove.disabled = on; };
  input.addEventListener('change', async () => {
    const file = input.files[0];
    input.value = '';
    if (!file) return;
    const form = new FormData();
    form.append('file', file, file.name);
    busy(true);
    error.hidden = true;
    try {
      const updated = await api('/api/auth/me/avatar', { method: 'PUT', form });
      apply(updated.avatar_url || null);
    } catch (failure) {
      if (failure.status === 401) return;
      error.textContent = errorText(failure.code || (failure.status === 413
        ? 'file_too_large' : null), failure.detail);
      error.hidden = false;
    } finally {
      busy(false);
    }
  });
  remove.addEventListener('click', async () => {
    busy(true);
    try {
      await api('/api/auth/me/avatar', { method: 'DELETE' });
      apply(null);
    } catch (failure) {
      if (failure.status !== 401) {
        error.textContent = errorText(failure.code, failure.detail);
        error.hidden = false;
      }
    } finally {
      busy(false);
    }
  });
  paint();
  return el('div', { class: 'profile-avatar' }, preview,
    el('div', { class: 'profile-avatar-actions' }, choose, remove, input));
}
