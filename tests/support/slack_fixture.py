"""A small Slack workspace export, written by the tests into a temp dir (never a binary in
git): two public channels and a private one (groups.json), a thread, a broadcast reply,
reactions (a mapped name, an unmapped one, a skin tone), a pin, a file, mentions, a join,
a bot, a deleted user, and a handle that is not a valid Tertulia username."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

USERS: list[dict[str, Any]] = [
    {"id": "U1", "name": "ana", "real_name": "Ana Pérez", "is_admin": True, "tz": "Europe/Madrid",
     "profile": {"display_name": "Ana", "real_name": "Ana Pérez"}, "updated": 1600000000},
    {"id": "U2", "name": "bo", "profile": {"real_name": "Bo"}, "deleted": True},
    {"id": "U3", "name": ".carl.", "profile": {}},
    {"id": "B1", "name": "deploybot", "is_bot": True, "profile": {"display_name": "Deploys"}},
]
CHANNELS: list[dict[str, Any]] = [
    {"id": "C1", "name": "general", "created": 1600000100, "creator": "U1",
     "members": ["U1", "U2", "U3"], "purpose": {"value": "Everyone"}, "is_private": False},
    {"id": "C2", "name": "random", "created": 1600000200, "creator": "U3",
     "members": ["U3"], "topic": {"value": "anything"}},
]
GROUPS: list[dict[str, Any]] = [
    {"id": "G1", "name": "secret", "created": 1600000300, "creator": "U1",
     "members": ["U1", "U3"]},
]
GENERAL_DAY_1: list[dict[str, Any]] = [
    # Out of order in the file: the reader sorts by ts.
    {"type": "message", "user": "U3", "text": "a reply", "ts": "1600001002.000100",
     "thread_ts": "1600001001.000100"},
    {"type": "message", "user": "U1", "text": "Hello <@U3> &amp; <!here>, see <https://x.org|x>",
     "ts": "1600001001.000100", "thread_ts": "1600001001.000100", "reply_count": 2,
     "reactions": [{"name": "+1", "users": ["U2", "U3"], "count": 2},
                   {"name": "thumbsup::skin-tone-2", "users": ["U3"], "count": 1},
                   {"name": "partyparrot", "users": ["U1"], "count": 1}],
     "pinned_to": ["C1"]},
    {"type": "message", "subtype": "channel_join", "user": "U2",
     "text": "<@U2> has joined the channel", "ts": "1600001000.000100"},
]
GENERAL_DAY_2: list[dict[str, Any]] = [
    {"type": "message", "user": "U2", "text": "also for everyone", "ts": "1600090000.000100",
     "thread_ts": "1600001001.000100", "subtype": "thread_broadcast"},
    {"type": "message", "subtype": "bot_message", "bot_id": "BX", "username": "ci",
     "text": "build passed", "ts": "1600090001.000100"},
    {"type": "message", "user": "U1", "text": "", "ts": "1600090002.000100",
     "files": [{"name": "plan.pdf"}], "edited": {"user": "U1", "ts": "1600090003.000000"}},
]
RANDOM_DAY: list[dict[str, Any]] = [
    {"type": "message", "user": "U3", "text": "in <#C1|general>?", "ts": "1600002000.000100"},
]
SECRET_DAY: list[dict[str, Any]] = [
    {"type": "message", "user": "U1", "text": "psst", "ts": "1600003000.000100",
     "reactions": [{"name": "eyes", "users": ["U3"], "count": 1}]},
]


def write_slack_export(path: Path) -> Path:
    files = {
        "users.json": USERS, "channels.json": CHANNELS, "groups.json": GROUPS,
        "general/2020-09-13.json": GENERAL_DAY_1, "general/2020-09-14.json": GENERAL_DAY_2,
        "random/2020-09-13.json": RANDOM_DAY, "secret/2020-09-13.json": SECRET_DAY,
    }
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, json.dumps(content))
    return path
