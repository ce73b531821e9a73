"""Who is asking: a token's `Principal` as the core's `Actor`, the guest without one. The
HTTP routes and the sockets both use it, so it belongs to neither."""

from __future__ import annotations

from services.chat.domain import GUEST, Actor
from shared.auth import Principal


def actor_of(principal: Principal | None) -> Actor:
    if principal is None:
        return GUEST
    return Actor(principal.user_id, principal.username, principal.is_admin)
