"""What the reaction, pin and edit-log stores promise the use cases, checked against the
in-memory fakes (`tests/unit/chat/test_marks_fakes.py`) and the SQLAlchemy stores on a
SQLite file (`tests/integration/chat/test_marks_stores.py`). The subject is the store
contract's (`store_contract.py`): alice (1) and bob (2) in room 1, messages 1-3 by alice."""

from __future__ import annotations

from datetime import timedelta

from services.chat.domain.marks import MessageEdit, Pin
from tests.unit.chat.fakes import T0
from tests.unit.chat.store_contract import StoreSubject, seeded


class MarksContract:
    async def test_a_reaction_is_one_row_per_user_and_emoji(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            assert await tx.reactions.add(1, 1, 2, "👍", T0) is True
            assert await tx.reactions.add(1, 1, 2, "👍", T0 + timedelta(seconds=1)) is False
            assert await tx.reactions.add(1, 1, 1, "🎉", T0 + timedelta(seconds=2)) is True
            assert await tx.reactions.add(1, 1, 1, "👍", T0 + timedelta(seconds=3)) is True
            assert await tx.reactions.add(2, 1, 1, "👍", T0) is True
        async with subject.uow.write() as tx:
            assert await tx.reactions.counts(1) == {"👍": 2, "🎉": 1}
            assert list(await tx.reactions.counts(1)) == ["👍", "🎉"]  # first used first
            assert await tx.reactions.remove(1, 2, "👍") is True
            assert await tx.reactions.remove(1, 2, "👍") is False
        async with subject.uow.read() as tx:
            marks = await tx.reactions.marks([1, 2, 3])
        assert sorted((r.user_id, r.username, r.emoji) for r in marks.reactions[1]) == [
            (1, "alice", "🎉"), (1, "alice", "👍")]
        assert [(r.message_id, r.emoji) for r in marks.reactions[2]] == [(2, "👍")]
        assert 3 not in marks.reactions and marks.pins == {}

    async def test_pins_are_one_per_message_newest_first(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            alice = await tx.users.get(1)
            assert alice is not None
            alice.display_name = "Alice A."
            await tx.users.update_account(alice)
            assert await tx.pins.pin(Pin(1, 1, 2, T0)) is True
            assert await tx.pins.pin(Pin(1, 1, 1, T0 + timedelta(seconds=9))) is False
            assert await tx.pins.pin(Pin(3, 1, 1, T0 + timedelta(seconds=5))) is True
        async with subject.uow.read() as tx:
            pinned = await tx.pins.of_room(1, 10)
            marks = await tx.reactions.marks([1, 2])
        async with subject.uow.read() as tx:
            as_read = [await tx.messages.get(m.id) for m in pinned]
        # The same message as any other read gives it (the author's current name included).
        assert [m.display_name for m in pinned] == [m.display_name for m in as_read if m] == [
            "Alice A.", "Alice A."]
        assert [(m.id, m.content, m.pin) for m in pinned] == [
            (3, "three", Pin(3, 1, 1, T0 + timedelta(seconds=5), "alice")),
            (1, "one", Pin(1, 1, 2, T0, "bob"))]
        assert marks.pins == {1: Pin(1, 1, 2, T0, "bob")}
        async with subject.uow.write() as tx:
            assert await tx.pins.unpin(1) == Pin(1, 1, 2, T0)
            assert await tx.pins.unpin(1) is None
            message = await tx.messages.get(3)
            assert message is not None
            message.is_deleted = True
            await tx.messages.update(message)
        async with subject.uow.read() as tx:
            assert await tx.pins.of_room(1, 10) == []

    async def test_the_edit_log_reads_newest_first(self, subject: StoreSubject) -> None:
        await seeded(subject)
        async with subject.uow.write() as tx:
            await tx.edits.add(MessageEdit(1, 1, 1, "edited", "one", "uno", T0))
            await tx.edits.add(MessageEdit(1, 1, 2, "deleted", "uno", None,
                                           T0 + timedelta(seconds=1)))
            await tx.edits.add(MessageEdit(2, 1, 1, "edited", "two", "dos", T0))
        async with subject.uow.read() as tx:
            edits = await tx.edits.of_message(1, 10)
            assert len(await tx.edits.of_message(1, 1)) == 1
        assert [(e.action, e.editor_id, e.editor_username, e.previous_content, e.new_content,
                 e.edited_at) for e in edits] == [
            ("deleted", 2, "bob", "uno", None, T0 + timedelta(seconds=1)),
            ("edited", 1, "alice", "one", "uno", T0)]
        assert all(e.id is not None for e in edits)
