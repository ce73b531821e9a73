"""The outbox relay publishes the stored event bytes as they are: no decode, no re-encode."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest
from nats.js.api import DeliverPolicy
from sqlalchemy import insert

from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound.sqla_tables import outbox
from services.chat.migrations import SCHEMA
from shared.bus.nats import NatsEventBus
from shared.db import Database
from shared.migrations import upgrade
from shared.outbox import OutboxRelay

pytestmark = pytest.mark.integration


async def test_a_stored_row_reaches_jetstream_byte_for_byte(tmp_path: Path,
                                                            nats_url: str) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}")
    await db.prepare()
    await upgrade(db, SCHEMA)
    bus = NatsEventBus(nats_url, name="outbox-passthrough")
    await bus.connect()
    event_id = f"evt-{uuid.uuid4().hex}"
    subject = f"events.chat.passthrough.{uuid.uuid4().hex}"
    # An envelope no encoder of ours would write (key order, spaces, an escaped "é"): any
    # decode and re-encode on the way would change these bytes.
    stored = (b'{ "type" : "x.test", "id": "' + event_id.encode() + b'", "specversion": "1.0",'
              b' "source": "tests", "time": "2026-12-02T00:00:00+00:00",'
              b' "datacontenttype": "application/json", "data": {"word": "caf\\u00e9"} }')
    nc = await nats.connect(nats_url)
    try:
        async with db.write() as conn:
            await conn.execute(insert(outbox), {"event_id": event_id, "subject": subject,
                                                "payload": stored,
                                                "created_at": datetime.now(UTC)})
        metrics = ChatMetrics()
        relay = OutboxRelay(db, bus, outbox, published=metrics.outbox_published,
                            pending=metrics.outbox_pending)
        assert await relay.relay_once() is True
        js = nc.jetstream()
        sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        msg = await sub.next_msg(timeout=5)
        await sub.unsubscribe()
        # The stream is shared by the session's tests: nobody else should read this one.
        await js.delete_msg("EVENTS", msg.metadata.sequence.stream)
        assert msg.data == stored
        assert msg.headers is not None and msg.headers.get("Nats-Msg-Id") == event_id
    finally:
        await nc.close()
        await bus.close()
        await db.dispose()
