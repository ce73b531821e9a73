// The Activity list: the newest first, at most 60.

import { $, formatTime, make } from './dom.js';
import { serverNow } from './state.js';

const MAX_ACTIVITY = 60;

export function log(message, at) {
  const list = $('activity');
  const li = make('li');
  li.append(make('time', '', formatTime(at || new Date(serverNow()).toISOString())), message);
  list.prepend(li);
  while (list.children.length > MAX_ACTIVITY) list.lastChild.remove();
}
