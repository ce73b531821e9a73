"""`SecretDigest` with SHA-256: bot tokens and hook secrets are 256 random bits, so a fast
digest is enough (nothing to guess; argon2 is for what people choose)."""

from __future__ import annotations

import hashlib
import secrets


class Sha256SecretDigest:
    def new_secret(self, prefix: str) -> str:
        return prefix + secrets.token_urlsafe(32)

    def digest(self, secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()
