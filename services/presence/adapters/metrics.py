"""The presence service's Prometheus metrics, in a registry of its own (no global state)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.presence.domain import Board


class PresenceMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.live_messages = Counter("tertulia_presence_live_messages_total",
                                     "live.connections messages, by kind", ["kind"], registry=r)
        self.users = Gauge("tertulia_presence_users", "Users by announced status", ["status"],
                           registry=r)
        self.connections = Gauge("tertulia_presence_connections",
                                 "Open connections of signed-in users", registry=r)
        self.events_pending = Gauge("tertulia_presence_events_pending",
                                    "Presence changes not yet acknowledged by JetStream",
                                    registry=r)

    def observe(self, board: Board, pending: Callable[[], int]) -> None:
        """Read the gauges from the board at scrape time."""
        for status in ("online", "away", "busy"):
            self.users.labels(status).set_function(
                lambda s=status: board.counts()[s])  # type: ignore[misc]
        self.connections.set_function(lambda: len(board.connections))
        self.events_pending.set_function(pending)
