"""How many events per second one notifications instance applies (the lease holder does
all of it: docs/operations.md, Several notifications instances).

A backlog of `message.created` events (each mentioning one member of a room of
`--members`) is published to a fresh nats-server first; then one instance starts and the
time until its consumer has nothing pending or unacknowledged is measured.

    .venv/bin/python bench/notifications_apply.py --events 3000
    .venv/bin/python bench/notifications_apply.py --events 3000 \\
        --database postgresql+asyncpg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from services.launcher import NatsServerProcess
from services.notifications import bootstrap
from services.notifications.settings import NotificationsSettings
from shared.auth import TokenIssuer, generate_private_key_pem
from shared.bus import RawEvent
from shared.bus.nats import NatsEventBus
from shared.contracts import (
    EVENTS_STREAM,
    MemberJoined,
    MessageCreated,
    RoomCreated,
    UserRegistered,
    new_event,
)
from shared.contracts.permissions import NOTIFICATIONS_DURABLE


def _backlog(events: int, members: int, rooms: int) -> list[RawEvent]:
    now = datetime.now(UTC)
    made = []

    def add(model: object) -> None:
        subject, event = new_event(model, source="bench")  # type: ignore[arg-type]
        made.append(RawEvent(subject, event.id, event.to_bytes()))

    users = [(n, f"user{n}") for n in range(1, rooms * members + 1)]
    for user_id, name in users:
        add(UserRegistered(user_id=user_id, username=name, is_admin=False, registered_at=now))
    for room in range(1, rooms + 1):
        add(RoomCreated(room_id=room, name=f"room{room}", is_private=False,
                        created_by=users[(room - 1) * members][0], created_at=now))
        for user_id, name in users[(room - 1) * members:room * members]:
            add(MemberJoined(room_id=room, user_id=user_id, username=name, role="member",
                             joined_at=now))
    for n in range(events):
        room = n % rooms + 1
        in_room = users[(room - 1) * members:room * members]
        sender, mentioned = in_room[n % members], in_room[(n + 1) % members]
        add(MessageCreated(message_id=n + 1, room_id=room, seq=n // rooms + 1,
                           user_id=sender[0], username=sender[1],
                           content=f"@{mentioned[1]} number {n}", mentions=[mentioned[1]],
                           created_at=now))
    return made


def _public_pem() -> str:
    key = TokenIssuer(generate_private_key_pem()).public_key
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


async def _database(url: str | None) -> tuple[str | None, str | None]:
    """A fresh PostgreSQL database beside `url` (dropped afterwards), or SQLite."""
    if url is None:
        return None, None
    import asyncpg

    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(url.replace("+asyncpg", ""))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return f"{url.rpartition('/')[0]}/{name}", name


async def main(events: int, members: int, rooms: int, database: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp, NatsServerProcess(Path(tmp) / "nats") as nats:
        publisher = NatsEventBus(nats.url, name="bench")
        await publisher.connect()
        backlog = _backlog(events, members, rooms)
        for start in range(0, len(backlog), 500):
            assert all(await publisher.publish_events(backlog[start:start + 500]))
        url, made = await _database(database)
        settings = NotificationsSettings(
            data_dir=Path(tmp) / "data", nats_url=nats.url, database_url=url,
            jwt_public_key_pem=_public_pem(), log_json=False, log_level="WARNING")
        svc = bootstrap.wire(settings)
        try:
            started = time.perf_counter()
            async with bootstrap.running(svc):
                js = publisher.jetstream
                while True:
                    info = await js.consumer_info(EVENTS_STREAM, NOTIFICATIONS_DURABLE)
                    if (info.num_pending, info.num_ack_pending) == (0, 0):
                        break
                    await asyncio.sleep(0.05)
                took = time.perf_counter() - started
        finally:
            await publisher.close()
            if made is not None and database is not None:
                import asyncpg

                admin = await asyncpg.connect(database.replace("+asyncpg", ""))
                await admin.execute(f'DROP DATABASE IF EXISTS "{made}" WITH (FORCE)')
                await admin.close()
        kind = "PostgreSQL" if database else "SQLite"
        print(f"{kind}: {len(backlog)} events ({events} message.created, rooms of {members}) "
              f"applied in {took:.2f}s: {len(backlog) / took:,.0f} events/s, "
              f"{events / took:,.0f} messages/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--members", type=int, default=5)
    parser.add_argument("--rooms", type=int, default=10)
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default SQLite)")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.members, args.rooms, args.database))
