"""Password hashing (argon2id, off the event loop) and the system clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    def __init__(self) -> None:
        self._hasher = PasswordHasher()  # argon2id with the library's current parameters

    async def hash(self, password: str) -> str:
        # ~50 ms of CPU: in a thread, or every socket on this replica stalls meanwhile.
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await asyncio.to_thread(check)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
