// What is said about a message after it was posted, added to its node as it is built:
// reactions, the pin, and (for moderators) the editing history.

import { addHistoryLink } from './edit-history.js';
import { addPinControls } from './pins.js';
import { addReactions } from './reactions.js';

export function decorateMessage(node, head, bubble, msg) {
  addPinControls(node, head, bubble, msg);
  addHistoryLink(head, msg);
  addReactions(bubble, msg);
}
