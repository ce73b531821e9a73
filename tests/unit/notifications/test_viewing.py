"""Who is looking at which room: what chat replicas report, combined, and what expires."""

from __future__ import annotations

from services.notifications.domain import Member, Viewing, suppression_for

A, B, C = 10, 20, 30
CARMEN = 7
EXPIRY_FACTOR = 3.0


def viewing() -> Viewing:
    return Viewing(default_interval_secs=10.0, expiry_factor=EXPIRY_FACTOR)


def test_the_room_on_screen_now_counts_not_the_one_before() -> None:
    """The reported scenario: carmen opens A, then B. Only B is on screen."""
    board = viewing()
    board.user("r1", CARMEN, {A}, now=0.0)
    board.user("r1", CARMEN, {B}, now=1.0)
    assert board.rooms_of([CARMEN], now=2.0) == {CARMEN: frozenset({B})}
    mention_in_a = Member(A, CARMEN, "carmen", "member")
    assert suppression_for("mention", mention_in_a, 5, board.rooms_of([CARMEN], 2.0)
                           .get(CARMEN, frozenset()), "all") is None


def test_tabs_and_replicas_add_up() -> None:
    """A in one tab (replica 1), B in another (replica 2): both are viewed."""
    board = viewing()
    board.user("r1", CARMEN, {A}, now=0.0)
    board.user("r2", CARMEN, {B}, now=0.0)
    assert board.rooms_of([CARMEN], now=1.0) == {CARMEN: frozenset({A, B})}
    board.user("r2", CARMEN, set(), now=2.0)  # that tab was hidden or closed
    assert board.rooms_of([CARMEN], now=3.0) == {CARMEN: frozenset({A})}
    board.user("r1", CARMEN, set(), now=4.0)
    assert board.rooms_of([CARMEN], now=5.0) == {}


def test_a_heartbeat_replaces_what_the_replica_said_before() -> None:
    board = viewing()
    board.user("r1", CARMEN, {A}, now=0.0)
    board.user("r1", 8, {C}, now=0.0)
    board.user("r2", 8, {B}, now=0.0)
    board.heartbeat("r1", {CARMEN: {B}}, interval_secs=10.0, now=1.0)  # a missed change
    assert board.rooms_of([CARMEN, 8], now=2.0) == {CARMEN: frozenset({B}),
                                                    8: frozenset({B})}


def test_a_silent_replica_expires_after_a_few_heartbeats() -> None:
    """A crashed replica's viewers must not keep mentions quiet for ever."""
    board = viewing()
    board.heartbeat("r1", {CARMEN: {A}}, interval_secs=2.0, now=0.0)
    board.user("r2", CARMEN, {B}, now=0.0)  # no heartbeat heard yet: the default interval
    assert board.rooms_of([CARMEN], now=2.0 * EXPIRY_FACTOR - 0.1) == {
        CARMEN: frozenset({A, B})}
    assert board.rooms_of([CARMEN], now=2.0 * EXPIRY_FACTOR + 0.1) == {
        CARMEN: frozenset({B})}
    assert board.rooms_of([CARMEN], now=10.0 * EXPIRY_FACTOR + 0.1) == {}
    board.user("r2", CARMEN, {C}, now=40.0)  # heard again: alive again
    assert board.rooms_of([CARMEN], now=41.0) == {CARMEN: frozenset({C})}


def test_unknown_users_view_nothing() -> None:
    assert viewing().rooms_of([1, 2], now=0.0) == {}
