// A message's files under its text: an image as its thumbnail (its size known before it
// loads, so nothing jumps; a click opens the whole file in a new tab), anything else as a
// download link with its name and size. Paths come from the server and stay on this origin.

import { el } from './dom.js';
import { lang, t } from './i18n.js';

// The largest box a thumbnail is drawn in, in CSS pixels (the CSS keeps it in the bubble).
const THUMB_MAX_W = 320;
const THUMB_MAX_H = 240;
const UNITS = ['byte', 'kilobyte', 'megabyte', 'gigabyte'];

/** "1.5 MB" in the page's language (powers of 1024). */
export function formatBytes(n) {
  let value = Math.max(0, Number(n) || 0);
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) { value /= 1024; unit += 1; }
  try {
    // "0 bytes", "12 bytes", then "1.5 kB": the short form of a byte is "byte" whatever n.
    return new Intl.NumberFormat(lang(), { style: 'unit', unit: UNITS[unit],
      unitDisplay: unit ? 'short' : 'long', maximumFractionDigits: unit ? 1 : 0 }).format(value);
  } catch {
    return `${Math.round(value * 10) / 10} ${['B', 'KB', 'MB', 'GB'][unit]}`;
  }
}

/** A same-origin path the server gave (`/api/...`), else null: nothing else becomes a link. */
export function ownPath(value) {
  return typeof value === 'string' && value.startsWith('/api/') && !value.startsWith('//')
    ? value : null;
}

/** The thumbnail's drawn size: the image's proportions inside the box, never enlarged. */
export function thumbSize(width, height) {
  if (!(width > 0 && height > 0)) return null;
  const scale = Math.min(1, THUMB_MAX_W / width, THUMB_MAX_H / height);
  return { width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)) };
}

function imageTile(file, url, thumb) {
  const size = thumbSize(file.width, file.height);
  const img = el('img', { class: 'attachment-thumb', src: thumb, alt: file.name || '',
    loading: 'lazy', decoding: 'async', dataset: { testid: 'attachment-thumbnail' },
    width: size?.width, height: size?.height });
  return el('a', { class: 'attachment attachment-image', href: url, target: '_blank',
    rel: 'noopener noreferrer', title: `${file.name} · ${formatBytes(file.size)}`,
    dataset: { testid: 'attachment-image', fileId: file.id } }, img);
}

function fileLink(file, url) {
  return el('a', { class: 'attachment attachment-file', href: url, download: file.name || true,
    rel: 'noopener', title: t('files.download', { name: file.name }),
    dataset: { testid: 'attachment-file', fileId: file.id } },
  el('span', { class: 'attachment-icon', 'aria-hidden': 'true' }),
  el('span', { class: 'attachment-name', dataset: { testid: 'attachment-name' }, text: file.name }),
  el('span', { class: 'attachment-size', dataset: { testid: 'attachment-size' },
    text: formatBytes(file.size) }));
}

/** The files of `msg` (none for a deleted message), appended to `parent`. */
export function addAttachments(parent, msg) {
  const files = Array.isArray(msg.attachments) ? msg.attachments : [];
  if (msg.is_deleted || !files.length) return;
  const list = el('div', { class: 'attachments', dataset: { testid: 'attachments' } });
  for (const file of files) {
    const url = ownPath(file.url);
    if (!url) continue;
    const thumb = ownPath(file.thumbnail_url);
    list.append(thumb ? imageTile(file, url, thumb) : fileLink(file, url));
  }
  if (list.childElementCount) parent.append(list);
}
