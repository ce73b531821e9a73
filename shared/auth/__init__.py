"""Access tokens: EdDSA issuing (chat) and verification with a pinned algorithm (everyone)."""

from shared.auth.keys import KeysNotLoaded, TokenKeys
from shared.auth.revocation import SESSION_REPLAY_SECS, RevokedSessions, follow_revocations
from shared.auth.tokens import (
    SESSION_COOKIE,
    InvalidToken,
    Principal,
    TokenIssuer,
    TokenVerifier,
    generate_private_key_pem,
)

__all__ = [
    "SESSION_COOKIE",
    "SESSION_REPLAY_SECS",
    "InvalidToken",
    "KeysNotLoaded",
    "Principal",
    "RevokedSessions",
    "TokenIssuer",
    "TokenKeys",
    "TokenVerifier",
    "follow_revocations",
    "generate_private_key_pem",
]
