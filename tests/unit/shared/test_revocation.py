"""Revoked sessions: refused by every verifier from memory, fed by the bus, replayed at start."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.auth import (
    InvalidToken,
    Principal,
    RevokedSessions,
    TokenIssuer,
    TokenKeys,
    follow_revocations,
    generate_private_key_pem,
)
from shared.bus.memory import InMemoryEventBus
from shared.contracts import SessionRevoked, new_event

ALICE_S1 = Principal(7, "alice", session_id="s1")
ALICE_S2 = Principal(7, "alice", session_id="s2")


def revocation(session_id: str, *, expires_in_secs: float = 3600,
               at: datetime | None = None) -> tuple[str, object]:
    now = at or datetime.now(UTC)
    return new_event(SessionRevoked(session_id=session_id, user_id=7, reason="logout",
                                    revoked_at=now,
                                    expires_at=now + timedelta(seconds=expires_in_secs)),
                     source="tests", time=now)


def test_a_token_carries_its_session_id() -> None:
    issuer = TokenIssuer(generate_private_key_pem())
    assert issuer.verifier().verify(issuer.issue(ALICE_S1)) == ALICE_S1


def test_a_revoked_session_is_refused_even_when_its_token_was_remembered() -> None:
    issuer = TokenIssuer(generate_private_key_pem())
    revoked = RevokedSessions()
    verifier = issuer.verifier(revoked=revoked)
    one, two = issuer.issue(ALICE_S1), issuer.issue(ALICE_S2)
    assert verifier.verify(one) == ALICE_S1  # now in the verifier's memory
    revoked.revoke("s1", time.time() + 3600)
    with pytest.raises(InvalidToken, match="revoked"):
        verifier.verify(one)
    assert verifier.verify(two) == ALICE_S2  # the user's other session goes on


def test_token_keys_refuse_revoked_sessions() -> None:
    issuer = TokenIssuer(generate_private_key_pem())
    keys = TokenKeys(issuer.verifier())
    token = issuer.issue(ALICE_S1)
    assert keys.verify(token) == ALICE_S1
    keys.revoked.revoke("s1", time.time() + 3600)
    with pytest.raises(InvalidToken):
        keys.verify(token)


def test_entries_are_forgotten_once_their_tokens_would_have_expired() -> None:
    now = [1000.0]
    revoked = RevokedSessions(clock=lambda: now[0])
    assert revoked.revoke("old", expires_at=1010.0)
    assert not revoked.revoke("old", expires_at=1010.0)  # known already
    assert not revoked.revoke("dead", expires_at=500.0)  # its tokens expired long ago
    now[0] = 2000.0
    revoked.revoke("new", expires_at=5000.0)
    assert "old" not in revoked and "new" in revoked and len(revoked) == 1


async def test_a_follower_replays_the_stored_revocations_then_hears_new_ones() -> None:
    bus = InMemoryEventBus()
    await bus.publish_event(*revocation("before-start"))
    await bus.publish_event(*revocation("long-expired", expires_in_secs=-3600))
    revoked = RevokedSessions()
    heard: list[str] = []

    async def on_revoked(event: SessionRevoked) -> None:
        heard.append(event.session_id)

    sub = await follow_revocations(bus, revoked, on_revoked=on_revoked)
    await bus.settle()
    assert "before-start" in revoked and "long-expired" not in revoked
    await bus.publish_event(*revocation("after-start"))
    await bus.publish_event(*revocation("after-start"))  # told twice: heard once
    await bus.settle()
    assert "after-start" in revoked
    assert heard == ["before-start", "after-start"]
    await sub.unsubscribe()
