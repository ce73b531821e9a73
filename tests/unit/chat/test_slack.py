"""A Slack export as Tertulia's records: people, channels (private ones from groups.json),
messages in `ts` order, threads, reactions with their emoji, pins, files by name, mrkdwn
as plain text. The records pass the import's own checks."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from services.chat.adapters.outbound.slack_zip import SlackZipSource
from services.chat.domain.export_check import StreamCheck
from services.chat.domain.export_format import FormatError
from services.chat.domain.model import USERNAME_RE
from services.chat.domain.slack import emoji_of, username_of
from tests.support.slack_fixture import write_slack_export

NOW = datetime(2026, 3, 1, tzinfo=UTC)


async def records_of(path: Path) -> list[dict[str, Any]]:
    source = SlackZipSource(path, NOW)
    try:
        return [record async for _, record in source.lines()]
    finally:
        source.close()


def test_emoji_names_and_usernames() -> None:
    assert [emoji_of(n) for n in ("+1", "thumbsup::skin-tone-3", "tada", "partyparrot")] == [
        "👍", "👍", "🎉", ":partyparrot:"]
    taken: set[str] = set()
    made = [username_of(n, taken) for n in (".carl.", "al", "Ana", "ana", "josé maría",
                                            "x" * 40, "x" * 40)]
    assert made[:5] == ["_carl_", "al_", "Ana", "ana_2", "jos__mar_a"]
    assert made[5] == "x" * 32 and made[6] == "x" * 30 + "_2"
    assert all(USERNAME_RE.fullmatch(name) for name in made)


async def test_a_workspace_becomes_a_valid_stream(tmp_path: Path) -> None:
    records = await records_of(write_slack_export(tmp_path / "slack.zip"))
    check = StreamCheck()
    for number, record in enumerate(records, start=1):
        check.feed(number, record)
    summary = check.finish()
    assert summary.counts == {"user": 4, "room": 3, "member": 6, "message": 8,
                              "reaction": 4, "pin": 1}
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_type.setdefault(record["type"], []).append(record)
    users = {u["username"]: u for u in by_type["user"]}
    assert users["ana"]["is_admin"] and users["ana"]["display_name"] == "Ana"
    assert users["bo_"]["deactivated_at"] == NOW.isoformat()
    assert users["deploybot"]["is_bot"] and "_carl_" in users
    rooms = {r["name"]: r for r in by_type["room"]}
    assert [rooms[n]["is_private"] for n in ("general", "random", "secret")] == [
        False, False, True]
    assert rooms["general"]["description"] == "Everyone" and rooms["general"]["last_seq"] == 6
    admins = [m for m in by_type["member"] if m["role"] == "admin"]
    assert {(m["room_id"], m["user_id"]) for m in admins} == {(1, 1), (2, 3), (3, 1)}

    general = [m for m in by_type["message"] if m["room_id"] == rooms["general"]["id"]]
    assert [m["seq"] for m in general] == [1, 2, 3, 4, 5, 6]
    join, root, reply, broadcast, bot, filed = general
    assert join["message_type"] == "system" and join["content"] == "@bo_ has joined the channel"
    assert root["content"] == "Hello @_carl_ & @room, see x (https://x.org)"
    assert root["mentions"] == [3] and root["reply_count"] == 2
    assert root["last_reply_at"] == datetime.fromtimestamp(1600090000.0001, UTC).isoformat()
    assert reply["thread_root_id"] == root["id"] and not reply["also_send_to_room"]
    assert broadcast["thread_root_id"] == root["id"] and broadcast["also_send_to_room"]
    assert (bot["user_id"], bot["username"]) == (None, "ci")
    assert filed["content"] == "📎 plan.pdf" and filed["edited_at"] is not None
    assert root["created_at"] == datetime.fromtimestamp(1600001001.0001, UTC).isoformat()
    random = next(m for m in by_type["message"] if m["room_id"] == rooms["random"]["id"])
    assert random["content"] == "in #general?"

    reactions = {(r["message_id"], r["user_id"], r["emoji"]) for r in by_type["reaction"]}
    secret_message = next(m for m in by_type["message"] if m["content"] == "psst")
    assert reactions == {(root["id"], 2, "👍"), (root["id"], 3, "👍"),
                         (root["id"], 1, ":partyparrot:"), (secret_message["id"], 3, "👀")}
    assert by_type["pin"] == [{"type": "pin", "message_id": root["id"], "room_id": 1,
                               "pinned_by": 1, "pinned_at": root["created_at"]}]


async def test_not_a_slack_export(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(FormatError, match="not a Slack export"):
        await records_of(tmp_path / "x.zip")
    import zipfile

    with zipfile.ZipFile(tmp_path / "y.zip", "w") as archive:
        archive.writestr("channels.json", "[]")
    with pytest.raises(FormatError, match=r"it has no users\.json"):
        await records_of(tmp_path / "y.zip")
