// The open room's header and bars: title, public or private, the user's role, and which of
// composer, join bar, leave button and invite form show.

import { isDm, renderDmChrome } from './dms.js';
import { t } from './i18n.js';
import { syncModeration } from './moderation.js';
import { renderMembersPanel } from './people-panel.js';
import { syncPinsPanel } from './pins.js';
import { $, current, state } from './state.js';

export function renderRoomChrome() {
  const room = current();
  const admin = state.me?.is_admin;
  $('room-title').textContent = room ? room.name : t('rooms.pick');
  renderMembersPanel();
  syncPinsPanel();
  syncModeration();
  $('welcome').hidden = Boolean(room);
  $('messages').hidden = !room;
  $('room-bar').hidden = !room;
  $('composer-form').hidden = !room || !room.member;
  $('join-bar').hidden = !room || room.member;
  $('leave-room').hidden = !room || !room.member;
  $('invite-form').hidden = !room || !room.member
    || !(room.role === 'admin' || room.role === 'moderator' || admin);
  if (!room) {
    $('room-meta').textContent = '';
    return;
  }
  const parts = [t(room.is_private ? 'rooms.privateTag' : 'rooms.publicTag')];
  if (room.role && room.role !== 'member') parts.push(t(`rooms.role.${room.role}`));
  $('room-meta').textContent = parts.join(' · ');
  $('room-title').classList.toggle('private', room.is_private);
  if (isDm(room)) renderDmChrome(room);
}
