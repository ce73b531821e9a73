"""`spooled_upload`: a multipart request's `file` part streamed to a temp file under the
data directory, counted and hashed on the way, and never held whole in memory. Past the
limit it stops at once (413 `file_too_large`); the temp file goes when the block ends,
however it ends. Attachments (`files.py`) and avatars use it."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, BinaryIO

from fastapi import Request
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from services.chat.domain import Invalid
from services.chat.domain.files import SNIFF_BYTES, file_too_large
from services.chat.ports import SpooledUpload
from services.chat.settings import UPLOAD_OVERHEAD_BYTES as OVERHEAD_BYTES

FIELD = "file"


def _missing(detail: str = "Send the file as the multipart/form-data part `file`.") -> Invalid:
    return Invalid("file_missing", detail)


class _FilePart:
    """The parser's callbacks (synchronous): the `file` part's bytes wait in `pending`
    until the request loop writes them in a thread."""

    def __init__(self) -> None:
        self.header_name = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.in_file = False
        self.found = False
        self.done = False
        self.name: str | None = None
        self.content_type: str | None = None
        self.pending: list[bytes] = []

    def callbacks(self) -> dict[str, object]:
        return {"on_part_begin": self.begin, "on_header_field": self.field,
                "on_header_value": self.value, "on_header_end": self.header_end,
                "on_headers_finished": self.headers_done, "on_part_data": self.data,
                "on_part_end": self.end}

    def begin(self) -> None:
        self.headers = {}

    def field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def header_end(self) -> None:
        self.headers[self.header_name.lower()] = self.header_value
        self.header_name = self.header_value = b""

    def headers_done(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition"))
        self.in_file = options.get(b"name") == FIELD.encode() and not self.found
        if not self.in_file:
            return
        self.found = True
        try:
            self.name = options.get(b"filename", b"").decode("utf-8")
        except UnicodeDecodeError:
            self.name = ""  # refused with the name's rules
        declared = self.headers.get(b"content-type")
        self.content_type = declared.decode("latin-1") if declared else None

    def data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.pending.append(data[start:end])

    def end(self) -> None:
        if self.in_file:
            self.done = True
        self.in_file = False


def _boundary(request: Request) -> bytes:
    kind, options = parse_options_header(request.headers.get("content-type"))
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise _missing()
    return options[b"boundary"]


@asynccontextmanager
async def spooled_upload(request: Request, tmp_dir: Path,
                         max_bytes: int) -> AsyncIterator[SpooledUpload]:
    """The request's `file` part, in a temp file for the length of the block."""
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes + OVERHEAD_BYTES:
        raise file_too_large(max_bytes)
    part = _FilePart()
    parser = MultipartParser(_boundary(request), part.callbacks())  # type: ignore[arg-type]
    await asyncio.to_thread(tmp_dir.mkdir, parents=True, exist_ok=True)
    path = tmp_dir / f"{secrets.token_hex(16)}.part"
    out: BinaryIO = await asyncio.to_thread(open, path, "wb")
    try:
        size, head, digest = await _stream(request, parser, part, out, max_bytes)
        await asyncio.to_thread(out.close)
        if not part.done:
            raise _missing()
        yield SpooledUpload(path=path, size=size, sha256=digest.hexdigest(), head=head,
                            name=part.name, declared_type=part.content_type)
    finally:
        await asyncio.to_thread(out.close)
        await asyncio.to_thread(path.unlink, True)


async def _stream(request: Request, parser: MultipartParser, part: _FilePart,
                  out: BinaryIO, max_bytes: int) -> tuple[int, bytes, Any]:
    digest = hashlib.sha256()
    size = received = 0
    head = b""

    async def flush() -> None:
        nonlocal size, head
        if not part.pending:
            return
        data = b"".join(part.pending)
        part.pending.clear()
        size += len(data)
        if size > max_bytes:
            raise file_too_large(max_bytes)
        if len(head) < SNIFF_BYTES:
            head += data[:SNIFF_BYTES - len(head)]
        await asyncio.to_thread(_write, out, digest, data)

    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes + OVERHEAD_BYTES:
                raise file_too_large(max_bytes)
            parser.write(chunk)
            await flush()
        parser.finalize()
        await flush()
    except FormParserError:
        raise _missing("The multipart/form-data body is malformed.") from None
    return size, head, digest


def _write(out: BinaryIO, digest: Any, data: bytes) -> None:
    digest.update(data)
    out.write(data)
