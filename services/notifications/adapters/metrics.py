"""The notifications service's Prometheus metrics, in a registry of its own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge


class NotificationsMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_handled = Counter("tertulia_notifications_events_handled_total",
                                      "Events applied, by type", ["type"], registry=r)
        self.events_duplicate = Counter("tertulia_notifications_events_duplicate_total",
                                        "Redelivered events recognised by id and skipped",
                                        registry=r)
        self.events_dead_lettered = Counter("tertulia_notifications_events_dead_lettered_total",
                                            "Events that failed every delivery and were recorded",
                                            registry=r)
        self.created = Counter("tertulia_notifications_created_total",
                               "Inbox entries created, by reason", ["reason"], registry=r)
        self.suppressed = Counter("tertulia_notifications_suppressed_total",
                                  "Decisions not to notify, by reason", ["reason"], registry=r)
        self.retention_removed = Counter("tertulia_notifications_retention_removed_total",
                                         "Read notifications removed by the retention job",
                                         registry=r)
        self.outbox_published = Counter("tertulia_notifications_outbox_published_total",
                                        "Outbox events acknowledged by JetStream", registry=r)
        self.outbox_pending = Gauge("tertulia_notifications_outbox_pending",
                                    "Outbox events not yet acknowledged", registry=r)
        self.consumer_active = Gauge(
            "tertulia_notifications_consumer_active",
            "1 while this instance holds the consumer's lease and applies events, 0 while it "
            "stands by", registry=r)
        self.webhook_deliveries_queued = Counter(
            "tertulia_notifications_webhook_deliveries_queued_total",
            "Webhook deliveries queued (one per matching webhook and event)", registry=r)
        self.webhook_attempts = Counter(
            "tertulia_notifications_webhook_attempts_total",
            "Webhook delivery attempts, by outcome (delivered, retry, give_up)", ["outcome"],
            registry=r)
        self.webhook_dead_lettered = Counter(
            "tertulia_notifications_webhook_dead_lettered_total",
            "Webhook deliveries given up (attempts exhausted, or refused for good)",
            registry=r)
