"""The aggregation rules on their own: status of a user from their connections, and who sees
which room."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.presence.domain import (
    ACTIVE,
    CONNECTED,
    IDLE,
    MANUAL,
    Connection,
    PresenceView,
    UserState,
    Viewer,
    aggregate,
    as_seen_by,
    most_recently_active,
    reason_for,
)
from tests.unit.presence.fakes import T0, TIMING


def conn(cid: str, *, idle_secs: float = 0.0, room: int | None = None,
         opened_secs_ago: float = 600.0) -> Connection:
    return Connection(cid, 1, "ana", "chat-a", (room,) if room else (), room,
                      opened_at=T0 - timedelta(seconds=opened_secs_ago),
                      last_active_at=T0 - timedelta(seconds=idle_secs), confirmed_at=T0)


def user(*conns: Connection, status: str = "online", manual: str | None = None,
         offline_in: float | None = None) -> UserState:
    state = UserState(1, "ana", status, {c.connection_id: c for c in conns},  # type: ignore[arg-type]
                      manual=manual)  # type: ignore[arg-type]
    if offline_in is not None:
        state.offline_due = T0 + timedelta(seconds=offline_in)
    return state


def test_one_active_connection_is_online_and_an_idle_one_is_away() -> None:
    assert aggregate(user(conn("a")), T0, TIMING) == "online"
    assert aggregate(user(conn("a", idle_secs=300)), T0, TIMING) == "away"
    assert aggregate(user(conn("a", idle_secs=299.9)), T0, TIMING) == "online"


def test_online_on_any_connection_beats_away_on_the_others() -> None:
    assert aggregate(user(conn("a", idle_secs=1000), conn("b")), T0, TIMING) == "online"


@pytest.mark.parametrize("manual", ["busy", "away"])
def test_a_manual_status_wins_over_activity_while_connected(manual: str) -> None:
    assert aggregate(user(conn("a"), conn("b"), manual=manual), T0, TIMING) == manual


def test_without_connections_the_announced_status_holds_until_the_grace_ends() -> None:
    assert aggregate(user(offline_in=0.1), T0, TIMING) == "online"
    assert aggregate(user(offline_in=0.0), T0, TIMING) == "offline"
    assert aggregate(user(status="busy", offline_in=2), T0, TIMING) == "busy"
    assert aggregate(user(status="offline"), T0, TIMING) == "offline"


def test_the_current_room_is_that_of_the_most_recently_active_connection() -> None:
    latest = most_recently_active([conn("a", idle_secs=5, room=1), conn("b", room=2),
                                   conn("c", idle_secs=60, room=3)])
    assert latest is not None and latest.current_room == 2
    # Equal activity: the newer socket.
    tie = most_recently_active([conn("a", room=1), conn("b", room=2, opened_secs_ago=1)])
    assert tie is not None and tie.current_room == 2


@pytest.mark.parametrize(("before", "after", "hint", "reason"), [
    ("offline", "online", None, CONNECTED),
    ("offline", "busy", MANUAL, CONNECTED),
    ("online", "away", None, IDLE),
    ("away", "online", None, ACTIVE),
    ("online", "busy", MANUAL, MANUAL),
])
def test_reasons(before: str, after: str, hint: str | None, reason: str) -> None:
    assert reason_for(user(status=before), after, hint) == reason  # type: ignore[arg-type]


def test_offline_gives_the_reason_the_last_connection_went_away() -> None:
    state = user()
    state.offline_reason = "expired"
    assert reason_for(state, "offline", None) == "expired"


VIEW = PresenceView(7, "bea", "online", current_room=5, last_active_at=T0, last_seen_at=None,
                    connections=2, rooms=frozenset({5, 6}))


def test_a_users_room_shows_only_to_people_in_it_admins_and_themselves() -> None:
    outsider = as_seen_by(VIEW, Viewer(1, False, frozenset({9})))
    assert outsider.current_room is None and outsider.rooms == frozenset()
    assert outsider.status == "online" and outsider.connections == 2
    neighbour = as_seen_by(VIEW, Viewer(1, False, frozenset({6})))
    assert neighbour.current_room is None and neighbour.rooms == frozenset({6})
    assert as_seen_by(VIEW, Viewer(1, False, frozenset({5}))).current_room == 5
    assert as_seen_by(VIEW, Viewer(1, True, frozenset())) == VIEW
    assert as_seen_by(VIEW, Viewer(7, False, frozenset())) == VIEW
