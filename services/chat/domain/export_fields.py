"""One record's fields as the import reads them: each checked against its type's spec
(`export_format.RECORDS`), times parsed, what an export may leave out filled in, what this
version does not know dropped. No I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.chat.domain.export_format import EDIT, RECORDS, FieldSpec, FormatError

# Fields an export may leave out (a room's export gives people's public fields only).
DEFAULTS: dict[str, Any] = {"is_bot": False, "is_admin": False, "mentions": [], "edits": [],
                            "details": {}, "has_thumbnail": False, "slow_mode_secs": 0}


def _time(value: Any, name: str, number: int) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise FormatError(number, f"{name} must be an ISO 8601 time with a UTC offset")


def _value(kind: str, value: Any, name: str, number: int) -> Any:
    if kind.endswith("?"):
        if value is None:
            return None
        kind = kind[:-1]
    if kind == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if kind == "str" and isinstance(value, str):
        return value
    if kind == "bool" and isinstance(value, bool):
        return value
    if kind == "time":
        return _time(value, name, number)
    if kind == "object" and isinstance(value, dict):
        return value
    if kind == "ints" and isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) for v in value):
        return value
    if kind == "edits" and isinstance(value, list):
        return [_fields(EDIT, edit, number, f"{name}[{n}]") for n, edit in enumerate(value)]
    raise FormatError(number, f"{name} must be {_KIND_WORDS.get(kind, kind)}")


_KIND_WORDS = {"int": "an integer", "str": "a string", "bool": "true or false",
               "ints": "a list of integers", "edits": "a list of edits",
               "object": "a JSON object"}


def _fields(spec: FieldSpec, record: Any, number: int, where: str = "") -> dict[str, Any]:
    if not isinstance(record, dict):
        raise FormatError(number, f"{where or 'the record'} must be a JSON object")
    out: dict[str, Any] = {}
    for name, kind in spec.items():
        label = f"{where}.{name}" if where else name
        if name not in record:
            if name in DEFAULTS:
                out[name] = DEFAULTS[name]
                continue
            if kind.endswith("?"):
                out[name] = None
                continue
            raise FormatError(number, f"{label} is missing")
        out[name] = _value(kind, record[name], label, number)
    return out


def normalize(record: dict[str, Any], number: int) -> dict[str, Any]:
    """The record with every field of its type checked, times parsed, the fields an export
    may leave out filled in, and fields this version does not know dropped."""
    kind = record.get("type")
    spec = RECORDS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise FormatError(number, f"unknown record type {kind!r}")
    return {"type": kind, **_fields(spec, record, number)}
