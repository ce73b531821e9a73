"""`ChatService`: what the HTTP routes and the sockets use of the wired chat service.

Bootstrap's `Chat` is one (structurally), and `app.py` hands it over; the inbound adapters
type against this, so they never import the composition root that imports them."""

from __future__ import annotations

from typing import Protocol

from services.chat.adapters.inbound.hook_limit import HookLimiter
from services.chat.adapters.inbound.rate_limit import RateLimiter
from services.chat.adapters.inbound.throttle import AuthThrottle
from services.chat.adapters.metrics import ChatMetrics
from services.chat.adapters.outbound.connection_hub import ConnectionHub
from services.chat.domain import AuthSession, User
from services.chat.ports import ChatDeps
from services.chat.settings import ChatSettings
from shared.auth import RevokedSessions, TokenIssuer, TokenVerifier


class ChatService(Protocol):
    @property
    def settings(self) -> ChatSettings: ...
    @property
    def deps(self) -> ChatDeps: ...
    @property
    def hub(self) -> ConnectionHub: ...
    @property
    def metrics(self) -> ChatMetrics: ...
    @property
    def limiter(self) -> RateLimiter: ...
    @property
    def throttle(self) -> AuthThrottle | None: ...
    @property
    def hook_limits(self) -> HookLimiter | None: ...
    @property
    def revoked(self) -> RevokedSessions: ...
    @property
    def issuer(self) -> TokenIssuer | None: ...
    @property
    def token_verifier(self) -> TokenVerifier | None:
        """Set once the signing key is loaded (`bootstrap.start`)."""
        ...
    @property
    def accepting(self) -> bool:
        """False before start and from shutdown on: new sockets are refused (1012)."""
        ...

    async def issue_token(self, user: User) -> str:
        """Sign in: open a session for `user` and sign a token that carries its id."""
        ...

    def session_token(self, user: User, session: AuthSession) -> str: ...
