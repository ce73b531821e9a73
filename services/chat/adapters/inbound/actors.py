"""Who is asking: a token's `Principal` as the core's `Actor`, the guest without one, and
which credentials are a bot's token instead (`use_cases.bot_actor` resolves those). The
HTTP routes and the sockets both use it, so it belongs to neither."""

from __future__ import annotations

from services.chat.domain import GUEST, Actor
from services.chat.domain.bots import BOT_TOKEN_PREFIX
from shared.auth import Principal


def actor_of(principal: Principal | None) -> Actor:
    if principal is None:
        return GUEST
    return Actor(principal.user_id, principal.username, principal.is_admin)


def bot_secret(authorization: str | None) -> str | None:
    """The `tb_...` secret of an `Authorization: Bearer tb_...` header, else None."""
    scheme, _, value = (authorization or "").partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and value.startswith(BOT_TOKEN_PREFIX):
        return value
    return None
