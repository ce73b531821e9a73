// What is said about a message after it was posted, added to its node as it is built:
// reactions, the pin, (for moderators) the editing history, and "Report".

import { addHistoryLink } from './edit-history.js';
import { addReportControl } from './moderation.js';
import { addPinControls } from './pins.js';
import { addReactions } from './reactions.js';
import { state, view } from './state.js';

export function decorateMessage(node, head, bubble, msg) {
  addPinControls(node, head, bubble, msg);
  addHistoryLink(head, msg);
  addReactions(bubble, msg);
  addReportControl(bubble, msg);
}

/** Rebuild a shown message's node where it is, without scrolling (`view.upsert` follows
 *  one's own messages to the bottom: right for a new one, not for a reaction to an old one). */
export function rerender(msg) {
  if (msg.room_id !== state.currentId) return;
  const key = `m${msg.id}`;
  const old = view.nodes.get(key);
  if (!old) return;
  const fresh = view.build(msg, false);
  old.replaceWith(fresh);
  view.nodes.set(key, fresh);
}
