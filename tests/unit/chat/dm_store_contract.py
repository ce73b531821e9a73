"""What the DM store (`ports.DmStore`) promises, checked the same way against the in-memory
fake (`tests/unit/chat/test_dms.py`) and `sqla_dms.SqlaDmStore` on a SQLite file
(`tests/integration/chat/test_dms.py`). A subclass provides `subject`, as for
`store_contract.StoreContract`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from services.chat.domain import Conflict, Member
from tests.unit.chat.fakes import T0

if TYPE_CHECKING:
    from tests.unit.chat.store_contract import StoreSubject


async def _people(subject: StoreSubject, *names: str) -> None:
    async with subject.uow.write() as tx:
        for name in names:
            await tx.users.add(name, None, "h", False, T0)


class DmStoreContract:
    async def test_a_key_is_one_dm(self, subject: StoreSubject) -> None:
        await _people(subject, "alice", "bob")
        async with subject.uow.write() as tx:
            room = await tx.dms.add("1,2", "dm:1,2", 1, T0)
            for user_id, name in ((1, "alice"), (2, "bob")):
                await tx.members.add(Member(room.id, user_id, name, "member", T0))
        assert (room.kind, room.dm_key, room.is_private) == ("dm", "1,2", True)
        with pytest.raises(Conflict) as taken:
            async with subject.uow.write() as tx:
                await tx.dms.add("1,2", "dm:1,2", 2, T0)
        assert taken.value.code == "dm_exists"
        async with subject.uow.read() as tx:
            found = await tx.dms.by_key("1,2")
            assert found is not None and (found.id, found.kind, found.dm_key) == (
                room.id, "dm", "1,2")
            assert await tx.dms.by_key("1,3") is None
            again = await tx.rooms.get(room.id)
            assert again is not None and again.kind == "dm"
            people = await tx.dms.members_of([room.id, 999])
            assert [m.username for m in people[room.id]] == ["alice", "bob"]
            assert people[999] == []
            assert await tx.dms.members_of([]) == {}

    async def test_rooms_are_of_kind_room_with_no_key(self, subject: StoreSubject) -> None:
        await _people(subject, "alice")
        async with subject.uow.write() as tx:
            room = await tx.rooms.add("general", None, False, 1, T0)
            other = await tx.rooms.add("random", None, False, 1, T0)
        assert (room.kind, room.dm_key) == ("room", None)
        async with subject.uow.read() as tx:
            # Rooms have no key: many NULLs are not a uniqueness clash.
            for got in (await tx.rooms.get(room.id), await tx.rooms.get(other.id)):
                assert got is not None and (got.kind, got.dm_key) == ("room", None)

    async def test_people_by_username_prefix_active_only(self, subject: StoreSubject) -> None:
        await _people(subject, "Alice", "alan", "a_b", "ab", "bob")
        async with subject.uow.write() as tx:
            gone = await tx.users.get(5)
            assert gone is not None
            gone.deleted_at = T0
            await tx.users.update_account(gone)
        async with subject.uow.read() as tx:
            assert [u.username for u in await tx.dms.people("al", 10)] == ["alan", "Alice"]
            # `_` is a character, not a wildcard.
            assert [u.username for u in await tx.dms.people("a_", 10)] == ["a_b"]
            assert [u.username for u in await tx.dms.people("", 3)] == ["a_b", "ab", "alan"]
            assert await tx.dms.people("bob", 10) == []
