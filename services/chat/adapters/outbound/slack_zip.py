"""`ImportSource` over a Slack workspace export (.zip): users.json, channels.json,
groups.json (private channels, in some exports), and a directory per channel of day files
(`<channel>/<YYYY-MM-DD>.json`). `domain/slack.py` makes Tertulia's records of them; the
zip is read in a thread, a batch of records at a time."""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from services.chat.domain.export_format import FormatError
from services.chat.domain.slack import SlackMapping, SlackWorkspace

RECORDS_PER_READ = 500


class SlackZipSource:
    def __init__(self, path: Path, now: datetime | None = None) -> None:
        self.path = path
        self.now = now or datetime.now(UTC)
        self._zip: zipfile.ZipFile | None = None

    def _open(self) -> zipfile.ZipFile:
        if self._zip is None:
            try:
                self._zip = zipfile.ZipFile(self.path)
            except (zipfile.BadZipFile, OSError) as exc:
                raise FormatError(0, f"not a Slack export: {exc}") from None
        return self._zip

    def _json(self, name: str, required: bool = True) -> Any:
        archive = self._open()
        try:
            raw = archive.read(name)
        except KeyError:
            if required:
                raise FormatError(0, f"not a Slack export: it has no {name}") from None
            return []
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise FormatError(0, f"{name} is not JSON ({exc})") from None

    def _messages_of(self, channel: dict[str, Any]) -> Iterator[dict[str, Any]]:
        folder = f"{channel.get('name')}/"
        days = sorted(n for n in self._open().namelist()
                      if n.startswith(folder) and n.endswith(".json") and "/" not in
                      n[len(folder):])
        for day in days:
            messages = self._json(day)
            if not isinstance(messages, list):
                raise FormatError(0, f"{day} is not a list of messages")
            yield from sorted((m for m in messages if isinstance(m, dict) and "ts" in m),
                              key=lambda m: float(m["ts"]))

    def _workspace(self) -> SlackWorkspace:
        users = self._json("users.json")
        channels = [(c, bool(c.get("is_private"))) for c in self._json("channels.json")]
        channels += [(g, True) for g in self._json("groups.json", required=False)]
        if not isinstance(users, list) or not all(isinstance(c, dict) for c, _ in channels):
            raise FormatError(0, "users.json and channels.json must be lists of objects")
        return SlackWorkspace(users, channels, self._messages_of, self.now)

    async def lines(self) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        workspace = await asyncio.to_thread(self._workspace)
        records = SlackMapping(workspace).records()

        def batch() -> list[dict[str, Any]]:
            return [r for r, _ in zip(records, range(RECORDS_PER_READ), strict=False)]

        number = 0
        while found := await asyncio.to_thread(batch):
            for record in found:
                number += 1
                yield number, record

    async def blob(self, name: str) -> AsyncIterator[bytes] | None:
        return None  # a Slack export links its files; it does not hold them

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()
