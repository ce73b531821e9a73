"""The fault-injection scenario of `tests/integration/test_up_ha.py`: kill one process of a
running `tertulia up --ha` under the load of `tests/support/chaos_load.py`, then check what
must hold after it (posts paused): every acknowledged message in history once, with the seq
it was acknowledged with, and in `EVENTS` once; every mention in its inbox once; no user
whose socket stayed up announced offline or online, the user whose socket opens and closes
announced alternately; both dashboard instances and both streams counting what the chat
database holds; every socket's seqs once and in order across its reconnects; every client
back within 5 s. Returns the figures of the kill (`docs/operations.md`, Losing a process)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from itertools import pairwise
from typing import Any

import httpx

from services.up import PRESENCE_PARTITIONS
from tests.support.chaos_load import Load
from tests.support.chaos_probe import Cluster, eventually, history, inbox
from tests.support.system import RunningSystem

PASSWORD = "chaos-test-password"
POSTERS = [f"poster{n}" for n in range(4)]
MENTIONED = ["mira", "nico"]
OBSERVERS = [*MENTIONED, "olga", "omar"]
CHURN = "carla"
TARGETS = ("chat", "presence", "notifications", "dashboard", "nats")
LOAD_AFTER_KILL_SECS = 8.0   # posting goes on this long after each kill
BACK_WITHIN_SECS = 5.0
SETTLE_SECS = 45.0           # for what follows asynchronously: relays, inboxes, counts

async def people(http: httpx.AsyncClient, admin: str,
                 admin_password: str) -> tuple[dict[str, str], int]:
    """The load's users (registered) and the administrator's token; a room they all joined."""
    async def sign_in(name: str, password: str) -> str:
        token = await http.post("/api/auth/token", data={"username": name, "password": password})
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])

    tokens = {admin: await sign_in(admin, admin_password)}
    for name in [*POSTERS, *OBSERVERS, CHURN]:
        registered = await http.post("/api/auth/register",
                                     json={"username": name, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        tokens[name] = await sign_in(name, PASSWORD)
    auth = {"Authorization": f"Bearer {tokens[admin]}"}
    room = (await http.post("/api/chat/rooms", json={"name": "chaos"}, headers=auth)).json()
    for name in tokens:
        if name != admin:
            joined = await http.post(f"/api/chat/rooms/{room['id']}/join",
                                     headers={"Authorization": f"Bearer {tokens[name]}"})
            assert joined.status_code in (200, 201), joined.text
    return tokens, room["id"]


async def online(http: httpx.AsyncClient, token: str, names: set[str]) -> bool:
    page = (await http.get("/api/presence", params={"limit": 200},
                           headers={"Authorization": f"Bearer {token}"})).json()
    return names <= {u["username"] for u in page["users"]}


async def _victim(system: RunningSystem, cluster: Cluster, load: Load, target: str) -> str:
    if target == "chat":  # the replica holding most of the load's sockets
        held = Counter(c.replica for c in [*load.posters, *load.observers])
        return str(held.most_common(1)[0][0])
    if target == "notifications":  # the instance applying events, not one standing by
        return (await cluster.kv_values("NOTIFICATIONS_LEASE"))["notifications"][0]
    if target == "dashboard":  # the instance serving most of the load's streams
        async def streams(name: str) -> float:
            async with httpx.AsyncClient(timeout=5) as http:
                text = (await http.get(system.urls()[name] + "metrics")).text
            return next(float(line.split()[-1]) for line in text.splitlines()
                        if line.startswith("tertulia_dashboard_sse_clients "))
        served = {name: await streams(name) for name in ("dashboard-1", "dashboard-2")}
        return max(served, key=lambda name: served[name])
    if target == "nats":
        leader = await cluster.events_leader()
        assert leader, "EVENTS has no leader"
        return leader
    return f"{target}-1"


async def kill_and_check(system: RunningSystem, cluster: Cluster, http: httpx.AsyncClient,
                         load: Load, target: str, baseline: int,
                         persisted: Callable[[], Awaitable[int]]) -> dict[str, Any]:
    victim = await _victim(system, cluster, load, target)
    pid = system.pids()[victim]
    drops_before = len(load.all_drops())
    lines_before = system.line_count()
    acked_before = len(load.acked)
    in_flight = len(load.pending)
    killed_at = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    # Read after the kill: what the victim held then, at revisions only a live one moves on.
    leases = await cluster.kv_values("PRESENCE_LEASES") if target == "presence" else {}

    recovered = await _recovery(system, cluster, target, victim, pid, leases, lines_before)
    await asyncio.sleep(max(0.0, LOAD_AFTER_KILL_SECS - (time.monotonic() - killed_at)))
    restarted, restart_secs = await eventually(
        lambda: _restarted(system, cluster, victim, pid), 60)
    assert restarted, f"{victim} was not restarted and ready within 60 s"
    await load.pause()
    drops = load.all_drops()[drops_before:]
    latencies = [s for at, s in load.ack_latency if at >= killed_at]

    t = [time.monotonic()]
    stored = await _check_history_and_events(http, cluster, load, room_id=load.room_id)
    t.append(time.monotonic())
    await _check_mentions(http, load, stored)
    t.append(time.monotonic())
    flaps = await _check_presence(cluster, load, baseline)
    t.append(time.monotonic())
    await _check_dashboard(system, http, load, await persisted())
    t.append(time.monotonic())
    _check_seqs(load)
    if target == "dashboard":  # Last-Event-ID resumed each stream on the other instance
        resumed = [d.resumed for d in drops]
        assert resumed and all(resumed), f"streams not resumed without a snapshot: {resumed}"
    late = [(d.client, d.away) for d in drops if d.away is None or d.away > BACK_WITHIN_SECS]
    assert not late, f"clients not back within {BACK_WITHIN_SECS} s: {late}"
    assert not load.errors, load.errors
    load.posting.set()
    return {
        "phase_secs": round(time.monotonic() - killed_at, 1),
        "check_secs": [round(b - a, 1) for a, b in pairwise(t)],
        "killed": victim, "recovered_secs": recovered,
        "restarted_secs": round(restart_secs + LOAD_AFTER_KILL_SECS, 1),
        "posts_in_flight": in_flight, "posts_acked": len(load.acked) - acked_before,
        "max_ack_secs": round(max(latencies, default=0.0), 2),
        "dropped": len(drops), "max_away_secs": round(max((d.away or 0 for d in drops),
                                                          default=0.0), 2),
        "frames_replayed": sum(d.replayed for d in drops),
        "posts_resent": sum(d.in_flight for d in drops),
        "streams_resumed": [d.resumed for d in drops if d.resumed is not None],
        "presence_changes_of_reconnected_users": flaps, "stored": len(stored),
    }


async def _recovery(system: RunningSystem, cluster: Cluster, target: str, victim: str,
                    pid: int, leases: dict[str, tuple[str, int]],
                    lines_before: int) -> float | None:
    """Seconds from the kill until the service does again what the victim did."""
    async def partitions_renewed() -> bool:
        now = await cluster.kv_values("PRESENCE_LEASES")
        held = {k: rev for k, (owner, rev) in leases.items()
                if k.startswith("p.") and owner == victim}
        parts = [k for k in now if k.startswith("p.")]
        return len(parts) == PRESENCE_PARTITIONS and all(
            k in now and now[k][1] != rev for k, rev in held.items())

    async def lease_taken() -> bool:
        return any("holds its lease" in line and line.split()[1].startswith("notifications")
                   for line in system.lines[lines_before:])

    async def new_leader() -> bool:  # elected again: another node, or the victim restarted
        leader = await cluster.events_leader()
        return bool(leader and (leader != victim or system.pids()[victim] != pid))

    check = {"presence": partitions_renewed, "notifications": lease_taken,
             "nats": new_leader}.get(target)
    if check is None:  # chat and dashboard: the clients' own reconnects say it
        return None
    done, secs = await eventually(check, 30, every=0.1)
    assert done, f"{target}: not recovered within 30 s"
    return round(secs, 2)


async def _restarted(system: RunningSystem, cluster: Cluster, name: str, old_pid: int) -> bool:
    if system.pids().get(name, old_pid) == old_pid:
        return False
    if name.startswith("nats"):
        return await cluster.events_replicas_current()
    async with httpx.AsyncClient(timeout=2) as http:
        return (await http.get(system.urls()[name] + "readyz")).status_code == 200


async def _check_history_and_events(http: httpx.AsyncClient, cluster: Cluster, load: Load,
                                    room_id: int) -> list[dict[str, Any]]:
    stored = await history(http, room_id)
    by_cmid = Counter(m["client_msg_id"] for m in stored)
    assert not [c for c, n in by_cmid.items() if n > 1], "a post was stored twice"
    assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
    found = {m["client_msg_id"]: (m["id"], m["seq"]) for m in stored}
    lost = {c: ids for c, ids in load.acked.items() if found.get(c) != ids}
    assert not lost, f"acknowledged posts lost or changed: {lost}"
    assert set(found) <= load.sent
    assert set(found) == set(load.acked), "a post stored and never acknowledged"

    async def created() -> Counter[int] | None:
        events = await cluster.events()
        ids = Counter(e.data["message_id"] for e in events
                      if e.type == "tertulia.chat.message.created.v1"
                      and e.data["room_id"] == room_id)
        return ids if sum(ids.values()) >= len(stored) else None

    ids, _ = await eventually(created, SETTLE_SECS, every=1)
    assert ids == Counter(m["id"] for m in stored), "EVENTS differs from history"
    return stored


async def _check_mentions(http: httpx.AsyncClient, load: Load,
                          stored: list[dict[str, Any]]) -> None:
    for name in MENTIONED:
        wanted = Counter(m["id"] for m in stored if f"@{name}" in m["content"])

        async def got(name: str = name, wanted: Counter[int] = wanted) -> Counter[int] | None:
            entries = await inbox(http, load.tokens[name])
            have = Counter(e["data"]["message_id"] for e in entries
                           if e["reason"] == "mention")
            return have if set(have) >= set(wanted) else None

        have, _ = await eventually(got, SETTLE_SECS, every=1)
        assert have == wanted, f"{name}'s mentions: {have} != {wanted}"


async def _check_presence(cluster: Cluster, load: Load, baseline: int) -> dict[str, int]:
    """No announcement for users whose sockets stayed up; the churn user's alternate."""
    changes: dict[str, list[str]] = {}
    for event in (await cluster.events())[baseline:]:
        if event.type == "tertulia.presence.changed.v1":
            changes.setdefault(event.data["username"], []).append(event.data["status"])
    reconnected = {d.client for d in load.all_drops()}
    steady = [c.user for c in [*load.posters, *load.observers] if c.name not in reconnected]
    spurious = {u: changes[u] for u in steady if u in changes}
    assert not spurious, f"presence announced for users whose sockets stayed up: {spurious}"
    churn = changes.get(load.churn.user, [])
    assert all(a != b for a, b in pairwise(churn)), churn
    assert churn, "the churn user was never announced: the check above saw nothing"
    return {u: len(s) for u, s in changes.items() if u != load.churn.user}


async def _check_dashboard(system: RunningSystem, http: httpx.AsyncClient, load: Load,
                           stored: int) -> None:
    auth = {"Authorization": f"Bearer {load.tokens[load.admin]}"}

    async def counts() -> list[int] | None:
        found = []
        for name in ("dashboard-1", "dashboard-2"):
            stats = await http.get(system.urls()[name] + "api/dashboard/stats", headers=auth)
            found.append(stats.json()["messages_24h"])
        found.extend(load.stream_counts.values())
        return found if all(n == stored for n in found) else None

    found, _ = await eventually(counts, SETTLE_SECS)
    assert found, f"dashboard counts {await counts()} != {stored} stored"


def _check_seqs(load: Load) -> None:
    """Each socket's view, across its reconnects: every seq once, in order."""
    for client in [*load.posters, *load.observers]:
        seqs = client.seqs
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else True, (
            f"{client.name}: seqs not contiguous: "
            f"{[(a, b) for a, b in pairwise(seqs) if b != a + 1][:5]}")
