// Rooms: search by name, archived or not; archive, unarchive, public or private, a new owner.

import { t } from './i18n.js';
import { el } from './dom.js';
import { button, field, itemRow, pagedList } from './admin-kit.js';

function actionsOf(room, ctx, refresh) {
  const act = (path, body, doneKey) => async () => {
    try {
      await ctx.api(`/api/admin/rooms/${room.id}/${path}`, { method: 'POST', body });
      ctx.ok(t(doneKey, { name: room.name }));
      await refresh();
    } catch (error) {
      ctx.fail(error);
    }
  };
  const owner = el('input', { inputmode: 'numeric', class: 'admin-narrow',
    'data-i18n-placeholder': 'admin.rooms.ownerId', placeholder: t('admin.rooms.ownerId'),
    'aria-label': t('admin.rooms.ownerId') });
  return [
    room.archived_at
      ? button('admin.rooms.unarchive', act('unarchive', undefined, 'admin.rooms.unarchived'),
        { testid: 'room-unarchive' })
      : button('admin.rooms.archive', act('archive', undefined, 'admin.rooms.archived'),
        { testid: 'room-archive' }),
    button(room.is_private ? 'admin.rooms.makePublic' : 'admin.rooms.makePrivate',
      act('visibility', { is_private: !room.is_private }, 'admin.rooms.visibilityChanged'),
      { testid: 'room-visibility' }),
    el('span', { class: 'admin-inline' }, owner, button('admin.rooms.setOwner', () => {
      const id = Number(owner.value);
      if (Number.isInteger(id) && id > 0) act('owner', { user_id: id }, 'admin.rooms.ownerChanged')();
    }, { testid: 'room-owner' })),
  ];
}

export const roomsSection = {
  id: 'rooms',
  titleKey: 'admin.rooms.title',
  render(container, ctx) {
    const query = el('input', { type: 'search', 'data-i18n-placeholder': 'admin.rooms.search',
      placeholder: t('admin.rooms.search') });
    const archived = el('select', {},
      ...[['', 'all'], ['false', 'open'], ['true', 'archived']].map(([value, key]) => el('option',
        { value, 'data-i18n': `admin.rooms.filter.${key}`, text: t(`admin.rooms.filter.${key}`) })));
    const form = el('form', { class: 'admin-filters', role: 'search' },
      field('admin.rooms.search', query), field('admin.rooms.filterLabel', archived),
      el('button', { type: 'submit', class: 'small-button', 'data-i18n': 'admin.find',
        text: t('admin.find') }));
    container.append(form);
    const refresh = pagedList(container, async (cursor) => {
      const params = new URLSearchParams({ q: query.value.trim(), limit: '25' });
      if (archived.value) params.set('archived', archived.value);
      if (cursor) params.set('cursor', cursor);
      const page = await ctx.api(`/api/admin/rooms?${params}`);
      return { items: page.rooms, next: page.next_cursor };
    }, (room, again) => itemRow(room.name, [
      room.is_private ? t('admin.rooms.private') : t('admin.rooms.public'),
      room.archived_at && t('admin.rooms.isArchived'),
      t('admin.rooms.members', { n: room.member_count }),
      t('admin.rooms.owner', { id: room.created_by ?? '—' }),
    ], actionsOf(room, ctx, again), `room-${room.id}`), ctx);
    form.addEventListener('submit', (event) => { event.preventDefault(); refresh(); });
    archived.addEventListener('change', () => refresh());
  },
};
