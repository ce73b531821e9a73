"""Avatars on real SQLite, blobs in the data directory and NATS: upload one (a centred square
of 256 px), replace it (the old blob goes), refuse what is not an image, serve it with the
sandboxing headers, and say so in `/api/auth/me`, members lists and people search."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.integration.chat.harness import (
    ChatReplica,
    chat_settings,
    frames_until,
    receive,
    replicas,
    sign_up,
    stream_events,
)

pytestmark = pytest.mark.integration


def image(width: int, height: int, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    picture = Image.new("RGB", (width, height), (255, 0, 0))
    # Blue in the middle half of a 2:1 picture: exactly what its centred square keeps.
    picture.paste((0, 0, 255), (width // 4, 0, 3 * width // 4, height))
    picture.save(out, fmt)
    return out.getvalue()


def blobs(replica: ChatReplica) -> set[str]:
    root = replica.settings.blobs_dir()
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


async def put(http: httpx.AsyncClient, data: bytes, name: str = "me.png",
              mime: str = "image/png") -> httpx.Response:
    return await http.put("/api/auth/me/avatar", files={"file": (name, data, mime)})


async def test_upload_replace_serve_and_remove_an_avatar(tmp_path: Path, nats_url: str) -> None:
    await _an_avatars_life(tmp_path, nats_url)


@pytest.mark.postgres
async def test_on_postgres_too(tmp_path: Path, nats_url: str, postgres_url: str) -> None:
    await _an_avatars_life(tmp_path, nats_url, database_url=postgres_url)


async def _an_avatars_life(tmp_path: Path, nats_url: str, **overrides: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url, **overrides)]) as (one,):
        ana = await sign_up(one)
        bob = await sign_up(one)
        me = (await ana.http.get("/api/auth/me")).json()
        assert me["avatar_url"] is None

        first = await put(ana.http, image(600, 300))
        assert first.status_code == 200, first.text
        url = first.json()["avatar_url"]
        assert url.startswith(f"/api/chat/users/{ana.id}/avatar?v=")
        first_id = url.split("v=")[1]
        assert blobs(one) == {first_id}

        # Anyone signed in gets it: a 256 x 256 PNG of the middle (blue) square.
        served = await bob.http.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"] == "image/png"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-security-policy"] == "sandbox; default-src 'none'"
        assert "immutable" in served.headers["cache-control"]
        picture = Image.open(io.BytesIO(served.content))
        assert picture.size == (256, 256)
        assert picture.convert("RGB").getpixel((128, 128)) == (0, 0, 255)
        assert picture.convert("RGB").getpixel((2, 128)) == (0, 0, 255)
        unchanged = await bob.http.get(url, headers={"If-None-Match": served.headers["etag"]})
        assert unchanged.status_code == 304

        # Where others see her: members, people search, profile, /me.
        room = await ana.create_room()
        await bob.http.post(f"/api/chat/rooms/{room['id']}/join")
        members = (await bob.http.get(f"/api/chat/rooms/{room['id']}/members")).json()
        assert {m["user_id"]: m["avatar_url"] for m in members} == {ana.id: url, bob.id: None}
        found = (await bob.http.get("/api/chat/users", params={"q": ana.username})).json()
        assert [u["avatar_url"] for u in found] == [url]
        assert (await bob.http.get(f"/api/chat/users/{ana.id}")).json()["avatar_url"] == url
        assert (await ana.http.get("/api/auth/me")).json()["avatar_url"] == url

        # Replaced: a new address, told live to her rooms, and the old blob is gone at once.
        async with bob.socket(f"/ws/chat/{room['id']}") as ws:
            await frames_until(ws, "joined")
            second = await put(ana.http, image(200, 400, "JPEG"), "me.jpg", "image/jpeg")
            assert second.status_code == 200, second.text
            told = (await receive(ws, "user_updated"))["data"]
        assert (told["user_id"], told["avatar_url"]) == (ana.id, second.json()["avatar_url"])
        second_id = second.json()["avatar_url"].split("v=")[1]
        assert second_id != first_id
        assert blobs(one) == {second_id}
        assert (await bob.http.get(url)).headers["cache-control"] == "private, no-cache"

        removed = await ana.http.delete("/api/auth/me/avatar")
        assert removed.status_code == 204
        assert blobs(one) == set()
        gone = await bob.http.get(f"/api/chat/users/{ana.id}/avatar")
        assert (gone.status_code, gone.json()["code"]) == (404, "avatar_not_found")
        assert (await ana.http.get("/api/auth/me")).json()["avatar_url"] is None

        # The dashboard's storage used: each stored, each removed, every one an avatar (the
        # session's NATS holds other tests' files too: these two by their ids).
        files = [e.payload() for e in await stream_events(nats_url)
                 if e.type.startswith("tertulia.chat.file.")
                 and e.payload().file_id in (first_id, second_id)]
        assert [(type(f).__name__, f.file_id, f.kind) for f in files] == [
            ("FileStored", first_id, "avatar"), ("FileDeleted", first_id, "avatar"),
            ("FileStored", second_id, "avatar"), ("FileDeleted", second_id, "avatar")]


async def test_what_is_not_an_image_is_refused_and_leaves_nothing(
        tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url, files_max_bytes=20_000)]) as (one,):
        ana = await sign_up(one)
        cases = [
            (b"%PDF-1.4 not a picture", "a.pdf", "application/pdf", 422, "content_type_mismatch"),
            (b"hello", "a.png", "image/png", 422, "content_type_mismatch"),
            (b"", "a.png", "image/png", 422, "file_empty"),
            (image(10, 10)[:60], "cut.png", "image/png", 422, "content_type_mismatch"),
        ]
        big = io.BytesIO()
        Image.effect_noise((200, 200), 64).save(big, "PNG")  # noise: no compression
        cases.append((big.getvalue(), "big.png", "image/png", 413, "file_too_large"))
        for data, name, mime, status, code in cases:
            answer = await put(ana.http, data, name, mime)
            assert (answer.status_code, answer.json()["code"]) == (status, code), name
        missing = await ana.http.put("/api/auth/me/avatar", files={"other": ("a", b"x")})
        assert (missing.status_code, missing.json()["code"]) == (422, "file_missing")
        assert blobs(one) == set()
        assert (await ana.http.get("/api/auth/me")).json()["avatar_url"] is None
        leftovers = one.settings.uploads_tmp_dir()
        assert not leftovers.exists() or not any(leftovers.iterdir())


async def test_an_avatar_counts_in_the_quota_and_the_one_it_replaces_does_not(
        tmp_path: Path, nats_url: str) -> None:
    noisy = io.BytesIO()
    Image.effect_noise((256, 256), 90).convert("RGB").save(noisy, "PNG")  # ~200 KB as a PNG
    calm = image(256, 256)  # two colours: a few hundred bytes
    settings = chat_settings(tmp_path, nats_url, files_quota_bytes=30_000)
    async with replicas([settings]) as (one,):
        ana = await sign_up(one)
        assert (await put(ana.http, calm)).status_code == 200
        assert (await put(ana.http, calm)).status_code == 200  # replacing: still within
        refused = await put(ana.http, noisy.getvalue())
        assert (refused.status_code, refused.json()["code"]) == (413, "quota_exceeded")
        assert len(blobs(one)) == 1  # the calm one, nothing half-stored
        assert (await ana.http.get("/api/auth/me")).json()["avatar_url"] is not None


async def test_a_decompression_bomb_is_refused(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (one,):
        ana = await sign_up(one)
        out = io.BytesIO()
        Image.new("1", (10_000, 10_000)).save(out, "PNG")  # a few KB, 100 million pixels
        answer = await put(ana.http, out.getvalue(), "bomb.png")
        assert (answer.status_code, answer.json()["code"]) == (422, "image_too_large")
        assert blobs(one) == set()


async def test_signed_out_there_is_nothing(tmp_path: Path, nats_url: str) -> None:
    async with replicas([chat_settings(tmp_path, nats_url)]) as (one,):
        ana = await sign_up(one)
        assert (await put(ana.http, image(50, 50))).status_code == 200
        async with httpx.AsyncClient(base_url=one.http_url) as stranger:
            assert (await put(stranger, image(50, 50))).status_code == 401
            assert (await stranger.delete("/api/auth/me/avatar")).status_code == 401
            assert (await stranger.get(f"/api/chat/users/{ana.id}/avatar")).status_code == 401
