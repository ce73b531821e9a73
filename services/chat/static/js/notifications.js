// The `notification` and `admin_broadcast` frames: into the inbox, a toast and a desktop
// notification, unless the message is on screen already.

import { api } from './api.js';
import { t } from './i18n.js';
import { plainText } from './markdown.js';
import { desktop, roomToast, toast } from './notify.js';
import { selectRoom } from './room-view.js';
import { inbox, state, viewing } from './state.js';

export function onNotification(n) {
  const roomId = n.data?.room_id;
  const open = roomId ? () => selectRoom(roomId) : undefined;
  const room = roomId ? state.rooms.get(roomId) : null;
  if (room && viewing(room) && document.hasFocus()) {
    // The message is on screen already: the notification about it is read.
    inbox.add({ ...n, read: true });
    api(`/api/notifications/${encodeURIComponent(n.id)}/read`, { method: 'POST' })
      .catch(() => {});
    return;
  }
  inbox.add(n);
  // The service sends a plain preview; entries kept from before it did may hold markers.
  // A message of files alone has no text to preview.
  const preview = plainText(n.content || '') || t('files.noText');
  toast('notification', n.title, preview,
    { onClick: open, key: roomId ? roomToast(roomId) : undefined });
  desktop(n.title, preview, open);
}

export function onBroadcast(data) {
  const title = t('notify.broadcastFrom', { from: data.from || '' });
  toast('broadcast', title, data.message);
  desktop(title, data.message);
}
