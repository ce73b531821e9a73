"""What the presence stores promise, checked the same way against the in-memory fakes
(`tests/unit/presence/test_fakes.py`) and the real adapters — the JetStream KV bucket on a
real nats-server and the SQLAlchemy records on a real SQLite file
(`tests/integration/presence/test_fakes.py`) — so the fakes the use-case tests run on
cannot drift from what the service runs on.

A subclass provides one fixture, `subject`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from services.presence.domain import Connection, PresenceRecord
from services.presence.ports import ConnectionStore, PresenceRecords
from tests.unit.presence.fakes import T0

# Long enough that a poll of the real bucket notices one entry gone well before the next.
TTL_SECS = 2.0


class ConnectionStoreSubject(Protocol):
    store: ConnectionStore

    async def let_pass(self, secs: float) -> None:
        """Time passes: the fake's clock moves, the real one is waited for."""
        ...

    async def once_forgotten(self, connection_id: str) -> list[Connection]:
        """Let time pass until `connection_id` is no longer stored (failing if that takes
        far longer than the TTL); what is stored at that moment."""
        ...


def connection(cid: str, user_id: int = 1, *, manual: str | None = None,
               rooms: tuple[int, ...] = (1,)) -> Connection:
    return Connection(cid, user_id, f"u{user_id}", "chat-a", rooms, rooms[0] if rooms else None,
                      T0, T0 + timedelta(seconds=3, microseconds=250),
                      T0 + timedelta(seconds=5), manual=manual)  # type: ignore[arg-type]


def by_id(connections: Sequence[Connection]) -> dict[str, Connection]:
    return {c.connection_id: c for c in connections}


class ConnectionStoreContract:
    async def test_entries_read_back_as_they_were_saved(
            self, subject: ConnectionStoreSubject) -> None:
        saved = [connection("3f0c-9a", 7, manual="busy", rooms=(1, 2)),
                 connection("b-2", 8, rooms=()), connection("odd.id* >", 9)]
        assert await subject.store.load_all() == []
        await subject.store.save(saved)
        assert by_id(await subject.store.load_all()) == by_id(saved)

    async def test_a_save_replaces_the_entry_and_a_remove_forgets_it(
            self, subject: ConnectionStoreSubject) -> None:
        a, b = connection("a-1"), connection("b-2", 2)
        await subject.store.save([a, b])
        moved = replace(a, current_room=4, rooms=(1, 4), manual="away")  # type: ignore[arg-type]
        await subject.store.save([moved])
        await subject.store.remove([b, connection("never-saved")])
        await subject.store.save([])
        await subject.store.remove([])
        assert await subject.store.load_all() == [moved]

    async def test_an_entry_not_written_again_is_forgotten_after_the_ttl(
            self, subject: ConnectionStoreSubject) -> None:
        heard, silent = connection("heard"), connection("silent", 2)
        await subject.store.save([heard, silent])
        await subject.let_pass(TTL_SECS / 2)
        await subject.store.save([heard])  # its replica's heartbeat
        assert await subject.once_forgotten("silent") == [heard]
        assert await subject.once_forgotten("heard") == []


class RecordsSubject(Protocol):
    records: PresenceRecords


def record(user_id: int, status: str = "online", *, username: str | None = None,
           room: int | None = 3) -> PresenceRecord:
    return PresenceRecord(user_id, username or f"user{user_id}", status,  # type: ignore[arg-type]
                          T0 + timedelta(microseconds=user_id), room,
                          T0 + timedelta(minutes=1))


class PresenceRecordsContract:
    async def test_records_read_back_as_saved_and_a_save_replaces_them(
            self, subject: RecordsSubject) -> None:
        await subject.records.save([record(1), record(2, "away"), record(3, "busy")])
        await subject.records.save([record(2, "offline", room=None)])
        await subject.records.save([])
        assert await subject.records.get([1, 2, 404]) == {1: record(1),
                                                          2: record(2, "offline", room=None)}
        assert await subject.records.get([]) == {}

    async def test_who_is_not_offline_and_how_many_per_status(
            self, subject: RecordsSubject) -> None:
        await subject.records.save([record(1), record(2, "away"), record(3, "offline"),
                                    record(4, "offline"), record(5, "busy"),
                                    PresenceRecord(6, "nobody", "offline", None, None, None)])
        assert sorted(r.user_id for r in await subject.records.not_offline()) == [1, 2, 5]
        assert await subject.records.count_by_status() == {
            "online": 1, "away": 1, "busy": 1, "offline": 3}

    async def test_usernames_are_kept_to_32_characters(self, subject: RecordsSubject) -> None:
        await subject.records.save([record(1, username="x" * 40)])
        assert (await subject.records.get([1]))[1].username == "x" * 32

    async def test_many_users_at_once(self, subject: RecordsSubject) -> None:
        many = [record(user_id) for user_id in range(1, 1201)]
        await subject.records.save(many)
        assert await subject.records.get([r.user_id for r in many]) == {
            r.user_id: r for r in many}
