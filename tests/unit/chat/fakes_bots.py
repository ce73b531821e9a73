"""In-memory bot tokens and hooks over the fakes' `ChatState` (`tests/unit/chat/fakes.py`),
behaving like `sqla_bots.py`; and a `SecretDigest` whose secrets are predictable."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.chat.domain import User
from services.chat.domain.bots import BotToken, Hook
from tests.support.memory_uow import MemoryStore


class InMemoryBotStore(MemoryStore[Any]):
    """`state.bot_tokens`: id -> (token, digest)."""

    async def bots(self) -> list[User]:
        return [replace(u) for _, u in sorted(self._state.users.items()) if u.is_bot]

    async def add_token(self, token: BotToken, digest: str) -> BotToken:
        self._writing()
        if any(d == digest for _, d in self._state.bot_tokens.values()):
            raise AssertionError("digests are unique")
        token.id = self._state.next_id("bot_tokens")
        self._state.bot_tokens[token.id] = (replace(token), digest)
        return token

    async def tokens_of(self, bot_id: int) -> list[BotToken]:
        return [replace(t) for _, (t, _) in sorted(self._state.bot_tokens.items())
                if t.bot_id == bot_id]

    async def revoke_token(self, bot_id: int, token_id: int, now: datetime) -> BotToken | None:
        self._writing()
        found = self._state.bot_tokens.get(token_id)
        if found is None or found[0].bot_id != bot_id:
            return None
        if found[0].revoked_at is None:
            found[0].revoked_at = now
        return replace(found[0])

    async def by_digest(self, digest: str) -> tuple[BotToken, User] | None:
        for token, stored in self._state.bot_tokens.values():
            if stored == digest and token.revoked_at is None:
                user = self._state.users.get(token.bot_id)
                return (replace(token), replace(user)) if user else None
        return None


class InMemoryHookStore(MemoryStore[Any]):
    """`state.hooks`: id -> (hook, digest)."""

    async def add(self, hook: Hook, digest: str) -> Hook:
        self._writing()
        hook.id = self._state.next_id("hooks")
        self._state.hooks[hook.id] = (replace(hook), digest)
        return hook

    async def of_room(self, room_id: int) -> list[Hook]:
        return [replace(h) for _, (h, _) in sorted(self._state.hooks.items())
                if h.room_id == room_id and h.deleted_at is None]

    async def delete(self, room_id: int, hook_id: int, now: datetime) -> Hook | None:
        self._writing()
        found = self._state.hooks.get(hook_id)
        if found is None or found[0].room_id != room_id or found[0].deleted_at is not None:
            return None
        found[0].deleted_at = now
        return replace(found[0])

    async def by_digest(self, digest: str) -> Hook | None:
        for hook, stored in self._state.hooks.values():
            if stored == digest and hook.deleted_at is None:
                return replace(hook)
        return None


class CountingSecretDigest:
    """Secrets `<prefix>secret-1`, `-2`...: a test can name the one it was given."""

    def __init__(self) -> None:
        self.made = 0

    def new_secret(self, prefix: str) -> str:
        self.made += 1
        return f"{prefix}secret-{self.made}"

    def digest(self, secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()
