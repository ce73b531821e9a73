"""In-memory administration stores (settings, invitations, the directory), behaving like
`sqla_admin` where it shows."""

from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.chat.domain import Room, User
from services.chat.domain.admin import Invitation, UserStatus
from tests.support.memory_uow import MemoryStore

if TYPE_CHECKING:
    pass


class InMemoryServerSettingsStore(MemoryStore["ChatState"]):
    async def all(self) -> dict[str, Any]:
        return copy.deepcopy(self._state.server_settings)

    async def put(self, values: dict[str, Any], by: int | None, now: datetime) -> None:
        self._writing()
        self._state.server_settings.update(copy.deepcopy(values))


class InMemoryInvitationStore(MemoryStore["ChatState"]):
    async def add(self, token: str, created_by: int | None, now: datetime,
                  expires_at: datetime, max_uses: int) -> Invitation:
        self._writing()
        invitation = Invitation(self._state.next_id("invitations"), token, created_by, now,
                                expires_at, max_uses)
        self._state.invitations[invitation.id] = invitation
        return replace(invitation)

    async def get(self, invitation_id: int) -> Invitation | None:
        found = self._state.invitations.get(invitation_id)
        return replace(found) if found else None

    async def by_token(self, token: str) -> Invitation | None:
        found = next((i for i in self._state.invitations.values() if i.token == token), None)
        return replace(found) if found else None

    async def page(self, limit: int) -> list[Invitation]:
        return [replace(i) for _, i in sorted(self._state.invitations.items(),
                                              reverse=True)][:limit]

    async def use(self, token: str, now: datetime) -> Invitation | None:
        self._writing()
        found = next((i for i in self._state.invitations.values() if i.token == token), None)
        if (found is None or found.revoked_at is not None or found.expires_at <= now
                or found.uses >= found.max_uses):
            return None
        found.uses += 1
        return replace(found)

    async def revoke(self, invitation_id: int, now: datetime) -> Invitation | None:
        self._writing()
        found = self._state.invitations.get(invitation_id)
        if found is not None and found.revoked_at is None:
            found.revoked_at = now
        return replace(found) if found else None


def _contains(value: str | None, query: str) -> bool:
    return value is not None and query.lower() in value.lower()


class InMemoryAdminDirectory(MemoryStore["ChatState"]):
    async def users(self, query: str, status: UserStatus, after_id: int | None,
                    limit: int) -> list[User]:
        found = [u for _, u in sorted(self._state.users.items())
                 if u.deleted_at is None
                 and (not query or _contains(u.username, query)
                      or _contains(u.display_name, query))
                 and (status == "all" or (status == "active") == (u.deactivated_at is None))
                 and (after_id is None or u.id > after_id)]
        return [replace(u) for u in found[:limit]]

    async def rooms(self, query: str, archived: bool | None, after_id: int | None,
                    limit: int) -> list[tuple[Room, int]]:
        found = [r for _, r in sorted(self._state.rooms.items())
                 if r.kind == "room" and (not query or _contains(r.name, query))
                 and (archived is None or archived == (r.archived_at is not None))
                 and (after_id is None or r.id > after_id)]
        return [(replace(r), sum(1 for (room_id, _) in self._state.members if room_id == r.id))
                for r in found[:limit]]

    async def admins(self) -> list[int]:
        self._writing()  # the real stores answer (and hold) this in a write transaction
        return sorted(u.id for u in self._state.users.values() if u.is_admin and u.active)
