// The `view` frame: which joined room this tab shows, and whether the tab is visible.

import { current, socket, state } from './state.js';

/** Tell the server which joined room this tab shows and whether the tab is visible: nobody
 * is notified of what is on their screen, and everybody of what is not. */
export function sendView() {
  const room = current();
  const roomId = room && room.joinState === 'joined' ? room.id : null;
  const visible = document.visibilityState === 'visible';
  const said = `${roomId}:${visible}`;
  if (said === state.viewSent) return;
  if (socket.send({ type: 'view', room_id: roomId, visible })) state.viewSent = said;
}
