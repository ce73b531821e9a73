// DOM and formatting helpers: elements by id, text only (never HTML), numbers and times in
// the page's language.

import { lang, t } from './i18n.js';
import { serverNow } from './state.js';

export const $ = (id) => document.getElementById(id);

export function text(el, value) { el.textContent = value; return el; }

export function make(tag, className, content) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (content !== undefined) el.textContent = content;
  return el;
}

export function emptyRow(tbody, columns, message) {
  const row = tbody.insertRow();
  const cell = row.insertCell();
  cell.colSpan = columns;
  cell.className = 'empty';
  cell.textContent = message;
}

export function flash(id) {
  const kpi = $(id).closest('.kpi');
  kpi.classList.add('flash');
  setTimeout(() => kpi.classList.remove('flash'), 400);
}

export function fmt(n) { return n === null || n === undefined ? '–' : Number(n).toLocaleString(lang()); }

const BYTE_UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'];

/** "1.5 MB": bytes in the largest unit that keeps the number at least 1 (powers of 1024). */
export function bytes(n) {
  if (n === null || n === undefined) return '–';
  let value = Number(n);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) { value /= 1024; unit += 1; }
  return new Intl.NumberFormat(lang(), { style: 'unit', unit: BYTE_UNITS[unit],
    unitDisplay: unit ? 'short' : 'long', maximumFractionDigits: unit ? 1 : 0 }).format(value);
}

export function formatTime(iso, withDate) {
  if (!iso) return '–';
  const d = new Date(iso);
  return withDate ? d.toLocaleString(lang()) : d.toLocaleTimeString(lang());
}

export function ago(iso) {
  const secs = Math.max(0, Math.round((serverNow() - Date.parse(iso)) / 1000));
  if (secs < 60) return t('ago.secs', { n: secs });
  if (secs < 3600) return t('ago.mins', { n: Math.round(secs / 60) });
  if (secs < 86400) return t('ago.hours', { n: Math.round(secs / 3600) });
  return t('ago.days', { n: Math.round(secs / 86400) });
}
