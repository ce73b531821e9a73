// Moderation in the chat page (docs/protocol.md, Moderation): "Report" on others' messages,
// the reports queue for the room's moderators and the administrators (live through the
// `report_created` / `report_resolved` frames, resolved with one button), and what a
// sanction tells its user: the muted banner over the composer (from `moderation_updated`
// and from a refused post's `muted` error), a ban's and a warning's toasts.

import { api } from './api.js';
import { clear, el } from './dom.js';
import { showError } from './errors.js';
import { lang, t } from './i18n.js';
import { toast } from './notify.js';
import { isModerator } from './pins.js';
import { $, state } from './state.js';

const UNIT_MS = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 };
const reports = new Map(); // id -> report, the open ones this page knows
const mutes = new Map(); // room id, or 'server' -> {until: iso | null, scope}
let reporting = null; // the message the report form is about
let queueLoaded = false;
let bannerTimer = null;

function canModerateSomewhere() {
  if (state.me?.is_admin) return true;
  return [...state.rooms.keys()].some((id) => isModerator(id));
}

function clockText(iso) {
  const date = new Date(iso);
  return date.toLocaleTimeString(lang(), { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

/** "Report" among the actions of someone else's message. */
export function addReportControl(bubble, msg) {
  if (!state.me || msg.is_deleted || msg.user_id === state.me.id || msg.message_type === 'system') return;
  let actions = bubble.querySelector('.message-actions');
  if (!actions) {
    actions = el('div', { class: 'message-actions' });
    bubble.append(actions);
  }
  actions.append(el('button', {
    type: 'button', class: 'link-button', dataset: { testid: 'message-report' },
    text: t('mod.report'), onclick: () => openReportForm(msg),
  }));
}

function openReportForm(msg) {
  reporting = msg;
  $('report-quote').textContent = `${msg.display_name || msg.username}: ${msg.content}`;
  $('report-form').hidden = false;
  $('report-reason').value = '';
  $('report-reason').focus();
}

function closeReportForm() {
  reporting = null;
  $('report-form').hidden = true;
}

async function sendReport(event) {
  event.preventDefault();
  const msg = reporting;
  const reason = $('report-reason').value.trim();
  if (!msg || !reason) return;
  try {
    await api(`/api/chat/messages/${msg.id}/reports`, { method: 'POST', body: { reason } });
    closeReportForm();
    toast('notification', null, t('mod.reported'));
  } catch (error) {
    showError(error);
  }
}

// --- the queue --------------------------------------------------------------------------

function renderCount() {
  const count = $('reports-count');
  count.textContent = String(reports.size);
  count.hidden = reports.size === 0;
}

function renderQueue() {
  renderCount();
  if ($('reports-panel').hidden) return;
  const list = $('reports-list');
  clear(list);
  const open = [...reports.values()].sort((a, b) => b.id - a.id);
  $('reports-empty').hidden = open.length > 0;
  for (const report of open) list.append(entry(report));
}

function entry(report) {
  const msg = report.message || {};
  const room = state.rooms.get(report.room_id);
  const amount = el('input', { type: 'number', min: '1', value: '10', dataset: { testid: 'report-duration' },
    'aria-label': t('mod.duration') });
  const unit = el('select', { dataset: { testid: 'report-unit' }, 'aria-label': t('mod.duration') },
    ...['seconds', 'minutes', 'hours', 'days', 'forever'].map((u) => el('option', {
      value: u, text: t(`mod.unit.${u}`), selected: u === 'minutes' })));
  const note = el('input', { type: 'text', maxlength: '500', dataset: { testid: 'report-note' },
    placeholder: t('mod.note'), 'aria-label': t('mod.note') });
  const act = (action) => el('button', {
    type: 'button', class: 'link-button small', dataset: { testid: 'report-action', action },
    text: t(`mod.action.${action}`),
    onclick: () => resolve(report, action, amount.value, unit.value, note.value),
  });
  return el('li', { class: 'report-entry', dataset: { testid: 'report-entry', reportId: String(report.id) } },
    el('div', { class: 'small muted' },
      `${msg.display_name || msg.username || '?'} · ${t('mod.in', { room: room ? room.name : `#${report.room_id}` })}`),
    el('p', { class: 'report-entry-content', dataset: { testid: 'report-entry-content' },
      text: msg.is_deleted ? t('messages.deleted') : msg.content || '' }),
    el('div', { class: 'small', dataset: { testid: 'report-entry-reason' },
      text: t('mod.reportedBy', { name: report.reporter_username || '?', reason: report.reason }) }),
    el('div', { class: 'report-entry-controls' },
      act('dismiss'), act('delete'), act('warn'), note,
      el('span', { class: 'small muted', text: t('mod.duration') }), amount, unit,
      act('mute'), act('ban')));
}

async function resolve(report, action, amount, unit, note) {
  const body = { action };
  if (note.trim()) body.note = note.trim();
  if (action === 'mute' || action === 'ban') {
    const n = Number(amount);
    body.until = unit === 'forever' || !(n > 0) ? null
      : new Date(Date.now() + n * UNIT_MS[unit]).toISOString();
  }
  try {
    await api(`/api/moderation/reports/${report.id}/resolve`, { method: 'POST', body });
    forget(report.id);
    toast('notification', null, t('mod.resolved', { action: t(`mod.action.${action}`) }));
  } catch (error) {
    if (error.code === 'report_resolved') forget(report.id);
    showError(error);
  }
}

function forget(id) {
  reports.delete(id);
  renderQueue();
}

async function loadQueue() {
  let answer;
  try {
    answer = await api('/api/moderation/reports?status=open&limit=100');
  } catch (error) {
    showError(error);
    return;
  }
  queueLoaded = true;
  reports.clear();
  for (const report of answer.reports) reports.set(report.id, report);
  renderQueue();
}

function togglePanel() {
  const panel = $('reports-panel');
  panel.hidden = !panel.hidden;
  $('reports-button').setAttribute('aria-expanded', String(!panel.hidden));
  if (!panel.hidden) loadQueue();
}

export function onReportCreated(report) {
  reports.set(report.id, report);
  renderQueue();
  const room = state.rooms.get(report.room_id);
  toast('notification', null, t('mod.newReport', { room: room ? room.name : `#${report.room_id}` }));
}

export function onReportResolved(report) {
  forget(report.id);
}

// --- what a sanction tells its user ------------------------------------------------------

function renderBanner() {
  clearTimeout(bannerTimer);
  const banner = $('moderation-banner');
  const now = Date.now();
  const found = [mutes.get('server'), mutes.get(state.currentId)].find(
    (m) => m && (m.until === null || Date.parse(m.until) > now));
  if (!found) {
    const room = state.rooms.get(state.currentId);
    banner.hidden = !(room && room.slow_mode_secs > 0 && room.member);
    banner.textContent = banner.hidden ? '' : t('mod.slowMode', { secs: room.slow_mode_secs });
    return;
  }
  const server = found.scope === 'server';
  banner.textContent = found.until === null
    ? t(server ? 'mod.mutedServerForever' : 'mod.mutedForever')
    : t(server ? 'mod.mutedServerUntil' : 'mod.mutedUntil', { time: clockText(found.until) });
  banner.hidden = false;
  banner.dataset.state = 'muted';
  if (found.until !== null) {
    // The server compares the end with its clock; the page only stops saying so then.
    bannerTimer = setTimeout(() => { delete banner.dataset.state; renderBanner(); },
      Math.min(Date.parse(found.until) - now + 250, 2 ** 31 - 1));
  }
}

function noteMute(scope, roomId, until, active) {
  const key = scope === 'server' ? 'server' : roomId;
  if (active) mutes.set(key, { until, scope });
  else mutes.delete(key);
  renderBanner();
}

export function onModerationUpdated(data) {
  if (data.kind === 'mute') {
    noteMute(data.scope, data.room_id, data.until, data.active);
    if (!data.active) toast('notification', null, t('mod.unmuted'));
  } else if (data.kind === 'ban' && data.active && data.scope === 'room') {
    const room = state.rooms.get(data.room_id);
    toast('error', null, t('mod.banned', { room: room ? room.name : `#${data.room_id}` }));
  } else if (data.kind === 'warn') {
    toast('error', t('mod.warned'), data.reason || null);
  }
}

/** A refused post or edit: the words to show for moderation's codes (null: not ours). */
export function refusalText(data, roomId) {
  if (data.code === 'muted') {
    noteMute(data.scope, roomId, data.until ?? null, true);
    return $('moderation-banner').textContent;
  }
  if (data.code === 'slow_mode' && data.retry_after_secs) {
    return t('mod.slowModeWait', { secs: data.retry_after_secs });
  }
  return null;
}

/** The open room or the rooms changed: the queue's button, the banner. */
export function syncModeration() {
  const show = Boolean(state.me) && canModerateSomewhere();
  $('reports-button').hidden = !show;
  if (show && !queueLoaded) loadQueue();
  if (!show) $('reports-panel').hidden = true;
  renderBanner();
}

/** Bind the form and the queue's controls (app.js, once). */
export function bindModeration() {
  $('report-form').addEventListener('submit', sendReport);
  $('report-cancel').addEventListener('click', closeReportForm);
  $('reports-button').addEventListener('click', togglePanel);
  $('reports-close').addEventListener('click', () => {
    $('reports-panel').hidden = true;
    $('reports-button').setAttribute('aria-expanded', 'false');
  });
}
