// Signing in: the chat service's session, shared with the chat page (its
// `POST /api/auth/login` sets the cookie every dashboard request carries).

import { $ } from './dom.js';
import { has, t } from './i18n.js';
import { link } from './stream.js';

const LOGIN_URL = '/api/auth/login';
const LOGOUT_URL = '/api/auth/logout';
const ME_URL = '/api/auth/me';

// The chat page's "this browser signed in" mark (not a secret; the session is the HttpOnly
// cookie): set here too, so the chat page opens signed in after signing in here.
const SIGNED_IN_KEY = 'tertulia.signedIn';

export const auth = { reason: null, username: null };

export function markedSignedIn() {
  try { return localStorage.getItem(SIGNED_IN_KEY) !== null; } catch (e) { return true; }
}

function markSignedIn(yes) {
  try {
    if (yes) localStorage.setItem(SIGNED_IN_KEY, '1');
    else localStorage.removeItem(SIGNED_IN_KEY);
  } catch (e) { /* storage may be unavailable */ }
}

export function showAuth(status) {
  link.status(status === 403 ? 'forbidden' : 'signed-out');
  auth.reason = status === 403 ? 'auth.forbidden' : 'auth.signedOut';
  $('auth-reason').textContent = t(auth.reason);
  $('auth').hidden = false;
  $('sign-out').hidden = status !== 403; // a non-admin session can be left for another
  $('signed-in-as').textContent = '';
  $('sign-in-username').focus();
}

export function hideAuth() {
  $('auth').hidden = true;
  $('sign-in-error').hidden = true;
  $('sign-out').hidden = false;
  showWho();
}

async function showWho() {
  try {
    const response = await fetch(ME_URL, { credentials: 'same-origin', cache: 'no-store' });
    if (response.ok) auth.username = (await response.json()).username;
  } catch (e) { /* the name is a courtesy */ }
  $('signed-in-as').textContent = auth.username ? t('auth.as', { name: auth.username }) : '';
}

function signInError(key, params) {
  const box = $('sign-in-error');
  box.textContent = t(key, params);
  box.hidden = false;
}

export async function signIn(event) {
  event.preventDefault();
  const username = $('sign-in-username').value.trim();
  const password = $('sign-in-password').value;
  if (!username || !password) { signInError('auth.missing'); return; }
  const button = $('sign-in-submit');
  button.disabled = true;
  button.textContent = t('auth.working');
  try {
    const response = await fetch(LOGIN_URL, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    if (response.ok) {
      markSignedIn(true);
      $('sign-in-password').value = '';
      $('sign-in-error').hidden = true;
      link.status('connecting');
      link.start();
      return;
    }
    let body = {};
    try { body = await response.json(); } catch (e) { /* not problem details */ }
    if (response.status === 429) {
      signInError('error.rate_limited', { secs: response.headers.get('Retry-After') || '?' });
    } else if (response.status === 404 || response.status === 405) {
      signInError('error.noSignIn');
    } else if (body.code && has(`error.${body.code}`)) {
      signInError(`error.${body.code}`);
    } else {
      signInError('error.generic', { detail: body.detail || body.title || `HTTP ${response.status}` });
    }
  } catch (e) {
    signInError('error.network');
  } finally {
    button.disabled = false;
    button.textContent = t('auth.signIn');
  }
}

export async function signOut() {
  try {
    await fetch(LOGOUT_URL, { method: 'POST', credentials: 'same-origin' });
  } catch (e) { /* the stream's answer says where we stand */ }
  auth.username = null;
  markSignedIn(false);
  if (link.controller) link.controller.abort();
  link.start();
}
