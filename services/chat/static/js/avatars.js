// Avatars: a person's initials on their hue, with their picture over them when they have one
// (`avatar_url`, from members lists, people search, profiles and /api/auth/me). The initials
// stay underneath: they show while the picture loads, and for good if it fails.

import { ownPath } from './attachments.js';
import { el, hueOf, initials } from './dom.js';
import { people } from './people.js';

/** The picture the page knows for `userId`, or null. */
export function avatarUrlOf(userId) {
  return people.get(userId)?.avatar_url || null;
}

/** Draw into `node` (a `.avatar`): `name`'s initials on the hue of `hueKey`, and the picture
 *  at `url` (default: the one known for `userId`). Returns `node`. */
export function paintAvatar(node, { userId = null, name, hueKey, url } = {}) {
  node.replaceChildren(document.createTextNode(initials(name)));
  node.style.setProperty('--hue', hueOf(hueKey || name));
  const src = ownPath(url !== undefined ? url : avatarUrlOf(userId));
  if (!src) return node;
  const img = el('img', { class: 'avatar-img', src, alt: '', decoding: 'async',
    dataset: { testid: 'avatar-img' } });
  img.addEventListener('error', () => img.remove());
  node.append(img);
  return node;
}

/** A new `.avatar` element for a user (`cls`: e.g. 'avatar small'). */
export function avatarFor(userId, name, hueKey, cls = 'avatar') {
  return paintAvatar(el('span', { class: cls, 'aria-hidden': 'true' }),
    { userId, name, hueKey });
}
