// Tertulia operations page: the composition root. It reads /api/dashboard/stream
// (Server-Sent Events) with fetch, so it can see 401/403 and resume with Last-Event-ID, and
// signs in the way the chat page does: the chat service's `POST /api/auth/login` (same
// origin, through the gateway) sets the session cookie, which every dashboard request
// carries. Each concept is a module beside this one (docs/architecture.md, The page); this
// file wires the forms, relabels on a language change, keeps time and starts.

import { auth, markedSignedIn, showAuth, signIn, signOut } from './auth.js';
import { wireBroadcastForm } from './broadcasts.js';
import { drawPresence, drawSockets } from './charts.js';
import { $, formatTime, text } from './dom.js';
import { applyI18n, lang, onLangChange, setLang, t } from './i18n.js';
import { renderAll, renderMessages, renderServices } from './panels.js';
import { minuteIso, sameMinute, sample, SAMPLE_EVERY_MS, serverNow, view } from './state.js';
import { link } from './stream.js';

function wireForms() {
  $('sign-in-form').addEventListener('submit', signIn);
  $('sign-out').addEventListener('click', signOut);
  wireBroadcastForm();

  const select = $('lang');
  select.value = lang();
  select.addEventListener('change', () => setLang(select.value));
}

/** Everything drawn from data, again in the new language. */
function relabel() {
  $('lang').value = lang();
  link.status(link.state);
  if (!$('auth').hidden && auth.reason) $('auth-reason').textContent = t(auth.reason);
  if (view.serverStart) $('server-start').textContent = formatTime(view.serverStart, true);
  if (auth.username) $('signed-in-as').textContent = t('auth.as', { name: auth.username });
  text($('broadcast-count'), t('broadcast.count', {
    n: $('broadcast-text').value.length, max: $('broadcast-text').maxLength }));
  if (view.loaded) renderAll();
}

function everySecond() {
  const now = serverNow();
  $('server-clock').textContent = new Date(now).toISOString().slice(11, 19) + ' UTC';
  link.watchdog();
  const current = minuteIso(now);
  if (view.minute && !sameMinute(view.minute, current) && Date.parse(current) > Date.parse(view.minute)) {
    view.minute = current; // the chart moves on even when nobody writes
    renderMessages();
  }
}

function everySample() {
  sample();
  drawSockets();
  drawPresence();
  renderServices(); // "up since" / "silent since" ages
}

function start() {
  applyI18n(document);
  onLangChange(relabel);
  wireForms();
  renderAll();
  setInterval(everySecond, 1000);
  setInterval(everySample, SAMPLE_EVERY_MS);
  if ('ResizeObserver' in window) {
    const redraw = () => { renderMessages(); drawSockets(); drawPresence(); };
    const observer = new ResizeObserver(redraw);
    document.querySelectorAll('canvas.chart').forEach((c) => observer.observe(c));
  }
  // Like the chat page: a browser that never signed in gets the form without first
  // asking (and logging a 401).
  if (markedSignedIn()) link.start();
  else showAuth(401);
}

// A module runs after the document is parsed.
start();
