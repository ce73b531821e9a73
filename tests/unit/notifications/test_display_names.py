"""Titles name the sender as chat shows them: the display name from `user.registered` or
the latest `user.updated`, else the username."""

from __future__ import annotations

from services.notifications import use_cases
from shared.contracts import UserRegistered, UserUpdated
from tests.unit.notifications.fakes import T0
from tests.unit.notifications.test_use_cases import ALICE, BOB, World


async def titles(world: World, user_id: int) -> list[str]:
    page = await use_cases.list_inbox(world.deps, user_id)
    return [n.title for n in page.notifications]


async def test_titles_use_the_senders_current_display_name() -> None:
    world = World()
    await world.room_of((ALICE, "alice", "admin"), (BOB, "bob", "member"))
    await world.apply(world.message(ALICE, "hi @bob", "bob"))
    await world.apply(UserUpdated(user_id=ALICE, username="alice", display_name="Alicia",
                                  updated_at=T0))
    await world.apply(world.message(ALICE, "again @bob", "bob"))
    await world.apply(UserUpdated(user_id=ALICE, username="alice", display_name=None,
                                  updated_at=T0))
    await world.apply(world.message(ALICE, "and @bob", "bob"))
    # Newest first; an entry keeps the name it was made with.
    assert await titles(world, BOB) == ["alice mentioned you", "Alicia mentioned you",
                                        "alice mentioned you"]


async def test_a_display_name_given_at_sign_up_titles_too_and_updates_keep_admin() -> None:
    world = World()
    await world.room_of((BOB, "bob", "member"))
    await world.apply(UserRegistered(user_id=ALICE, username="alice", display_name="Ali",
                                     is_admin=True, registered_at=T0))
    await world.apply(world.message(ALICE, "hi @bob", "bob"))
    assert await titles(world, BOB) == ["Ali mentioned you"]
    await world.apply(UserUpdated(user_id=ALICE, username="alice", status_text="busy",
                                  display_name="Ali", updated_at=T0))
    async with world.deps.uow.read() as tx:
        known = await tx.users.get(ALICE)
    assert known is not None and (known.is_admin, known.display_name) == (True, "Ali")
