"""`HubSessionRevocations`: a revoked session is refused on this replica and its sockets close."""

from __future__ import annotations

from collections.abc import Sequence

from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.domain import AuthSession
from shared.auth import RevokedSessions
from shared.contracts import SessionRevoked


class HubSessionRevocations:
    """The replica that revoked a session applies it at once; every replica (this one too,
    harmlessly) also hears it from `events.chat.session.revoked` (`on_event`)."""

    def __init__(self, revoked: RevokedSessions, hub: ConnectionHub) -> None:
        self._revoked = revoked
        self._hub = hub

    async def revoked(self, sessions: Sequence[AuthSession]) -> None:
        for session in sessions:
            self._revoked.revoke(session.id, session.expires_at.timestamp())
            self._hub.close_session(session.user_id, session.id)

    async def on_event(self, event: SessionRevoked) -> None:
        self._hub.close_session(event.user_id, event.session_id)
