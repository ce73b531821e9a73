"""The JetStream snapshot protocol (`services/backup/jetstream.py`) on real nats-servers: a
stream larger than the server's 8 MiB flow-control window comes out whole and goes back
into another server message for message, and a damaged snapshot is refused by the server."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nats
import pytest

from services.backup import jetstream
from services.launcher import NatsServerProcess

pytestmark = pytest.mark.integration

MESSAGES = 3_000
BODY = 4_000  # 12 MB in all: more than one window, so the snapshot waits on our acks


async def _fill(url: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.add_stream(name="EVENTS", subjects=["events.>"])
    for n in range(MESSAGES):
        await js.publish(f"events.test.{n % 5}", os.urandom(BODY))  # s2 cannot shrink it
    await nc.close()


async def _bodies(url: str) -> list[bytes]:
    nc = await nats.connect(url)
    js = nc.jetstream()
    bodies = [(await js.get_msg("EVENTS", seq)).data or b"" for seq in range(1, MESSAGES + 1)]
    await nc.close()
    return bodies


async def test_a_stream_bigger_than_the_window_round_trips(tmp_path: Path,
                                                           nats_server: NatsServerProcess) -> None:
    await _fill(nats_server.url)
    nc = await nats.connect(nats_server.url)
    snap = await jetstream.snapshot_stream(nc, "EVENTS", tmp_path / "events.tar.s2")
    await nc.close()
    assert snap.state["messages"] == MESSAGES
    assert snap.size > 8 * 1024 * 1024  # past the window: chunks were acknowledged
    assert snap.size == (tmp_path / "events.tar.s2").stat().st_size
    assert hashlib.sha256((tmp_path / "events.tar.s2").read_bytes()).hexdigest() == snap.sha256

    async with NatsServerProcess(tmp_path / "other") as other:
        nc = await nats.connect(other.url)
        info = await jetstream.restore_stream(nc, "EVENTS", tmp_path / "events.tar.s2",
                                              snap.config, snap.state)
        await nc.close()
        assert info["state"]["messages"] == MESSAGES
        assert await _bodies(other.url) == await _bodies(nats_server.url)

        damaged = bytearray((tmp_path / "events.tar.s2").read_bytes())
        damaged[len(damaged) // 2] ^= 0xFF
        (tmp_path / "damaged.tar.s2").write_bytes(bytes(damaged))
        nc = await nats.connect(other.url)
        with pytest.raises(jetstream.JetStreamApiError, match="restore failed"):
            await jetstream.restore_stream(nc, "COPY", tmp_path / "damaged.tar.s2",
                                           {**snap.config, "subjects": ["copy.>"]}, snap.state)
        await nc.close()
