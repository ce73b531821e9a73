"""The public keys that verify access tokens: a PEM from settings, or the chat service's JWKS."""

from __future__ import annotations

import asyncio
import logging

import httpx

from shared.auth import Principal, TokenVerifier
from shared.problems import Problem

log = logging.getLogger(__name__)
JWKS_TIMEOUT_SECS = 5.0
QUIET_ATTEMPTS = 10


class TokenKeys:
    """What `app.state.token_verifier` holds: verifies once a key is known; until then a
    request with a token gets 503 (the service cannot tell a good token from a bad one)."""

    def __init__(self, verifier: TokenVerifier | None = None) -> None:
        self._verifier = verifier

    @property
    def loaded(self) -> bool:
        return self._verifier is not None

    def verify(self, token: str) -> Principal:
        if self._verifier is None:
            raise Problem(503, "keys_not_loaded", "Token keys not loaded yet",
                          "The dashboard has not fetched the chat service's JWKS yet.")
        return self._verifier.verify(token)

    async def fetch(self, url: str, retry_secs: float) -> None:
        """Fetch the JWKS, retrying until it answers with a usable key (chat may start later)."""
        attempts = 0
        async with httpx.AsyncClient(timeout=JWKS_TIMEOUT_SECS) as client:
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
