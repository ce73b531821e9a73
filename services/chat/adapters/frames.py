"""Frame encoding: one place turns a frame into the text every socket receives."""

from __future__ import annotations

from typing import Any

import orjson

from services.chat.domain import Frame


def encode(frame_type: str, data: Any) -> str:
    return orjson.dumps({"type": frame_type, "data": data}).decode()


def encode_frame(frame: Frame) -> bytes:
    return orjson.dumps({"type": frame.type, "data": frame.data})


def error(code: str, message: str, ref: str | int | None = None) -> str:
    return encode("error", {"code": code, "message": message, "ref": ref})
