"""Token verification: what is accepted, what is refused, and that remembering changes neither."""

from __future__ import annotations

import base64
import time

import pytest

from shared.auth import tokens
from shared.auth.tokens import InvalidToken, Principal, TokenIssuer, generate_private_key_pem

ALICE = Principal(7, "alice", is_admin=False)


def tamper(token: str) -> str:
    """Same header and claims, another signature byte."""
    head, claims, signature = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 1
    return ".".join([head, claims, base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()])


def test_a_token_verifies_and_again_from_memory() -> None:
    issuer = TokenIssuer(generate_private_key_pem())
    verifier = issuer.verifier()
    token = issuer.issue(ALICE)
    assert verifier.verify(token) == ALICE
    assert verifier.verify(token) == ALICE


def test_a_forged_signature_is_refused_even_after_the_real_token_verified() -> None:
    issuer = TokenIssuer(generate_private_key_pem())
    verifier = issuer.verifier()
    token = issuer.issue(ALICE)
    verifier.verify(token)
    with pytest.raises(InvalidToken):
        verifier.verify(tamper(token))


def test_another_keys_token_is_refused() -> None:
    verifier = TokenIssuer(generate_private_key_pem()).verifier()
    stranger = TokenIssuer(generate_private_key_pem()).issue(ALICE)
    with pytest.raises(InvalidToken):
        verifier.verify(stranger)


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    issuer = TokenIssuer(generate_private_key_pem(), ttl_secs=60)
    verifier = issuer.verifier()
    token = issuer.issue(ALICE)
    assert verifier.verify(token) == ALICE
    later = time.time() + 60 + 6  # past the expiry and the 5 s leeway
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(token)
    assert token not in verifier._verified  # forgotten: the next try is verified in full


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 3)
    issuer = TokenIssuer(generate_private_key_pem())
    verifier = issuer.verifier()
    issued = [issuer.issue(Principal(n, f"user{n}"), now=time.time() - n) for n in range(5)]
    for token in issued:
        verifier.verify(token)
    assert list(verifier._verified) == issued[-3:]  # the least recently used went first
