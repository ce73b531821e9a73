"""Notifications service configuration (12-factor: environment variables prefixed
`NOTIFICATIONS_`)."""

from __future__ import annotations

import secrets
from ipaddress import ip_network
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import SettingsConfigDict

from shared.contracts.permissions import (
    NOTIFICATIONS_DURABLE,
    NOTIFICATIONS_LEASE_BUCKET,
    NOTIFICATIONS_WEBHOOKS_DURABLE,
    WEBHOOKS_DELIVERIES_DURABLE,
    WEBHOOKS_STREAM,
    WEBHOOKS_SUBJECTS,
)
from shared.nats_settings import NatsSettings


class NotificationsSettings(NatsSettings):
    """Beside its own settings, the NATS ones of `shared.nats_settings`."""

    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore")

    data_dir: Path = Field(Path("data"), validation_alias=AliasChoices(
        "NOTIFICATIONS_DATA_DIR", "DATA_DIR"))
    # At start, apply the migrations a database lacks (`shared/migrations.py`); false where
    # a migrate job runs them (`tertulia migrate`): a schema behind then refuses start.
    auto_migrate: bool = True
    # Defaults to a SQLite file in data_dir; set to postgresql+asyncpg://... for several
    # replicas.
    database_url: str | None = None
    instance_id: str = Field(default_factory=lambda: f"notifications-{secrets.token_hex(4)}")

    # The JetStream durable consumer; its position survives restarts. Events are applied in
    # stream order by one instance at a time: the one holding the lease, a key named after
    # the durable in the KV bucket `lease_bucket`, renewed while it runs and expiring
    # `lease_secs` after it stops renewing (killed, cut off); the other instances stand by
    # and one takes over then (at once after a clean stop, which releases it).
    durable_name: str = NOTIFICATIONS_DURABLE
    lease_bucket: str = NOTIFICATIONS_LEASE_BUCKET
    lease_secs: float = Field(5.0, ge=3.0)
    # Deliveries of a failing event before it is kept as a dead letter; with the bus's
    # back-off (0.5 s doubling, capped at 30 s) ten span about two minutes of trouble.
    max_deliver: int = 10

    # Verifying access tokens: the chat service's public key (PEM), or its JWKS URL
    # (e.g. http://chat:8001/.well-known/jwks.json), fetched from the start until it answers.
    jwt_public_key_pem: str | None = None
    jwks_url: str | None = None
    jwks_retry_secs: float = 1.0

    preview_chars: int = 100
    # Larger request bodies are refused with 413 before they are read (shared/body_limit.py).
    max_body_bytes: int = 1024 * 1024
    broadcast_max_chars: int = 4000
    # Events older than this (a backlog after an outage) fill inboxes without live frames.
    live_max_age_secs: float = 300.0

    # "Looking at the room" comes from the chat replicas' `live.viewing` reports. What a
    # replica said holds until it has been silent for `viewing_expiry_factor` of its
    # heartbeat intervals (the interval it reports; this one until it has): a replica that
    # died stops suppressing notifications 30 s after its last heartbeat.
    viewing_heartbeat_secs: float = 10.0
    viewing_expiry_factor: float = 3.0

    retention_days: int = 30
    retention_interval_secs: float = 3600.0

    outbox_poll_secs: float = 1.0
    outbox_batch: int = 256
    service_heartbeat_secs: float = 5.0

    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks,
    # "*" for any), passed by `tertulia serve` to uvicorn as forwarded_allow_ips: the client's
    # address in the access log and the scheme of redirects. The gateway runs on 127.0.0.1.
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]

    # Outgoing webhooks (docs/operations.md, "Outgoing webhooks"): a durable of EVENTS
    # fans chat's events out into the work-queue stream `webhook_stream` (subjects
    # `<webhook_subject_prefix>.<webhook id>`), whose durable makes the HTTP attempts,
    # `webhook_concurrency` at once, each within `webhook_timeout_secs` (resolving the
    # name included); a failed one is tried again after `webhook_retry_base_secs`, doubling
    # up to `webhook_retry_max_secs`, `webhook_max_attempts` attempts in all. The NATS
    # permissions are written for the default names.
    webhook_durable_name: str = NOTIFICATIONS_WEBHOOKS_DURABLE
    webhook_stream: str = WEBHOOKS_STREAM
    webhook_subject_prefix: str = WEBHOOKS_SUBJECTS.removesuffix(".>")
    webhook_deliveries_durable: str = WEBHOOKS_DELIVERIES_DURABLE
    webhook_timeout_secs: float = Field(10.0, gt=0, le=120)
    webhook_max_attempts: int = Field(10, ge=1, le=100)
    webhook_retry_base_secs: float = Field(5.0, ge=0.001)
    webhook_retry_max_secs: float = Field(3600.0, ge=0.001)
    webhook_concurrency: int = Field(16, ge=1, le=1000)
    # Queued deliveries older than this are dropped by the stream (nobody retries that long).
    webhook_queue_max_age_secs: float = Field(3 * 86400.0, ge=60)
    # SSRF: webhooks reach public addresses only: a URL whose host has any private,
    # loopback, link-local, multicast, reserved or unspecified address (IPv4-mapped and
    # other IPv6 forms of those too) is refused at creation and at each attempt, unless
    # `webhook_allow_private`, or the address is in one of `webhook_allowed_networks`
    # (CIDRs, e.g. ["10.20.0.0/16"]).
    webhook_allow_private: bool = False
    webhook_allowed_networks: list[str] = []

    log_level: str = "INFO"
    log_json: bool = True

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ip_network(network, strict=False)  # a ValueError names the bad one
        return value

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'notifications.db'}"
