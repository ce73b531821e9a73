"""The chat service's Prometheus metrics, in a registry of its own (no global state)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ChatMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.sockets_open = Gauge("tertulia_chat_sockets_open", "Open WebSockets", registry=r)
        self.sockets_opened = Counter("tertulia_chat_sockets_opened_total",
                                      "WebSockets accepted", registry=r)
        self.sockets_closed = Counter("tertulia_chat_sockets_closed_total",
                                      "WebSockets closed, by close code", ["code"], registry=r)
        self.slow_consumers_closed = Counter("tertulia_chat_slow_consumers_closed_total",
                                      "Sockets closed with 1013 for a full send buffer",
                                      registry=r)
        self.frames_received = Counter("tertulia_chat_frames_received_total",
                                       "Client frames, by type", ["type"], registry=r)
        self.frame_errors = Counter("tertulia_chat_frame_errors_total",
                                    "Error frames sent, by code", ["code"], registry=r)
        self.frames_delivered = Counter("tertulia_chat_frames_delivered_total",
                                  "Room frames written to sockets", registry=r)
        self.seq_gaps_filled = Counter("tertulia_chat_seq_gaps_filled_total",
                                       "Room seq gaps read from the database (a frame from "
                                       "another replica did not arrive in time)", registry=r)
        self.messages_posted = Counter("tertulia_chat_messages_posted_total",
                                       "Messages stored", registry=r)
        self.outbox_published = Counter("tertulia_chat_outbox_published_total",
                                        "Outbox events acknowledged by JetStream", registry=r)
        self.outbox_pending = Gauge("tertulia_chat_outbox_pending",
                                    "Outbox events not yet acknowledged", registry=r)
        self.post_batch_posts = Histogram("tertulia_chat_post_batch_posts",
                                    "Posts stored per transaction (group commit)",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256), registry=r)
        self.post_seconds = Histogram("tertulia_chat_post_seconds",
                                      "Time to store a message and ack it", registry=r)
        # One child per client frame type, looked up without the `labels()` lock per frame.
        self._received_by_type: dict[str, Counter] = {}

    def frame_in(self, frame_type: str) -> None:
        """A client frame of a known type (the types are a fixed, small set)."""
        child = self._received_by_type.get(frame_type)
        if child is None:
            child = self._received_by_type[frame_type] = self.frames_received.labels(frame_type)
        child.inc()
