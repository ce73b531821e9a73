"""The NATS settings every service has, written once: each service's settings class inherits
`NatsSettings`, and its own `env_prefix` (CHAT_, PRESENCE_, ...) names the variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings

from shared.auth.revocation import SESSION_REPLAY_SECS
from shared.bus.nats import ACK_WAIT_SECS, NatsEventBus
from shared.bus.nats_options import (
    DEFAULT_EVENTS_MAX_AGE_SECS,
    DEFAULT_EVENTS_MAX_BYTES,
    DEFAULT_URL,
    NatsAuth,
    StreamLimits,
)
from shared.contracts.permissions import inbox_prefix


class NatsSettings(BaseSettings):
    # Comma-separated: every server of a cluster (the client picks one, and fails over).
    nats_url: str = DEFAULT_URL
    nats_user: str | None = None
    nats_password: SecretStr | None = None
    nats_creds_file: Path | None = None
    nats_nkey_seed_file: Path | None = None
    # A CA bundle that verifies the server's certificate (TLS on).
    nats_tls_ca_file: Path | None = None
    # JetStream: the EVENTS stream's and the KV buckets' replicas (1 on a single server,
    # 3 on a 3-node cluster), and how much of EVENTS is kept: long enough for a consumer
    # that was down a while (a durable resumes where it was), far longer than anything
    # reads back (revocations, SESSION_REPLAY_SECS), short enough that EVENTS stops growing
    # forever; 0 for no limit. Every service must be given the same values: each one
    # brings the stream up to its own on start.
    events_replicas: int = 1
    kv_replicas: int = 1
    events_max_age_secs: float = DEFAULT_EVENTS_MAX_AGE_SECS
    events_max_bytes: int = DEFAULT_EVENTS_MAX_BYTES
    # How long an event handed to a durable consumer waits for its acknowledgement before
    # JetStream hands it out again: what a killed instance held comes back this long after.
    events_ack_wait_secs: float = Field(ACK_WAIT_SECS, ge=1.0)

    @model_validator(mode="before")
    @classmethod
    def _shared_nats_url(cls, data: Any) -> Any:
        """NATS_URL (no prefix) stands in for a missing <P>NATS_URL."""
        if isinstance(data, dict) and "nats_url" not in data and os.environ.get("NATS_URL"):
            data = {**data, "nats_url": os.environ["NATS_URL"]}
        return data

    @model_validator(mode="after")
    def _retention_covers_replay(self) -> NatsSettings:
        # Revocations are read back from EVENTS this far (shared/auth/revocation.py).
        if self.events_max_age_secs and self.events_max_age_secs < SESSION_REPLAY_SECS:
            raise ValueError(f"EVENTS_MAX_AGE_SECS must be at least {SESSION_REPLAY_SECS} "
                             "(revoked sessions are read back that far)")
        return self

    def nats_auth(self, service: str) -> NatsAuth:
        return NatsAuth(
            user=self.nats_user,
            password=self.nats_password.get_secret_value() if self.nats_password else None,
            creds_file=self.nats_creds_file, nkey_seed_file=self.nats_nkey_seed_file,
            tls_ca_file=self.nats_tls_ca_file,
            # Its NATS user may subscribe to these inboxes only.
            inbox_prefix=inbox_prefix(service))

    def events_limits(self) -> StreamLimits:
        return StreamLimits(replicas=self.events_replicas,
                            max_age_secs=self.events_max_age_secs or None,
                            max_bytes=self.events_max_bytes if self.events_max_bytes > 0
                            else None)

    def nats_bus(self, service: str, name: str, **options: Any) -> NatsEventBus:
        """The service's NatsEventBus with everything above applied."""
        return NatsEventBus(self.nats_url, name=name, auth=self.nats_auth(service),
                            events=self.events_limits(), kv_replicas=self.kv_replicas,
                            ack_wait_secs=self.events_ack_wait_secs,
                            **options)
