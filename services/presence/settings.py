"""Presence service configuration (12-factor: environment variables prefixed `PRESENCE_`)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from shared.contracts.permissions import PRESENCE_BUCKET, PRESENCE_LEASES_BUCKET
from shared.nats_settings import NatsSettings


class PresenceSettings(NatsSettings):
    """Beside its own settings, the NATS ones of `shared.nats_settings`."""

    model_config = SettingsConfigDict(env_prefix="PRESENCE_", extra="ignore")

    data_dir: Path = Field(Path("data"),
                           validation_alias=AliasChoices("PRESENCE_DATA_DIR", "DATA_DIR"))
    # At start, apply the migrations a database lacks (`shared/migrations.py`); false where
    # a migrate job runs them (`tertulia migrate`): a schema behind then refuses start.
    auto_migrate: bool = True
    # Defaults to a SQLite file in data_dir; set to postgresql+asyncpg://... for multi-node.
    database_url: str | None = None
    instance_id: str = Field(default_factory=lambda: f"presence-{secrets.token_hex(4)}")

    # Access tokens are verified with the chat service's public key: a PEM, or its JWKS
    # (e.g. http://chat:8001/.well-known/jwks.json), fetched at start until it answers.
    jwt_public_key_pem: str | None = None
    jwks_url: str | None = None
    jwks_retry_secs: float = 1.0

    # A user with no open connection stays as they were this long before going offline, so a
    # page reload or a network blip makes no offline/online pair.
    grace_secs: float = 5.0
    # No activity on any connection for this long turns online into away.
    idle_away_secs: float = 300.0
    # The chat replicas' `live.connections` heartbeat (CHAT_CONNECTIONS_HEARTBEAT_SECS).
    chat_heartbeat_secs: float = 10.0
    # A connection no heartbeat confirmed for kv_ttl_secs (default factor x heartbeat) has
    # expired: its replica is gone. Several heartbeats, so one lost message expires nothing.
    kv_ttl_factor: float = 3.0
    kv_ttl_secs: float | None = None
    kv_bucket: str = PRESENCE_BUCKET
    # After a start or a NATS outage, users nobody has confirmed yet get this long (default
    # 1.5 heartbeats) before they go offline: every replica reports its full list by then.
    settle_secs: float | None = None
    # The timer loop wakes at the next deadline, and at least this often.
    sweep_secs: float = 1.0
    # Last activity and last seen reach the database at least this often.
    persist_secs: float = 5.0

    # Several instances at once: the users are split over this many partitions (by user id),
    # each computed by the one instance holding its lease in the KV bucket `lease_bucket`.
    # 0, the default, is one instance computing everyone: then never run a second one.
    # Needs a database all instances share (PostgreSQL); the same number on every instance.
    partitions: int = Field(0, ge=0, le=1024)
    # A lease not renewed for this long expires and another instance takes the partition
    # over; each instance renews its leases every lease_renew_secs.
    lease_secs: float = 5.0
    lease_renew_secs: float = 1.0
    lease_bucket: str = PRESENCE_LEASES_BUCKET

    service_heartbeat_secs: float = 5.0
    page_max: int = 200
    # Larger request bodies are refused with 413 before they are read (shared/body_limit.py).
    max_body_bytes: int = 1024 * 1024

    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks,
    # "*" for any), passed by `tertulia serve` to uvicorn as forwarded_allow_ips: the client's
    # address in the access log and the scheme of redirects. The gateway runs on 127.0.0.1.
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]

    log_level: str = "INFO"
    log_json: bool = True

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'presence.db'}"

    def resolved_kv_ttl_secs(self) -> float:
        return self.kv_ttl_secs or self.kv_ttl_factor * self.chat_heartbeat_secs

    def resolved_settle_secs(self) -> float:
        return self.settle_secs if self.settle_secs is not None else 1.5 * self.chat_heartbeat_secs
