// Layout bits: the narrow screen's sidebar drawer, and the composer growing with its text.

import { $ } from './state.js';

export function setSidebar(open) {
  document.body.classList.toggle('sidebar-open', open);
  $('scrim').hidden = !open;
  $('menu-button').setAttribute('aria-expanded', String(open));
}

export function autosize() {
  const box = $('composer');
  box.style.height = 'auto';
  box.style.height = `${Math.min(box.scrollHeight, 160)}px`;
}
