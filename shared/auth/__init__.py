"""Access tokens: EdDSA issuing (chat) and verification with a pinned algorithm (everyone)."""

from shared.auth.keys import KeysNotLoaded, TokenKeys
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
    "InvalidToken",
    "KeysNotLoaded",
    "Principal",
    "TokenIssuer",
    "TokenKeys",
    "TokenVerifier",
    "generate_private_key_pem",
]
