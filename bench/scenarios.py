"""The scenarios: each one's layout (rooms, sockets, users, senders), the load generator's
parameters, and which pass counts as the better one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from servers import Layout

# Users come from one seed per run (argon2 costs ~0.25 s a user), reused over many sockets.
SEED_USERS = 100
QUICK_SEED_USERS = 50


def build_layout(room_sizes: list[int], users_per_room: int, users: int,
                 senders: Callable[[int, int], bool]) -> Layout:
    """Sockets interleaved over the rooms (socket i is in room i mod R while every room still
    has places), so connects spread evenly. The k-th socket of room r belongs to user
    (r * users_per_room + k mod users_per_room) mod users; `senders(r, k)` picks the posters."""
    socket_room: list[int] = []
    socket_user: list[int] = []
    sender_list: list[int] = []
    for k in range(max(room_sizes)):
        for r, size in enumerate(room_sizes):
            if k >= size:
                continue
            if senders(r, k):
                sender_list.append(len(socket_room))
            socket_room.append(r)
            socket_user.append((r * users_per_room + k % users_per_room) % users)
    return Layout(room_sizes, socket_room, socket_user, sender_list)


@dataclass(frozen=True)
class Scenario:
    name: str
    describe: str
    layout: Layout
    params: dict[str, Any]
    # The number a pass is ranked by, bigger is better; None: the pass failed.
    score: Callable[[dict[str, Any]], float | None]
    timeout_s: float


def _neg(value: float | None) -> float | None:
    return None if value is None else -value


def make_scenarios(quick: bool) -> dict[str, Scenario]:
    users = QUICK_SEED_USERS if quick else SEED_USERS
    q = 0.2 if quick else 1.0  # --quick: shorter phases, fewer sockets

    a_params = {"warmup_s": 2 * q, "measure_s": 10 * q, "drain_s": 10}
    b_rooms = 10 if quick else 50
    b_params = {"warmup_s": 2 * q, "measure_s": 15 * q, "rate": 100, "drain_s": 10}
    c_rooms, c_size = (10, 50) if quick else (100, 50)
    c_params = {"idle_s": 3, "connect_concurrency": 50, "connect_timeout_s": 60}
    k_rooms = 19 if quick else 200
    k_params = {"idle_s": 3, "connect_concurrency": 50, "connect_timeout_s": 60,
                "messages": 50, "rate": 10, "drain_s": 10}
    p_params = {"warmup_s": 2 * q, "measure_s": 10 * q, "drain_s": 10}

    return {
        "A": Scenario(
            "A", "1 room, 100 sockets; 10 senders, each one message in flight until its own "
            "copy returns", build_layout([100], 20, users, lambda r, k: k < 10),
            a_params, lambda r: r.get("deliveries_per_s"), 180),
        "B": Scenario(
            "B", f"{b_rooms} rooms x 20 sockets; 100 messages/s in total, round-robin over the "
            "rooms", build_layout([20] * b_rooms, 10, users, lambda r, k: k == 0),
            b_params, lambda r: _neg(r.get("latency", {}).get("p99_ms")), 180),
        "C": Scenario(
            "C", f"{c_rooms * c_size} sockets over {c_rooms} rooms, 50 connects in flight",
            build_layout([c_size] * c_rooms, 5, users, lambda r, k: False),
            c_params, lambda r: r.get("connect", {}).get("connects_per_s"), 300),
        "C10k": Scenario(
            "C10k", f"{k_rooms * 50 + 20} sockets: {k_rooms} rooms of 50 and one of 20; 50 "
            "messages at 10/s into the room of 20",
            build_layout([50] * k_rooms + [20], 5, users,
                         lambda r, k: r == k_rooms and k == 0),
            k_params, lambda r: _neg(r.get("latency", {}).get("p99_ms")), 420),
        "posts": Scenario(
            "posts", "50 sender sockets over 10 rooms, each posting on its ack",
            build_layout([5] * 10, 5, users, lambda r, k: True),
            p_params, lambda r: r.get("messages_per_s"), 180),
    }
