"""The CloudEvents 1.0 JSON envelope every durable event travels in."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured-mode JSON event; `data` is the event model as a dict."""

    model_config = ConfigDict(extra="allow", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str
    source: str
    type: str
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    subject: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json", exclude_none=True))

    @classmethod
    def from_bytes(cls, raw: bytes) -> CloudEvent:
        return cls.model_validate(orjson.loads(raw))

    def payload(self) -> BaseModel:
        """The typed data model for this event's `type` (raises KeyError for unknown types)."""
        from shared.contracts.events import spec_for_type

        return spec_for_type(self.type).model.model_validate(self.data)


def new_event(
    data: BaseModel,
    *,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
    subject: str | None = None,
) -> tuple[str, CloudEvent]:
    """Wrap `data` in an envelope; returns (NATS subject, event)."""
    from shared.contracts.events import spec_for

    spec = spec_for(type(data))
    event = CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=spec.type,
        time=time or datetime.now(UTC),
        subject=subject,
        data=data.model_dump(mode="json"),
    )
    return spec.subject, event


def encode_event(data: BaseModel, *, source: str, time: datetime,
                 event_id: str | None = None) -> tuple[str, str, bytes]:
    """(NATS subject, event id, the envelope's JSON) for `data`, without building a
    `CloudEvent` model first: the same JSON as `new_event(...).to_bytes()` (the time with
    `+00:00` where pydantic writes `Z`), in about half the time, for outbox rows."""
    from shared.contracts.events import spec_for

    spec = spec_for(type(data))
    event_id = event_id or str(uuid.uuid4())
    return spec.subject, event_id, orjson.dumps({
        "specversion": "1.0", "id": event_id, "source": source, "type": spec.type,
        "time": time, "datacontenttype": "application/json",
        "data": data.model_dump(mode="json")})
