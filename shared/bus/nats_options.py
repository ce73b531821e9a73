"""How a service reaches NATS (servers, credentials, TLS) and how big the streams it keeps
may grow (replicas, retention): plain values, filled from settings by `shared.nats_settings`."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "nats://127.0.0.1:4222"
# EVENTS keeps 30 days, at most 4 GiB, whichever ends first (docs/operations.md says why).
DEFAULT_EVENTS_MAX_AGE_SECS = 30 * 86_400
DEFAULT_EVENTS_MAX_BYTES = 4 * 1024**3


def split_servers(urls: str | Sequence[str]) -> list[str]:
    """`"nats://a:4222, nats://b:4222"` or a list -> the server URLs, in order."""
    items = urls.split(",") if isinstance(urls, str) else list(urls)
    servers = [item.strip() for item in items if item.strip()]
    if not servers:
        raise ValueError("no NATS server URL given")
    return servers


def redact_url(url: str) -> str:
    """The URL with any password in it replaced, so it can be logged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable NATS URL>"
    if parts.password is None and "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    user = parts.username
    # A lone token (nats://token@host) is as secret as a password.
    userinfo = f"{user}:***" if user and parts.password is not None else "***"
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


@dataclass(frozen=True, slots=True)
class NatsAuth:
    """Credentials and TLS; all optional (a bare local server needs none)."""

    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line
    creds_file: Path | None = None
    nkey_seed_file: Path | None = None
    tls_ca_file: Path | None = None
    # Replies (requests, JetStream API answers, pushed KV watches) arrive under this
    # prefix, so a service's user needs to subscribe to its own inboxes only.
    inbox_prefix: str = "_INBOX"

    def connect_kwargs(self) -> dict[str, Any]:
        """The nats-py `Client.connect` arguments these stand for."""
        kwargs: dict[str, Any] = {"inbox_prefix": self.inbox_prefix}
        if self.user is not None:
            kwargs["user"] = self.user
        if self.password is not None:
            kwargs["password"] = self.password
        if self.creds_file is not None:
            kwargs["user_credentials"] = str(self.creds_file)
        if self.nkey_seed_file is not None:
            kwargs["nkeys_seed"] = str(self.nkey_seed_file)
        if self.tls_ca_file is not None:
            kwargs["tls"] = ssl.create_default_context(cafile=str(self.tls_ca_file))
        return kwargs


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """Replicas and retention of the EVENTS stream; None: unlimited."""

    replicas: int = 1
    max_age_secs: float | None = DEFAULT_EVENTS_MAX_AGE_SECS
    max_bytes: int | None = DEFAULT_EVENTS_MAX_BYTES
