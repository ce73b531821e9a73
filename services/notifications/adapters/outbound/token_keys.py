"""The public keys that verify access tokens: from settings, or fetched from chat's JWKS.

Fetching happens in the background, retried until chat answers: the consumer does not need
keys, so events keep flowing while chat is down; HTTP requests get 503 until keys arrive.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from shared.auth import Principal, TokenVerifier
from shared.problems import Problem

log = logging.getLogger(__name__)
JWKS_REQUEST_SECS = 2.0


class TokenKeysMissing(RuntimeError):
    """Neither a public key nor a JWKS URL: the service could never verify anyone."""


class TokenKeys:
    """What `app.state.token_verifier` holds: a `TokenVerifier` once the keys are known."""

    def __init__(self, verifier: TokenVerifier | None = None) -> None:
        self._verifier = verifier

    @property
    def loaded(self) -> bool:
        return self._verifier is not None

    def verify(self, token: str) -> Principal:
        if self._verifier is None:
            raise Problem(503, "not_ready", "Not ready yet",
                          "The token keys have not been fetched from the chat service yet; "
                          "retry shortly.")
        return self._verifier.verify(token)

    async def fetch(self, url: str, retry_secs: float) -> None:
        """Ask the chat service for its keys until it answers with usable ones."""
        async with httpx.AsyncClient(timeout=JWKS_REQUEST_SECS) as client:
            attempt = 0
            while True:
                attempt += 1
                try:
                    response = await client.get(url)
                    response.raise_for_status()
                    self._verifier = TokenVerifier.from_jwks(response.json())
                    log.info("token keys loaded", extra={"fields": {"url": url}})
                    return
                except (httpx.HTTPError, ValueError) as exc:
                    # Quiet while chat is probably still starting, then say so.
                    level = logging.INFO if attempt < 10 else logging.WARNING
                    log.log(level, "JWKS not available yet; retrying",
                            extra={"fields": {"url": url, "error": repr(exc),
                                              "attempt": attempt}})
                await asyncio.sleep(retry_secs)


def keys_from_settings(public_key_pem: str | None, jwks_url: str | None) -> TokenKeys:
    if public_key_pem:
        return TokenKeys(TokenVerifier.from_pem(public_key_pem))
    if jwks_url:
        return TokenKeys()
    raise TokenKeysMissing(
        "set NOTIFICATIONS_JWT_PUBLIC_KEY_PEM or NOTIFICATIONS_JWKS_URL "
        "(the chat service's /.well-known/jwks.json) so access tokens can be verified")
