"""Frame encoding: one place turns a frame into the bytes every socket receives."""

from __future__ import annotations

import struct
from typing import Any

import orjson

from services.chat.domain import Frame

_FIN_TEXT = 0x81


def encode(frame_type: str, data: Any) -> bytes:
    return orjson.dumps({"type": frame_type, "data": data})


def encode_frame(frame: Frame) -> bytes:
    return orjson.dumps({"type": frame.type, "data": frame.data})


def error(code: str, message: str, ref: str | int | None = None) -> bytes:
    return encode("error", {"code": code, "message": message, "ref": ref})


def text_frame(payload: bytes) -> bytes:
    """The whole WebSocket text frame a server sends for `payload` (RFC 6455 5.2): server
    frames are not masked, so these bytes are the same for every socket that gets them."""
    size = len(payload)
    if size < 126:
        return bytes((_FIN_TEXT, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", _FIN_TEXT, 126, size) + payload
    return struct.pack("!BBQ", _FIN_TEXT, 127, size) + payload
