"""Uploads' rules: names, types sniffed from the bytes, images read from their header (a
decompression bomb is refused before it is decoded), thumbnails, and the data-dir blobs."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from services.chat.adapters.outbound.dir_blobs import DirBlobStore
from services.chat.adapters.outbound.pillow_images import PillowImageProcessor
from services.chat.domain import ChatError
from services.chat.domain.files import resolve_content_type, sniff, validate_file_name


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header says `width` x `height` and whose data is a few bytes: what a
    bomb looks like before it is decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))


def image_bytes(fmt: str, size: tuple[int, int] = (800, 600), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "red" if mode == "RGB" else 0).save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize("name", ["report.pdf", "Ünïcødé naïve.txt", "a" * 255, ".env",
                                  "x y (1).tar.gz"])
def test_ordinary_names_are_kept(name: str) -> None:
    assert validate_file_name(name) == name


@pytest.mark.parametrize("name", [None, "", "   ", ".", "..", "../etc/passwd", "a/b",
                                  "C:\\boot.ini", "a" * 256, "line\nbreak", "nul\x00",
                                  "invoice\u202efdp.exe", "isolate\u2066x"])
def test_names_that_could_mislead_or_escape_are_refused(name: str | None) -> None:
    with pytest.raises(ChatError) as refused:
        validate_file_name(name)
    assert refused.value.code == "file_name_invalid"


@pytest.mark.parametrize(("fmt", "content_type"), [
    ("PNG", "image/png"), ("JPEG", "image/jpeg"), ("GIF", "image/gif"),
    ("WEBP", "image/webp"), ("PDF", "application/pdf")])
def test_types_are_read_from_the_bytes(fmt: str, content_type: str) -> None:
    head = image_bytes(fmt, (8, 8))[:512]
    assert sniff(head) == content_type
    # Whatever the client says, or if it says nothing, the stored type is the sniffed one.
    assert resolve_content_type(None, head) == content_type
    assert resolve_content_type("application/octet-stream", head) == content_type
    assert resolve_content_type("application/vnd.some-document", head) == content_type


def test_text_and_unknown_bytes_are_never_served_as_what_the_client_claims() -> None:
    assert resolve_content_type("text/html", b"<script>alert(1)</script>") == "text/plain"
    assert resolve_content_type("image/svg+xml", b"<svg onload=alert(1)/>") == "text/plain"
    assert resolve_content_type(None, "naïve café\n".encode()) == "text/plain"
    assert resolve_content_type("text/plain", b"\x00\x01\x02binary") == (
        "application/octet-stream")


@pytest.mark.parametrize(("declared", "body"), [
    ("image/png", b"just some text"),
    ("image/png", image_bytes("JPEG", (8, 8))),
    ("image/jpg", image_bytes("PNG", (8, 8))),
    ("application/pdf", b"PK\x03\x04zip"),
    ("image/x-icon", b"\x00\x00\x01\x00"),
])
def test_a_checkable_declared_type_must_match_the_bytes(declared: str, body: bytes) -> None:
    with pytest.raises(ChatError) as refused:
        resolve_content_type(declared, body[:512])
    assert refused.value.code == "content_type_mismatch"


async def test_a_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_claiming(10_000, 10_000))
    assert bomb.stat().st_size < 200
    images = PillowImageProcessor(max_pixels=50_000_000)
    for refused_by in (images.inspect(bomb),
                       images.thumbnail(bomb, tmp_path / "t.webp", 400),
                       images.square(bomb, tmp_path / "a.png", 256)):
        with pytest.raises(ChatError) as refused:
            await refused_by
        assert refused.value.code == "image_too_large"
    assert not (tmp_path / "t.webp").exists() and not (tmp_path / "a.png").exists()


async def test_images_are_measured_and_scaled(tmp_path: Path) -> None:
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(image_bytes("JPEG", (1600, 900)))
    images = PillowImageProcessor(max_pixels=50_000_000)
    info = await images.inspect(photo)
    assert (info.width, info.height) == (1600, 900)
    assert await images.thumbnail(photo, tmp_path / "t.webp", 400)
    with Image.open(tmp_path / "t.webp") as thumb:
        assert (thumb.format, thumb.size) == ("WEBP", (400, 225))
    await images.square(photo, tmp_path / "avatar.png", 256)
    with Image.open(tmp_path / "avatar.png") as avatar:
        assert (avatar.format, avatar.size) == ("PNG", (256, 256))


async def test_a_truncated_image_is_not_an_image(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(image_bytes("PNG", (300, 300))[:100])
    images = PillowImageProcessor(max_pixels=50_000_000)
    assert not await images.thumbnail(broken, tmp_path / "t.webp", 400)
    assert not (tmp_path / "t.webp").exists()


async def test_the_data_dir_store_puts_reads_and_deletes(tmp_path: Path) -> None:
    store = DirBlobStore(tmp_path / "blobs", chunk_bytes=1000)
    source = tmp_path / "upload"
    source.write_bytes(b"x" * 2500)
    await store.put_file("ab" * 16, source)

    async def chunks():
        yield b"one "
        yield b"two"

    await store.put_chunks("cd" * 16, chunks())
    read = await store.open("ab" * 16)
    assert read is not None
    assert [len(chunk) async for chunk in read] == [1000, 1000, 500]
    again = await store.open("cd" * 16)
    assert again is not None and b"".join([c async for c in again]) == b"one two"
    assert await store.exists("ab" * 16)
    await store.delete("ab" * 16)
    await store.delete("ab" * 16)  # idempotent
    assert not await store.exists("ab" * 16) and await store.open("ab" * 16) is None
    with pytest.raises(ValueError):
        await store.open("../chat.db")
    # Only the remaining blob is left: no staging files.
    assert sorted(p.name for p in (tmp_path / "blobs").rglob("*") if p.is_file()) == [
        "cd" * 16]
