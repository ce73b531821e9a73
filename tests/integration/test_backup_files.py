"""Uploaded files in `tertulia backup` and `tertulia restore`: the data directory's blobs
and the Object Store bucket's stream (CHAT_BLOBS=nats) both go into the backup and come
back out of it, byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import nats
import pytest

from services.backup.make import backup
from services.backup.restore import restore
from services.launcher import NatsServerProcess
from tests.integration.chat.harness import chat_settings, replicas, sign_up
from tests.integration.chat.test_files import png, upload

pytestmark = pytest.mark.integration


async def test_blobs_and_the_files_bucket_are_backed_up_and_restored(
        tmp_path: Path, nats_server: NatsServerProcess) -> None:
    data = tmp_path / "data"
    async with replicas([chat_settings(data, nats_server.url)]) as (replica,):
        alice = await sign_up(replica)
        stored = (await upload(alice, png(), "shot.png", "image/png")).json()
    # What CHAT_BLOBS=nats keeps, in the bucket the chat service makes.
    nc = await nats.connect(nats_server.url)
    bucket = await nc.jetstream().create_object_store("CHAT_FILES")
    await bucket.put("ab" * 16, b"bytes in the bucket" * 1000)
    await nc.close()

    await backup(tmp_path / "backup", data, nats_server.url)
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    kinds = {entry["path"]: entry["kind"] for entry in manifest["files"]}
    shard = stored["id"][:2]
    assert kinds[f"blobs/{shard}/{stored['id']}"] == "blob"
    assert kinds[f"blobs/{shard}/{stored['id']}-thumb"] == "blob"
    assert kinds["nats/OBJ_CHAT_FILES.tar.s2"] == "object_store_snapshot"
    assert [s["name"] for s in manifest["object_stores"]] == ["OBJ_CHAT_FILES"]

    other = NatsServerProcess(tmp_path / "nats-restored")
    await other.astart()
    try:
        restored = tmp_path / "restored"
        await restore(tmp_path / "backup", restored, other.url)
        original = data / "blobs" / shard / stored["id"]
        assert (restored / "blobs" / shard / stored["id"]).read_bytes() == (
            original.read_bytes())
        nc = await nats.connect(other.url)
        try:
            got = await (await nc.jetstream().object_store("CHAT_FILES")).get("ab" * 16)
            assert got.data == b"bytes in the bucket" * 1000
        finally:
            await nc.close()
    finally:
        await other.astop()
