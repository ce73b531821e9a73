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
