"""Dashboard service configuration (12-factor: environment variables prefixed `DASHBOARD_`)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.nats_settings import NatsSettings


class DashboardSettings(NatsSettings):
    """Beside its own settings, the NATS ones of `shared.nats_settings`."""

    model_config = SettingsConfigDict(env_prefix="DASHBOARD_", extra="ignore")

    data_dir: Path = Field(Path("data"),
                           validation_alias=AliasChoices("DASHBOARD_DATA_DIR", "DATA_DIR"))
    # At start, apply the migrations a database lacks (`shared/migrations.py`); false where
    # a migrate job runs them (`tertulia migrate`): a schema behind then refuses start.
    auto_migrate: bool = True
    # Defaults to a SQLite file in data_dir; set to postgresql+asyncpg://... for multi-node.
    database_url: str | None = None
    instance_id: str = Field(default_factory=lambda: f"dashboard-{secrets.token_hex(4)}")
    # Attempts at a failing event (in stream order, backing off) before it is given up.
    max_deliver: int = 5

    # Access tokens are verified with the chat service's public key: a PEM, or its JWKS
    # (e.g. http://chat:8001/.well-known/jwks.json), fetched at start until it answers.
    jwt_public_key_pem: str | None = None
    jwks_url: str | None = None
    jwks_retry_secs: float = 1.0

    # Server-Sent Events.
    keepalive_secs: float = 15.0
    # Larger request bodies are refused with 413 before they are read (shared/body_limit.py).
    max_body_bytes: int = 1024 * 1024
    # Deltas a client may have waiting; one more and it is dropped (it reconnects).
    client_queue_size: int = 256
    # Deltas kept for `Last-Event-ID` resume; an older id gets a fresh snapshot.
    delta_ring_size: int = 2048
    # Folded events kept for a `Last-Event-ID` of another instance (resumed from its stream
    # position); further back it gets a fresh snapshot.
    resume_events: int = 10_000
    # An id from an instance further along the stream waits this long for this one to
    # catch up; then a snapshot.
    resume_wait_secs: float = 5.0
    # Changes are gathered this long into one delta per kind; 0 sends each change at once.
    delta_interval_secs: float = 0.5
    # What browsers wait before reconnecting (the `retry:` field of the first event).
    sse_retry_ms: int = 3000

    # An instance (or a chat replica's socket report) silent for this many of its own
    # heartbeat intervals is down.
    heartbeat_stale_factor: float = 3.0
    # The chat replicas' `live.connections` heartbeat, assumed until a replica sends its own.
    chat_heartbeat_secs: float = 10.0
    # A heartbeat that changes nothing reaches the database at most this often.
    health_persist_secs: float = 60.0
    # A down instance that a newer instance of its service replaced (a restart gets a new
    # id) is forgotten after this long; the last instance of a service stays for a day.
    instance_replaced_secs: float = 600.0

    # Broadcasts: wait this long at most for every live chat replica's receipt.
    broadcast_receipt_window_secs: float = 1.0
    broadcast_sender: str = "Administrador"  # the exercise's `from`
    broadcast_max_chars: int = 4000

    service_heartbeat_secs: float = 5.0
    prune_secs: float = 300.0

    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks,
    # "*" for any), passed by `tertulia serve` to uvicorn as forwarded_allow_ips: the client's
    # address in the access log and the scheme of redirects. The gateway runs on 127.0.0.1.
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]

    log_level: str = "INFO"
    log_json: bool = True

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'dashboard.db'}"
