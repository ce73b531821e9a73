"""Creating EVENTS on a cluster that is still forming: a meta leader just elected may not
know enough peers to place three replicas yet ("no suitable peers for placement"); that is
retried like an unanswered JetStream, not taken for "another service created it" (which
sent `tertulia up --ha`'s first chat replica out with "stream not found")."""

from __future__ import annotations

from typing import Any

import nats.js.errors
import pytest

from shared.bus import nats_stream
from shared.bus.nats_options import StreamLimits
from shared.contracts.events import EVENTS_STREAM


class FormingCluster:
    """JetStream that refuses placement `refusals` times, then creates the stream."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.created: list[Any] = []

    async def stream_info(self, name: str) -> Any:
        raise nats.js.errors.NotFoundError(code=404, err_code=10059,
                                           description="stream not found")

    async def add_stream(self, config: Any) -> None:
        if self.refusals:
            self.refusals -= 1
            raise nats.js.errors.BadRequestError(
                code=400, err_code=nats_stream.NO_SUITABLE_PEERS,
                description="no suitable peers for placement")
        self.created.append(config)


async def test_no_suitable_peers_is_retried_until_the_stream_is_created(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nats_stream, "STREAM_RETRY_SECS", 0.0)
    js = FormingCluster(refusals=3)
    await nats_stream.ensure_stream_retrying(js, ["events.>"], 120.0,  # type: ignore[arg-type]
                                             StreamLimits(replicas=3))
    assert js.refusals == 0
    assert [(c.name, c.num_replicas) for c in js.created] == [(EVENTS_STREAM, 3)]
