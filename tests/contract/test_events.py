"""Every event survives the wire: envelope, subject and type naming, and live.connections."""

from __future__ import annotations

import re
import types
import typing
from datetime import UTC, datetime
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from shared.contracts import (
    EVENT_MODELS,
    CloudEvent,
    ConnectionActivity,
    ConnectionClosed,
    ConnectionInfo,
    ConnectionOpened,
    ConnectionsHeartbeat,
    ConnectionStatusSet,
    EventSpec,
    MessageCreated,
    new_event,
    parse_connections_message,
    spec_for_type,
)

TYPE_PATTERN = re.compile(r"^tertulia(\.[a-z][a-z_]*)+\.v1$")
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
# JSON text: no lone surrogates (not encodable as UTF-8).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | INT64 | TEXT
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
SCALARS: dict[Any, st.SearchStrategy[Any]] = {
    int: INT64,
    str: TEXT,
    bool: st.booleans(),
    datetime: st.datetimes(timezones=st.just(UTC)),
    type(None): st.none(),
    object: JSON_VALUES,
}


def strategy_for(annotation: Any, where: str) -> st.SearchStrategy[Any]:
    """Values of a contract field's type, as JSON can carry them."""
    if annotation in SCALARS:
        return SCALARS[annotation]
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return st.sampled_from(args)
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(arg, where) for arg in args])
    if origin is list:
        return st.lists(strategy_for(args[0], where), max_size=4)
    if origin is dict:
        return st.dictionaries(strategy_for(args[0], where), strategy_for(args[1], where),
                               max_size=4)
    raise NotImplementedError(f"{where}: teach strategy_for about {annotation!r}")


def instances(model: type[BaseModel]) -> st.SearchStrategy[BaseModel]:
    fields = {name: strategy_for(field.annotation, f"{model.__name__}.{name}")
              for name, field in model.model_fields.items()}
    return st.fixed_dictionaries(fields).map(lambda values: model(**values))


@pytest.mark.parametrize("spec", EVENT_MODELS, ids=lambda spec: spec.model.__name__)
def test_event_round_trips_through_the_envelope(spec: EventSpec) -> None:
    @settings(max_examples=40, deadline=None)
    @given(instances(spec.model))
    def round_trip(data: BaseModel) -> None:
        subject, event = new_event(data, source="tests/contract")
        assert subject == spec.subject
        received = CloudEvent.from_bytes(event.to_bytes())
        assert received == event
        assert received.type == spec.type
        assert received.payload() == data

    round_trip()


def test_subjects_types_and_models_are_unique_and_well_named() -> None:
    subjects = [spec.subject for spec in EVENT_MODELS]
    event_types = [spec.type for spec in EVENT_MODELS]
    models = [spec.model for spec in EVENT_MODELS]
    assert len(set(subjects)) == len(subjects)
    assert len(set(event_types)) == len(event_types)
    assert len(set(models)) == len(models)
    for spec in EVENT_MODELS:
        assert spec.subject.startswith("events."), spec.subject
        assert TYPE_PATTERN.match(spec.type), spec.type
        assert spec.summary


def test_unknown_event_type_raises_key_error() -> None:
    with pytest.raises(KeyError):
        spec_for_type("tertulia.chat.nonsense.v1")
    event = CloudEvent(id="1", source="test", type="tertulia.chat.nonsense.v1",
                       time=datetime.now(UTC), data={})
    with pytest.raises(KeyError):
        event.payload()


def test_consumers_ignore_fields_added_by_newer_producers() -> None:
    _, event = new_event(
        MessageCreated(message_id=1, room_id=2, seq=3, user_id=4, username="ana",
                       content="hola", created_at=datetime.now(UTC)),
        source="test",
    )
    raw = event.to_bytes().replace(b'"seq":3', b'"seq":3,"reactions":[]')
    assert b'"reactions"' in raw
    assert CloudEvent.from_bytes(raw).payload() == event.payload()


NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
CONNECTION = ConnectionInfo(connection_id="c1", user_id=7, username="ana", rooms=[1, 2],
                            current_room=1, opened_at=NOW, last_active_at=NOW)
CONNECTIONS_MESSAGES = [
    ConnectionOpened(replica_id="chat-1", connection=CONNECTION),
    ConnectionClosed(replica_id="chat-1", connection_id="c1", user_id=7, closed_at=NOW,
                     code=1001),
    ConnectionActivity(replica_id="chat-1", connection_id="c1", user_id=7, current_room=2,
                       at=NOW),
    ConnectionStatusSet(replica_id="chat-1", connection_id="c1", user_id=7, status="busy",
                        at=NOW),
    ConnectionsHeartbeat(replica_id="chat-1", interval_secs=10.0, connections=[CONNECTION],
                         at=NOW),
]


@pytest.mark.parametrize("message", CONNECTIONS_MESSAGES, ids=lambda message: message.kind)
def test_parse_connections_message_reads_each_kind(message: BaseModel) -> None:
    parsed = parse_connections_message(message.model_dump_json().encode())
    assert type(parsed) is type(message)
    assert parsed == message


def test_parse_connections_message_rejects_an_unknown_kind() -> None:
    raw = b'{"kind": "teleported", "replica_id": "chat-1", "connection_id": "c1"}'
    with pytest.raises(ValidationError):
        parse_connections_message(raw)


def test_the_outbox_encoding_is_the_envelope_of_new_event() -> None:
    """`encode_event` (outbox rows) and `new_event` (the model) give the same event."""
    from datetime import UTC, datetime

    from shared.contracts import MessageCreated, new_event
    from shared.contracts.envelope import CloudEvent, encode_event

    now = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    data = MessageCreated(message_id=1, room_id=2, seq=3, user_id=4, username="ana",
                          content="hola ✓", client_msg_id=None, mentions=["bo"], created_at=now)
    subject, event_id, raw = encode_event(data, source="tertulia/chat", time=now)
    expected_subject, expected = new_event(data, source="tertulia/chat", time=now,
                                           event_id=event_id)
    assert subject == expected_subject
    assert CloudEvent.from_bytes(raw) == expected
