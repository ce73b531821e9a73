"""File uploads on a real chat replica (SQLite): what is stored, every refusal (and that a
refusal leaves no temp file, no blob and no row), the quota, and the body limits."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.integration.chat.harness import Client, chat_settings, replicas, sign_up
from tests.unit.chat.test_files import png_claiming

pytestmark = pytest.mark.integration

MAX_BYTES = 200_000
QUOTA = 350_000


def png(size: tuple[int, int] = (640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "teal").save(out, "PNG")
    return out.getvalue()


def real_bomb() -> bytes:
    """10,000 x 10,000 one-bit pixels, all black: Pillow compresses it to a few KB."""
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG", optimize=True)
    return out.getvalue()


async def upload(client: Client, body: bytes, name: str = "f.bin",
                 content_type: str | None = "application/octet-stream",
                 field: str = "file") -> httpx.Response:
    part = (name, body, content_type) if content_type else (name, body)
    return await client.http.post("/api/chat/files", files={field: part})


def stored(data_dir: Path) -> dict[str, Any]:
    """What the data directory holds: blobs, temp files, and the table's rows."""
    files = sorted(p.name for p in (data_dir / "blobs").rglob("*") if p.is_file())
    temps = sorted(p.name for p in (data_dir / "uploads-tmp").rglob("*") if p.is_file())
    with sqlite3.connect(data_dir / "chat.db") as db:
        rows = [r[0] for r in db.execute("SELECT id FROM chat_files ORDER BY id")]
    return {"blobs": files, "temps": temps, "rows": rows}


async def test_uploads_are_checked_stored_and_refused_cleanly(tmp_path: Path,
                                                              nats_url: str) -> None:
    settings = chat_settings(tmp_path, nats_url, files_max_bytes=MAX_BYTES,
                             files_quota_bytes=QUOTA)
    async with replicas([settings]) as (replica,):
        alice = await sign_up(replica)
        empty = stored(tmp_path)
        assert empty == {"blobs": [], "temps": [], "rows": []}

        refusals = [
            (await upload(alice, b""), 422, "file_empty"),
            (await upload(alice, b"x" * (MAX_BYTES + 1)), 413, "file_too_large"),
            (await upload(alice, b"not a png", "a.png", "image/png"), 422,
             "content_type_mismatch"),
            (await upload(alice, png_claiming(10_000, 10_000), "bomb.png", "image/png"), 422,
             "image_too_large"),
            (await upload(alice, real_bomb(), "bomb2.png", None), 422, "image_too_large"),
            (await upload(alice, b"hello", "../../etc/passwd"), 422, "file_name_invalid"),
            (await upload(alice, b"hello", "evil\u202etxt.exe"), 422, "file_name_invalid"),
            (await upload(alice, b"hello", "x" * 256), 422, "file_name_invalid"),
            (await upload(alice, b"hello", field="attachment"), 422, "file_missing"),
            (await alice.http.post("/api/chat/files", json={"file": "x"}), 422,
             "file_missing"),
        ]
        for response, status, code in refusals:
            assert (response.status_code, response.json()["code"]) == (status, code), (
                code, response.text)
        # A Content-Length far above the limit is refused before the body is read.
        huge = await alice.http.post("/api/chat/files", content=b"x" * (MAX_BYTES + 70_000),
                                     headers={"Content-Type": "multipart/form-data; b=1"})
        assert huge.status_code == 413
        # Chunked (no Content-Length): stopped as it streams past the limit.

        async def chunks():
            yield (b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; "
                   b"filename=\"big.bin\"\r\n\r\n")
            for _ in range(40):
                yield b"y" * 10_000

        chunked = await alice.http.post(
            "/api/chat/files", content=chunks(),
            headers={"Content-Type": "multipart/form-data; boundary=XyZ"})
        assert (chunked.status_code, chunked.json()["code"]) == (413, "file_too_large")
        assert stored(tmp_path) == empty
        assert (await upload(Client(replica, httpx.AsyncClient(base_url=replica.http_url),
                                    {}, ""), b"hi")).status_code == 401

        # Stored: the sniffed type, an image's size and thumbnail, the bytes' hash.
        image = await upload(alice, png(), "Ünïcode shot.png", "image/png")
        assert image.status_code == 201, image.text
        body = image.json()
        assert len(body["id"]) == 32 and int(body["id"], 16) >= 0
        assert {k: body[k] for k in ("name", "content_type", "width", "height")} == {
            "name": "Ünïcode shot.png", "content_type": "image/png", "width": 640,
            "height": 480}
        assert body["url"] == f"/api/chat/files/{body['id']}"
        assert body["thumbnail_url"] == f"/api/chat/files/{body['id']}/thumbnail"
        text = (await upload(alice, b"<script>alert(1)</script>", "x.html", "text/html")).json()
        assert (text["content_type"], text["thumbnail_url"], text["width"]) == (
            "text/plain", None, None)
        after = stored(tmp_path)
        assert after["rows"] == sorted([body["id"], text["id"]])
        assert after["blobs"] == sorted([body["id"], body["id"] + "-thumb", text["id"]])
        assert after["temps"] == []

        # The quota counts live files; what would pass it is refused and leaves nothing.
        used = body["size"] + text["size"]
        fills = [await upload(alice, b"z" * ((QUOTA - used - 10) // 2), "fill.bin")
                 for _ in range(2)]
        assert [f.status_code for f in fills] == [201, 201]
        over = await upload(alice, b"z" * 12, "over.bin")
        assert (over.status_code, over.json()["code"]) == (413, "quota_exceeded")
        assert stored(tmp_path)["rows"] == sorted([body["id"], text["id"],
                                                   *(f.json()["id"] for f in fills)])
        assert len(stored(tmp_path)["blobs"]) == 5 and stored(tmp_path)["temps"] == []
        bob = await sign_up(replica)  # his own quota
        assert (await upload(bob, b"z" * 11, "mine.bin")).status_code == 201
