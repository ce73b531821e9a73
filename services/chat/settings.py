"""Chat service configuration (12-factor: environment variables prefixed `CHAT_`)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from services.chat.domain.admin import ServerSettings, SettingsCache
from shared.contracts.permissions import (
    CHAT_AUDIT_DURABLE,
    CHAT_FILES_BUCKET,
    CHAT_THROTTLE_BUCKET,
)
from shared.nats_settings import NatsSettings

# What the multipart framing and other parts may add to an uploaded file's bytes.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


class ChatSettings(NatsSettings):
    """Beside its own settings, the NATS ones of `shared.nats_settings`."""

    model_config = SettingsConfigDict(env_prefix="CHAT_", extra="ignore")

    data_dir: Path = Field(Path("data"), validation_alias=AliasChoices("CHAT_DATA_DIR", "DATA_DIR"))
    # At start, apply the migrations a database lacks (`shared/migrations.py`); false where
    # a migrate job runs them (`tertulia migrate`): a schema behind then refuses start.
    auto_migrate: bool = True
    # Defaults to a SQLite file in data_dir; set to postgresql+asyncpg://... for multi-node.
    database_url: str | None = None
    replica_id: str = Field(default_factory=lambda: f"chat-{secrets.token_hex(4)}")

    # Ed25519 signing key (PEM). Without one, a key file in data_dir is created once and
    # shared by every replica that uses the same data_dir.
    signing_key_pem: str | None = None
    signing_key_file: Path | None = None
    access_token_ttl_secs: int = 3600
    # The session cookie is Secure whenever the request came over HTTPS; true: always.
    cookie_secure: bool = False
    # Peers whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or networks,
    # "*" for any): uvicorn's forwarded_allow_ips default. The gateway runs on 127.0.0.1.
    trusted_proxies: list[str] = ["127.0.0.1", "::1"]
    # Strict-Transport-Security max-age on HTTPS responses; 0 sends none.
    hsts_max_age_secs: int = 31_536_000
    admin_username: str | None = None
    admin_password: str | None = None

    # Sign-in and sign-up budgets (the `limits` notation: "10/minute", "5/minute;50/hour";
    # "" for none), shared by every replica through the NATS KV bucket `throttle_kv_bucket`.
    # The address is the client's, through CHAT_TRUSTED_PROXIES.
    signin_limit_per_account: str = "10/minute"
    signin_limit_per_address: str = "60/minute"
    signup_limit_per_account: str = "5/minute"
    signup_limit_per_address: str = "50/hour"
    throttle_kv_bucket: str = CHAT_THROTTLE_BUCKET
    # Incoming webhooks (`POST /api/hooks/{secret}`): each hook's post budget (the same
    # notation and bucket) and the largest body one takes (413 above it).
    hook_rate_limit: str = "60/minute"
    hook_max_body_bytes: int = Field(default=16 * 1024, ge=256)
    # The durable consumer of other services' audited actions (`AuditRecorded`, written
    # into chat_audit); the replicas share it. The NATS permissions are written for this.
    audit_durable_name: str = CHAT_AUDIT_DURABLE

    # Browser origins allowed to open a WebSocket; empty means same-origin only. Clients
    # that send no Origin (scripts, bots) are not browsers and are let through.
    allowed_origins: list[str] = []

    # The defaults of the live server settings (`GET|PATCH /api/admin/settings`), which an
    # administrator may change while the system runs; each replica reads the stored ones
    # again after `settings_cache_secs`.
    open_signup: bool = True
    message_max_chars: int = Field(default=4000, ge=1, le=10_000)
    settings_cache_secs: float = Field(default=5.0, ge=0, le=300)
    history_on_join: int = 50
    # Distinct emojis one message may carry (a new one beyond: 409 too_many_reactions).
    reactions_max_per_message: int = Field(default=20, ge=1, le=200)
    # How often each replica checks whether the word filters changed (one small query):
    # another replica's change applies here within this; a change made here at once.
    word_filter_refresh_secs: float = Field(default=2.0, gt=0, le=300)
    recovery_max_messages: int = 1000

    # Larger request bodies are refused with 413 before they are read (shared/body_limit.py).
    max_body_bytes: int = 1024 * 1024

    # Uploaded files (docs/operations.md "Files"): the per-file limit (also the gateway's
    # and the body limit's on POST /api/chat/files), each user's quota over their live
    # files, how long a deleted message's files stay, how long an upload may wait to be
    # attached, how often a replica sweeps, the largest image decoded (width x height).
    files_max_bytes: int = Field(default=25 * 1024 * 1024, ge=1)
    files_quota_bytes: int = Field(default=1024 * 1024 * 1024, ge=0)
    files_retention_secs: float = Field(default=7 * 86_400.0, ge=0)
    files_unattached_ttl_secs: float = Field(default=86_400.0, ge=0)
    files_sweep_interval_secs: float = Field(default=600.0, gt=0)
    files_max_image_pixels: int = Field(default=50_000_000, ge=1)
    files_thumbnail_px: int = Field(default=400, ge=16, le=2048)
    # Where the bytes go: "dir" (<data dir>/blobs/) or "nats" (a JetStream Object Store
    # bucket with this many replicas; 3 in the `ha` overlay).
    blobs: Literal["dir", "nats"] = "dir"
    blobs_bucket: str = CHAT_FILES_BUCKET
    blobs_replicas: int = Field(default=1, ge=1, le=5)

    # uvicorn's WebSocket protocol implementation under `tertulia serve` (uvicorn's names,
    # or an import path): by default its sans-I/O one with less kept per idle socket.
    ws_protocol: str = "services.chat.adapters.inbound.uvicorn_ws:LeanWebSocketProtocol"
    ws_max_frame_bytes: int = 64 * 1024
    # Frames a socket may hold back while it recovers (replay from the database).
    ws_send_queue_frames: int = 256
    # Bytes written to a socket that its peer has not taken yet; past this it is a slow
    # consumer and is closed with 1013.
    ws_send_buffer_bytes: int = 256 * 1024
    ws_ping_interval_secs: float = 20.0
    rate_limit_per_sec: float = 10.0
    rate_limit_burst: int = 30
    rate_limit_strikes: int = 20

    connections_heartbeat_secs: float = 10.0
    activity_report_secs: float = 15.0
    service_heartbeat_secs: float = 5.0
    outbox_poll_secs: float = 1.0
    outbox_batch: int = 256
    # Rows JetStream acknowledged are deleted this long after (in batches, every interval).
    outbox_retention_secs: float = 86_400.0
    outbox_purge_interval_secs: float = 600.0

    # After start-up: freeze the objects that live as long as the process out of the
    # garbage collector's sight, and collect generation 0 every this many new objects
    # (shared/gc_policy.py).
    gc_freeze_after_start: bool = True
    gc_gen0_threshold: int = 20_000

    log_level: str = "INFO"
    log_json: bool = True

    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'chat.db'}"

    def max_upload_body_bytes(self) -> int:
        """The largest upload request body (the body limit's and the gateway's)."""
        return self.files_max_bytes + UPLOAD_OVERHEAD_BYTES

    def live_settings(self) -> SettingsCache:
        """The live settings' defaults (until an administrator changes them) and how long
        a replica keeps its copy of the stored ones."""
        return SettingsCache(ServerSettings(open_signup=self.open_signup,
                                            message_max_chars=self.message_max_chars),
                             self.settings_cache_secs)

    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    def uploads_tmp_dir(self) -> Path:
        """Where uploads stream before they are stored (beside the blobs: one rename)."""
        return self.data_dir / "uploads-tmp"

    def resolved_signing_key_file(self) -> Path:
        return self.signing_key_file or self.data_dir / "chat-signing-key.pem"
