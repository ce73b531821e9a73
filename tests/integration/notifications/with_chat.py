"""A real chat replica and a notifications service that trusts its tokens (the keys fetched
from chat's JWKS), for the tests that follow a post from chat to a notification."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.integration.chat.harness import ChatReplica, chat_settings
from tests.integration.notifications.harness import (
    Keys,
    NotificationsService,
    notifications_settings,
    running,
)


@contextlib.asynccontextmanager
async def chat_and_notifications(tmp_path: Path, nats_url: str, keys: Keys, *,
                                 chat_overrides: dict[str, Any] | None = None,
                                 **notifications_overrides: Any,
                                 ) -> AsyncIterator[tuple[ChatReplica, NotificationsService]]:
    chat = await ChatReplica(chat_settings(tmp_path / "chat", nats_url,
                                           signing_key_pem=keys.private_pem,
                                           **(chat_overrides or {}))).start()
    try:
        settings = notifications_settings(
            tmp_path / "notifications", nats_url, keys, jwt_public_key_pem=None,
            jwks_url=f"{chat.http_url}/.well-known/jwks.json", **notifications_overrides)
        async with running(settings) as service:
            yield chat, service
    finally:
        await chat.stop()
