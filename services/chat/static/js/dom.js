// Small DOM helpers. User data only ever becomes text nodes: nothing here parses HTML.

import { renderMessage } from './formatted.js';

/** el('div', {class: 'x', dataset: {testid: 'y'}, onclick: fn}, 'text', childNode, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'text') node.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2), value);
    } else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

// The server's rule (services/chat/domain.py MENTION_RE), without a look-behind so that
// older browsers parse it: "@name" not preceded by a word character, "@" or ".".
const MENTION = /@([A-Za-z0-9_][A-Za-z0-9_.-]{1,30}[A-Za-z0-9_])/g;
const BEFORE_MENTION_BAD = /[\w@.]/;

/** The @names in `text`, lower-cased. */
export function mentionsIn(text) {
  const names = [];
  for (const part of splitMentions(text)) if (part.mention) names.push(part.mention.toLowerCase());
  return names;
}

/** Does `text` mention `username` (or @room)? */
export function mentionsMe(text, username) {
  if (!text || !username) return false;
  const mine = username.toLowerCase();
  return mentionsIn(text).some((name) => name === mine || name === 'room');
}

/** [{text}, {text: '@bob', mention: 'bob'}, ...]: plain runs and mentions, in order. */
export function splitMentions(text) {
  const parts = [];
  let last = 0;
  MENTION.lastIndex = 0;
  let match;
  while ((match = MENTION.exec(text)) !== null) {
    const before = match.index > 0 ? text[match.index - 1] : '';
    if (before && BEFORE_MENTION_BAD.test(before)) continue;
    if (match.index > last) parts.push({ text: text.slice(last, match.index) });
    parts.push({ text: match[0], mention: match[1] });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  return parts;
}

/** `text` as formatted nodes (js/formatted.js: markdown subset, mentions, links) into `node`. */
export function renderContent(node, text, me) {
  renderMessage(node, text, me);
}

/** A stable hue per username, for avatars. */
export function hueOf(name) {
  let hash = 0;
  for (const ch of String(name)) hash = (hash * 31 + ch.codePointAt(0)) % 360;
  return hash;
}

export function initials(name) {
  const clean = String(name || '?').replace(/[^A-Za-z0-9]/g, '');
  return (clean.slice(0, 2) || '?').toUpperCase();
}

const SVG_NS = 'http://www.w3.org/2000/svg';

const ICONS = {
  lock: 'M4 7V5a4 4 0 0 1 8 0v2h1v8H3V7zm2 0h4V5a2 2 0 0 0-4 0z',
  close: 'M3.4 2 8 6.6 12.6 2 14 3.4 9.4 8l4.6 4.6-1.4 1.4L8 9.4 3.4 14 2 12.6 6.6 8 2 3.4z',
  check: 'M6.2 10.6 13 3.8l1.4 1.4-8.2 8.2L1.6 8.8 3 7.4z',
};

/** A small icon drawn with SVG (no icon font, no emoji font needed). */
export function icon(name, size = 12) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(SVG_NS, 'path');
  path.setAttribute('fill', 'currentColor');
  path.setAttribute('d', ICONS[name]);
  svg.append(path);
  return svg;
}
