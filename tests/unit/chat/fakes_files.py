"""In-memory rows of uploaded files over the fakes' `ChatState` (`fakes.py`), behaving like
`sqla_files.py`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from services.chat.domain.files import StoredFile
from tests.support.memory_uow import MemoryStore


class InMemoryFileStore(MemoryStore):  # type: ignore[type-arg]
    async def add(self, file: StoredFile) -> None:
        self._writing()
        self._state.files[file.id] = replace(file)

    async def get(self, file_id: str) -> StoredFile | None:
        file = self._state.files.get(file_id)
        return replace(file) if file else None

    async def usage(self, user_id: int, *, lock: bool = False) -> int:
        return sum(f.size for f in self._state.files.values()
                   if f.user_id == user_id and f.deleted_at is None)

    async def of_messages(self, message_ids: Sequence[int]) -> dict[int, list[StoredFile]]:
        found: dict[int, list[StoredFile]] = {}
        for file in sorted(self._state.files.values(), key=lambda f: (f.created_at, f.id)):
            if file.message_id in message_ids and file.deleted_at is None:
                found.setdefault(file.message_id, []).append(replace(file))
        return found

    async def mark_deleted(self, *, message_id: int | None = None, file_id: str | None = None,
                           now: datetime) -> list[StoredFile]:
        self._writing()
        marked = []
        for file in self._state.files.values():
            chosen = file.message_id == message_id if message_id is not None else (
                file.id == file_id)
            if chosen and file.deleted_at is None:
                file.deleted_at = now
                marked.append(replace(file))
        return marked
