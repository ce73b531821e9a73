"""Client frames: every id and seq fits the database's signed 64-bit integer, or the frame is
refused where it is parsed (an `error` frame, never an overflow inside a use case)."""

from __future__ import annotations

import types
import typing
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ValidationError

from services.chat.adapters.inbound.ws_frames import CLIENT_FRAMES

INT64_MAX = 2**63 - 1


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_int(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_int(arg) for arg in typing.get_args(annotation))
    return False


def _valid(annotation: Any) -> Any:
    """A value of this field's type that passes (strings "hi", ints 1, the first literal)."""
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return typing.get_args(annotation)[0]
    if origin is typing.Annotated:
        return _valid(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return _valid(next(a for a in typing.get_args(annotation) if a is not type(None)))
    return {int: 1, str: "hi", bool: True}[annotation]


def _int_fields() -> list[tuple[str, str, dict[str, Any]]]:
    """Each frame's integer fields, each with the rest of a frame that is valid without it."""
    found = []
    for frame_type, model in CLIENT_FRAMES.items():
        required = {name: _valid(field.annotation)
                    for name, field in model.model_fields.items()
                    if field.is_required() and name != "type"}
        for name, field in model.model_fields.items():
            if _is_int(field.annotation):
                rest = {k: v for k, v in required.items() if k != name}
                found.append((frame_type, name, rest))
    return found


FIELDS = _int_fields()
IDS = {name for _, name, _ in FIELDS if name.endswith("_id")}


def parse(frame_type: str, **fields: Any) -> BaseModel:
    return CLIENT_FRAMES[frame_type].model_validate({"type": frame_type, **fields})


def test_the_frames_with_ids_and_seqs_are_all_found() -> None:
    assert {("join", "room_id"), ("join", "since_seq"), ("read", "seq"),
            ("edit_message", "message_id"), ("chat_message", "room_id")} <= {
        (t, f) for t, f, _ in FIELDS}


@pytest.mark.parametrize(("frame_type", "field", "rest"), FIELDS)
@pytest.mark.parametrize("value", [2**63, 2**64, 10**30])
def test_a_number_past_int64_is_refused(frame_type: str, field: str, rest: dict[str, Any],
                                        value: int) -> None:
    with pytest.raises(ValidationError) as refused:
        parse(frame_type, **rest, **{field: value})
    assert refused.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(("frame_type", "field", "rest"), FIELDS)
def test_the_largest_int64_and_the_smallest_value_are_accepted(
        frame_type: str, field: str, rest: dict[str, Any]) -> None:
    smallest = 1 if field in IDS else 0
    for value in (smallest, INT64_MAX):
        assert getattr(parse(frame_type, **rest, **{field: value}), field) == value


@pytest.mark.parametrize(("frame_type", "field", "rest"), [f for f in FIELDS if f[1] in IDS])
def test_ids_start_at_one(frame_type: str, field: str, rest: dict[str, Any]) -> None:
    for value in (0, -1, -(2**63) - 1):
        with pytest.raises(ValidationError):
            parse(frame_type, **rest, **{field: value})


def test_strings_and_floats_are_still_not_ids() -> None:
    for value in ("1", 1.0, True):
        with pytest.raises(ValidationError):
            parse("join", room_id=value)
