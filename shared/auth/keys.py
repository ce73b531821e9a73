"""The public keys a non-chat service verifies tokens with: a PEM from settings, or the chat
service's JWKS fetched in the background (chat may start after us)."""

from __future__ import annotations

import asyncio
import logging

import httpx

from shared.auth.revocation import RevokedSessions
from shared.auth.tokens import InvalidToken, Principal, TokenVerifier

log = logging.getLogger(__name__)
JWKS_TIMEOUT_SECS = 5.0
QUIET_ATTEMPTS = 10  # the first failures are expected while chat starts


class KeysNotLoaded(Exception):
    """The JWKS has not been fetched yet: the service cannot tell a good token from a bad one."""


class TokenKeys:
    """What `app.state.token_verifier` holds: verifies once a key is known, refuses before
    (`shared.auth.fastapi` answers that with 503 `not_ready`). Tokens of a session in
    `revoked` are refused (`follow_revocations` keeps it up to date)."""

    def __init__(self, verifier: TokenVerifier | None = None,
                 revoked: RevokedSessions | None = None) -> None:
        self._verifier = verifier
        self.revoked = revoked if revoked is not None else RevokedSessions()

    @classmethod
    def from_settings(cls, public_key_pem: str | None, jwks_url: str | None, *,
                      env_prefix: str) -> TokenKeys:
        """Keys from a PEM now, or empty until `fetch(jwks_url)`; neither is a startup error."""
        if public_key_pem:
            return cls(TokenVerifier.from_pem(public_key_pem))
        if jwks_url:
            return cls()
        raise ValueError(f"set {env_prefix}JWT_PUBLIC_KEY_PEM or {env_prefix}JWKS_URL (the chat "
                         "service's /.well-known/jwks.json) so access tokens can be verified")

    @property
    def loaded(self) -> bool:
        return self._verifier is not None

    def verify(self, token: str) -> Principal:
        if self._verifier is None:
            raise KeysNotLoaded("token verification keys are not loaded yet")
        principal = self._verifier.verify(token)
        if principal.session_id is not None and principal.session_id in self.revoked:
            raise InvalidToken("session revoked")
        return principal

    async def fetch(self, url: str, retry_secs: float) -> None:
        """Fetch the JWKS, retrying until it answers with a usable key."""
        async with httpx.AsyncClient(timeout=JWKS_TIMEOUT_SECS) as client:
            attempts = 0
            while self._verifier is None:
                attempts += 1
                try:
                    response = await client.get(url)
                    response.raise_for_status()
                    self._verifier = TokenVerifier.from_jwks(response.json())
                    log.info("token keys loaded", extra={"fields": {"jwks_url": url}})
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    level = logging.INFO if attempts < QUIET_ATTEMPTS else logging.WARNING
                    log.log(level, "JWKS not available yet at %s: %r", url, exc)
                    await asyncio.sleep(retry_secs)
