"""Fixtures for the chat core's unit tests: fresh fakes per test."""

from __future__ import annotations

from typing import Any

import pytest

from services.chat.ports import ChatDeps
from tests.unit.chat.fakes import (
    FixedClock,
    InMemoryChatUnitOfWork,
    RecordingLiveFeed,
    make_deps,
)


@pytest.fixture
def deps_overrides() -> dict[str, Any]:
    """Parametrize this to change a setting (`message_max_chars`, `history_on_join`...)."""
    return {}


@pytest.fixture
def deps(deps_overrides: dict[str, Any]) -> ChatDeps:
    return make_deps(**deps_overrides)


@pytest.fixture
def uow(deps: ChatDeps) -> InMemoryChatUnitOfWork:
    assert isinstance(deps.uow, InMemoryChatUnitOfWork)
    return deps.uow


@pytest.fixture
def live(deps: ChatDeps) -> RecordingLiveFeed:
    assert isinstance(deps.live, RecordingLiveFeed)
    return deps.live


@pytest.fixture
def clock(deps: ChatDeps) -> FixedClock:
    assert isinstance(deps.clock, FixedClock)
    return deps.clock

