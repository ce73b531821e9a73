"""Sessions: a sign-in opens one; logout and a password change revoke, through the outbox."""

from __future__ import annotations

import pytest

from services.chat import use_cases
from services.chat.domain import Actor, Forbidden, Invalid
from services.chat.ports import ChatDeps
from shared.contracts import SessionRevoked
from tests.unit.chat.fakes import FixedClock, InMemoryChatUnitOfWork, RecordingRevocations

PASSWORD = "correct horse battery"


def revocations_of(deps: ChatDeps) -> RecordingRevocations:
    assert isinstance(deps.revocations, RecordingRevocations)
    return deps.revocations


async def signed_up(deps: ChatDeps, name: str = "alice") -> Actor:
    user = await use_cases.register(deps, name, PASSWORD)
    return Actor(user.id, user.username)


async def test_a_sign_in_opens_a_session_that_lasts_the_token_lifetime(
        deps: ChatDeps, clock: FixedClock) -> None:
    alice = await signed_up(deps)
    user, session = await use_cases.open_session(deps, alice.user_id)  # type: ignore[arg-type]
    assert (user.id, session.user_id) == (alice.user_id, alice.user_id)
    assert (session.expires_at - clock.now()).total_seconds() == deps.session_ttl_secs
    _, other = await use_cases.open_session(deps, alice.user_id)  # type: ignore[arg-type]
    assert other.id != session.id


async def test_logout_revokes_that_session_once_and_says_so_on_the_bus(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    alice = await signed_up(deps)
    _, session = await use_cases.open_session(deps, alice.user_id)  # type: ignore[arg-type]
    _, kept = await use_cases.open_session(deps, alice.user_id)  # type: ignore[arg-type]
    assert await use_cases.end_session(deps, session.id) is True
    assert await use_cases.end_session(deps, session.id) is False  # already ended
    assert await use_cases.end_session(deps, None) is False  # a token without a session
    [event] = uow.events_of(SessionRevoked)
    assert (event.session_id, event.user_id, event.reason) == (session.id, alice.user_id,
                                                               "logout")
    assert event.expires_at == session.expires_at
    assert revocations_of(deps).ids == {session.id}
    assert kept.id not in revocations_of(deps).ids


async def test_a_password_change_revokes_every_session_and_opens_a_new_one(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    alice = await signed_up(deps)
    opened = [(await use_cases.open_session(deps, alice.user_id))[1]  # type: ignore[arg-type]
              for _ in range(2)]
    _, fresh = await use_cases.change_password(deps, alice, PASSWORD, "a new long password")
    assert revocations_of(deps).ids == {s.id for s in opened}
    assert {e.reason for e in uow.events_of(SessionRevoked)} == {"password_changed"}
    assert fresh.id not in revocations_of(deps).ids
    with pytest.raises(Exception, match="Wrong username or password"):
        await use_cases.authenticate(deps, "alice", PASSWORD)
    assert (await use_cases.authenticate(deps, "alice", "a new long password")).id == \
        alice.user_id


async def test_a_password_change_needs_the_current_password_and_a_valid_new_one(
        deps: ChatDeps, uow: InMemoryChatUnitOfWork) -> None:
    alice = await signed_up(deps)
    with pytest.raises(Forbidden) as wrong:
        await use_cases.change_password(deps, alice, "not it", "a new long password")
    assert wrong.value.code == "wrong_password"
    with pytest.raises(Invalid):
        await use_cases.change_password(deps, alice, PASSWORD, "short")
    assert uow.events_of(SessionRevoked) == []
