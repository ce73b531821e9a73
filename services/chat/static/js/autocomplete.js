// @-autocomplete in the composer: "@" and letters list the open room's members whose
// username or name shown starts with them; up/down choose, Enter or Tab insert
// "@username ", Escape closes, a click inserts. The list sits over the text box only, never
// over the send button.

import { avatarFor } from './avatars.js';
import { clear, el } from './dom.js';
import { t } from './i18n.js';
import { nameOf, people } from './people.js';
import { $, current, state } from './state.js';

const MAX_SHOWN = 8;
// "@" at the start or after a character that cannot end a name, then the name so far.
const TOKEN = /(?:^|[^\w@.])@([\w.-]*)$/;

let open = null; // {start, end, items, index}

export function bindAutocomplete() {
  const box = $('composer');
  // Capture: runs before the composer's own Enter-to-send handler.
  box.addEventListener('keydown', onKeyDown, true);
  box.addEventListener('input', refresh);
  box.addEventListener('click', refresh);
  box.addEventListener('blur', () => setTimeout(close, 150));
}

function candidates(prefix) {
  const room = current();
  if (!room) return [];
  const wanted = prefix.toLowerCase();
  const found = [];
  for (const id of room.members) {
    if (id === state.me?.id) continue;
    const username = people.get(id)?.username || state.presence.get(id)?.username;
    if (!username) continue;
    const name = nameOf(id, username);
    const words = name.toLowerCase().split(/\s+/);
    if (username.toLowerCase().startsWith(wanted) || name.toLowerCase().startsWith(wanted)
        || words.some((w) => w.startsWith(wanted))) {
      found.push({ id, username, name });
    }
  }
  return found.sort((a, b) => a.username.localeCompare(b.username)).slice(0, MAX_SHOWN);
}

function refresh() {
  const box = $('composer');
  const caret = box.selectionStart;
  if (caret !== box.selectionEnd) { close(); return; }
  const match = TOKEN.exec(box.value.slice(0, caret));
  if (!match) { close(); return; }
  const items = candidates(match[1]);
  if (items.length === 0) { close(); return; }
  const keep = open && open.items[open.index]?.id;
  const index = Math.max(0, items.findIndex((i) => i.id === keep));
  open = { start: caret - match[1].length - 1, end: caret, items, index };
  render();
}

function render() {
  let list = $('mention-list');
  if (!list) {
    list = el('ul', { id: 'mention-list', class: 'mention-list', role: 'listbox',
      dataset: { testid: 'mention-list' }, 'aria-label': t('composer.mentions') });
    $('composer-form').append(list);
  }
  const box = $('composer');
  // Over the text box only: the send button stays uncovered and clickable.
  list.style.left = `${box.offsetLeft}px`;
  list.style.width = `${box.offsetWidth}px`;
  box.setAttribute('aria-expanded', 'true');
  clear(list);
  open.items.forEach((item, n) => {
    const avatar = avatarFor(item.id, item.name, item.username, 'avatar small');
    list.append(el('li', {
      role: 'option', class: n === open.index ? 'active' : '', 'aria-selected': String(n === open.index),
      dataset: { testid: 'mention-option', username: item.username },
      onmousedown: (event) => { event.preventDefault(); choose(n); },
    }, avatar, el('span', { class: 'mention-name', text: item.name }),
    el('span', { class: 'muted small', text: `@${item.username}` })));
  });
}

function close() {
  open = null;
  $('mention-list')?.remove();
  $('composer')?.setAttribute('aria-expanded', 'false');
}

function choose(n) {
  if (!open) return;
  const box = $('composer');
  const text = `@${open.items[n].username} `;
  box.value = box.value.slice(0, open.start) + text + box.value.slice(open.end);
  const caret = open.start + text.length;
  box.setSelectionRange(caret, caret);
  close();
  box.focus();
  box.dispatchEvent(new Event('input', { bubbles: true })); // the composer's height, typing
}

function onKeyDown(event) {
  if (!open || event.isComposing) return;
  const moves = { ArrowDown: 1, ArrowUp: -1 };
  if (event.key in moves) {
    open.index = (open.index + moves[event.key] + open.items.length) % open.items.length;
    render();
  } else if (event.key === 'Enter' || event.key === 'Tab') {
    choose(open.index);
  } else if (event.key === 'Escape') {
    close();
  } else {
    return;
  }
  event.preventDefault();
  event.stopImmediatePropagation();
}
