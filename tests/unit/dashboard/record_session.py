"""Record a real session for the dashboard's unit tests (`data/session.jsonl`).

Run `python -m tests.unit.dashboard.record_session` from the repository root. Two chat
replicas on a private nats-server; three people sign up, make two rooms, open sockets on both
replicas, post, edit and delete; an operator broadcast gets both replicas'
receipts; sockets close and the replicas stop. Everything on `events.>`, `live.connections`,
`live.service.heartbeat` and `live.broadcast.receipts` is written, in arrival order, to
the file, with when each arrived. The core subscription on `events.>` also sees the copies
JetStream de-duplicates (both replicas relay the shared outbox): a good test that the
dashboard counts an event id once. Presence and notifications events are synthesized here
(marked by their `source`) because those services do not exist yet; they are published on
NATS like the rest, so they sit in the recording where the real ones would.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from services.launcher import NatsServerProcess
from shared.bus.nats import NatsEventBus
from shared.contracts import (
    LIVE_BROADCAST,
    NotificationCreated,
    PresenceChanged,
    new_event,
)
from shared.contracts.live import FrameHeaders
from tests.integration.chat.harness import chat_settings, receive, replicas, send, sign_up

OUT = Path(__file__).parent / "data" / "session.jsonl"
SUBJECTS = ("events.>", "live.connections", "live.service.heartbeat",
            "live.broadcast.receipts")
SYNTHESIZED = "tests/recording (synthesized: no presence/notifications service yet)"
BROADCAST_ID = "recorded-broadcast-1"


async def main() -> None:
    lines: list[dict[str, Any]] = []
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        async with NatsServerProcess(Path(tmp) / "nats") as nats:
            recorder = NatsEventBus(nats.url, name="recorder")
            await recorder.connect()

            async def record(msg: Any) -> None:
                lines.append({"at": datetime.now(UTC).isoformat(),
                              "t": round(time.monotonic() - start, 3), "subject": msg.subject,
                              "data": orjson.loads(msg.data)})

            for subject in SUBJECTS:
                await recorder.subscribe(subject, record)
            settings = [chat_settings(Path(tmp), nats.url, replica_id=name,
                                      admin_username="root", admin_password="operator pass 1")
                        for name in ("chat-a", "chat-b")]
            async with replicas(settings) as (a, b):
                await session(recorder, a, b)
                await asyncio.sleep(1.2)
            await asyncio.sleep(0.5)
            await recorder.close()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    print(f"{len(lines)} messages -> {OUT}")


async def synthesize(bus: NatsEventBus, *models: Any) -> None:
    for model in models:
        await bus.publish_event(*new_event(model, source=SYNTHESIZED))


async def session(bus: NatsEventBus, a: Any, b: Any) -> None:
    alice = await sign_up(a, "alice")
    bob = await sign_up(b, "bob")
    carol = await sign_up(a, "carol")
    general = await alice.create_room("general")
    random = await alice.create_room("random")
    for who, room in ((bob, general), (carol, general), (carol, random)):
        response = await who.http.post(f"/api/chat/rooms/{room['id']}/join")
        assert response.status_code == 200, response.text

    def presence(user: Any, status: str, previous: str, room: int | None, n: int,
                 reason: str) -> PresenceChanged:
        return PresenceChanged(user_id=user.id, username=user.username, status=status,
                               previous=previous, current_room=room,
                               last_active_at=datetime.now(UTC), connections=n, reason=reason)

    async with alice.socket(f"/ws/chat/{general['id']}") as ws_alice, \
            bob.socket(f"/ws/chat/{general['id']}") as ws_bob, carol.socket("/ws") as ws_carol:
        await receive(ws_alice, "joined")
        await receive(ws_bob, "joined")
        await send(ws_carol, type="join", room_id=random["id"])
        await receive(ws_carol, "joined")
        await synthesize(bus,
                         presence(alice, "online", "offline", general["id"], 1, "connected"),
                         presence(bob, "online", "offline", general["id"], 1, "connected"),
                         presence(carol, "online", "offline", random["id"], 1, "connected"))
        await asyncio.sleep(1.2)  # a connections heartbeat with every room in it

        for i in range(4):
            await send(ws_alice, type="chat_message", content=f"hola {i}",
                       client_msg_id=f"a{i}")
            await receive(ws_alice, "ack")
        for i in range(3):
            await send(ws_bob, type="chat_message", content=f"qué tal {i}",
                       client_msg_id=f"b{i}")
            await receive(ws_bob, "ack")
        for i in range(3):
            await send(ws_carol, type="chat_message", room_id=random["id"],
                       content=f"@alice mira {i}", client_msg_id=f"c{i}")
            await receive(ws_carol, "ack")
        await synthesize(bus, *[
            NotificationCreated(notification_id=f"n-msg-{i}", user_id=bob.id, reason="message",
                                title="alice", content=f"hola {i}",
                                data={"room_id": general["id"]}, created_at=datetime.now(UTC))
            for i in range(2)], NotificationCreated(
                notification_id="n-mention-0", user_id=alice.id, reason="mention",
                title="carol", content="@alice mira 0", data={"room_id": random["id"]},
                created_at=datetime.now(UTC)))
        edited = await alice.http.get(f"/api/chat/rooms/{general['id']}/messages")
        first = edited.json()["messages"][0]["id"]
        await alice.http.patch(f"/api/chat/messages/{first}", json={"content": "hola!"})
        await alice.http.delete(f"/api/chat/messages/{first}")
        await synthesize(bus, presence(carol, "away", "online", random["id"], 1, "idle"))
        await asyncio.sleep(1.2)

        frame = {"type": "admin_broadcast", "data": {
            "message": "Mantenimiento a las 22:00", "from": "Administrador",
            "timestamp": datetime.now(UTC).isoformat()}}
        await bus.publish(LIVE_BROADCAST, orjson.dumps(frame), headers={
            FrameHeaders.TYPE: "admin_broadcast", FrameHeaders.BROADCAST_ID: BROADCAST_ID})
        for ws in (ws_alice, ws_bob, ws_carol):
            await receive(ws, "admin_broadcast")
        await synthesize(bus, *[
            NotificationCreated(notification_id=f"n-bc-{u.id}", user_id=u.id, reason="broadcast",
                                title="Administrador", content="Mantenimiento a las 22:00",
                                data={"broadcast_id": BROADCAST_ID},
                                created_at=datetime.now(UTC))
            for u in (alice, bob, carol)])
        await ws_bob.close()
        await synthesize(bus, presence(bob, "offline", "online", None, 0, "disconnected"))
        await asyncio.sleep(1.2)


if __name__ == "__main__":
    asyncio.run(main())
