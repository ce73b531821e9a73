"""The dashboard's Prometheus metrics, in a registry of its own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class DashboardMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sse_clients = Gauge("tertulia_dashboard_sse_clients", "Open SSE streams",
                                 registry=r)
        self.sse_clients_dropped = Counter("tertulia_dashboard_sse_clients_dropped_total",
                                           "SSE streams closed because their queue was full",
                                           registry=r)
        self.sse_deltas = Counter("tertulia_dashboard_sse_deltas_total",
                                  "Deltas published to SSE clients, by type", ["type"],
                                  registry=r)
        self.sse_resumed = Counter("tertulia_dashboard_sse_resumed_total",
                                   "Streams resumed from Last-Event-ID (no snapshot needed)",
                                   registry=r)
        self.events = Counter("tertulia_dashboard_events_total",
                              "Durable events handled, by outcome", ["outcome"], registry=r)
        self.events_dead_lettered = Counter("tertulia_dashboard_events_dead_lettered_total",
                                            "Events given up on after max_deliver attempts",
                                            registry=r)
        self.live_messages = Counter("tertulia_dashboard_live_messages_total",
                                     "Live messages handled, by subject", ["subject"],
                                     registry=r)
        self.live_unreadable = Counter("tertulia_dashboard_live_unreadable_total",
                                       "Live messages that did not parse, by subject",
                                       ["subject"], registry=r)
        self.broadcasts = Counter("tertulia_dashboard_broadcasts_total",
                                  "Operator broadcasts sent", registry=r)
