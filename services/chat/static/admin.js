// Tertulia's administration page (/admin): the composition root. The page signs in as the
// chat page does (POST /api/auth/login, the same session cookie), then shows one section per
// module in SECTIONS; another section is one more entry there (docs/architecture.md).

import { api, setUnauthorizedHandler, storeToken } from './js/api.js';
import { applyI18n, detectLang, lang, setLang, t } from './js/i18n.js';
import { addAdminStrings } from './js/admin-i18n.js';
import { clear, el } from './js/dom.js';
import { auditSection } from './js/admin-audit.js';
import { botsSection } from './js/admin-bots.js';
import { invitationsSection } from './js/admin-invitations.js';
import { problemText } from './js/admin-kit.js';
import { roomsSection } from './js/admin-rooms.js';
import { sanctionsSection } from './js/admin-sanctions.js';
import { settingsSection } from './js/admin-settings.js';
import { usersSection } from './js/admin-users.js';
import { webhooksSection } from './js/admin-webhooks.js';
import { wordFiltersSection } from './js/admin-word-filters.js';

const SECTIONS = [usersSection, roomsSection, invitationsSection, settingsSection,
  wordFiltersSection, sanctionsSection, botsSection, webhooksSection, auditSection];

const $ = (id) => document.getElementById(id);

function show(which) {
  for (const id of ['admin-signin', 'admin-denied', 'admin-main']) $(id).hidden = id !== which;
  document.body.classList.remove('booting');
}

function status(text, kind = 'ok') {
  const box = $('admin-status');
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = !text;
}

const ctx = {
  api,
  me: null,
  ok: (text) => status(text, 'ok'),
  fail: (error) => status(problemText(error), 'error'),
};

function start(me) {
  ctx.me = me;
  $('admin-me').textContent = me.username;
  if (!me.is_admin) {
    show('admin-denied');
    return;
  }
  show('admin-main');
  const nav = $('admin-nav');
  const sections = $('admin-sections');
  clear(nav);
  clear(sections);
  for (const section of SECTIONS) {
    const body = el('section', { id: `admin-${section.id}`, class: 'admin-section',
      dataset: { testid: `admin-section-${section.id}` } },
    el('h2', { 'data-i18n': section.titleKey, text: t(section.titleKey) }));
    sections.append(body);
    nav.append(el('a', { href: `#admin-${section.id}`, 'data-i18n': section.titleKey,
      text: t(section.titleKey) }));
    section.render(body, ctx);
  }
}

async function boot() {
  addAdminStrings();
  setLang(detectLang(), { remember: false });
  $('admin-lang').value = lang();
  $('admin-lang').addEventListener('change', (event) => setLang(event.target.value));
  setUnauthorizedHandler(() => show('admin-signin'));
  $('admin-signin-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const errorBox = $('admin-signin-error');
    errorBox.hidden = true;
    try {
      const body = await api('/api/auth/login', { method: 'POST', auth: false, body: {
        username: $('admin-username').value.trim(), password: $('admin-password').value } });
      storeToken(body.access_token);
      $('admin-password').value = '';
      start(await api('/api/auth/me'));
    } catch (error) {
      errorBox.textContent = problemText(error);
      errorBox.hidden = false;
    }
  });
  applyI18n(document);
  try {
    start(await api('/api/auth/me', { auth: false }));
  } catch {
    show('admin-signin');
  }
}

boot();
