"""`HubSessionRevocations`: a revoked session is refused on this replica and its sockets close."""

from __future__ import annotations

from collections.abc import Sequence

from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.domain import AuthSession
from shared.auth import RevokedSessions
from shared.contracts import SessionRevoked

CLOSE_SESSION_REVOKED = 4001


class HubSessionRevocations:
    """The replica that revoked a session applies it at once; every replica (this one too,
    harmlessly) also hears it from `events.chat.session.revoked` (`on_event`)."""

    def __init__(self, revoked: RevokedSessions, hub: ConnectionHub) -> None:
        self._revoked = revoked
        self._hub = hub

    async def revoked(self, sessions: Sequence[AuthSession]) -> None:
        for session in sessions:
            self._revoked.revoke(session.id, session.expires_at.timestamp())
            self._close(session.user_id, session.id)

    async def on_event(self, event: SessionRevoked) -> None:
        self._close(event.user_id, event.session_id)

    def _close(self, user_id: int, session_id: str) -> None:
        """Close this replica's sockets of a revoked session (the user's others stay)."""
        for conn in self._hub.sockets_of(user_id):
            if conn.session_id == session_id:
                self._hub.drop(conn, CLOSE_SESSION_REVOKED, "session revoked")
