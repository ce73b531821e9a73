"""Why a user was, or was not, notified."""

from __future__ import annotations

from services.notifications.domain import Decision, NotFound
from services.notifications.ports import NotificationsDeps

DECISIONS_PAGE = 50


async def decisions(deps: NotificationsDeps, user_id: int, message_id: int | None = None
                    ) -> list[Decision]:
    """Why the user was, or was not, notified: about one message, or the latest decisions."""
    async with deps.uow.read() as tx:
        found = await tx.decisions.of_user(user_id, message_id, DECISIONS_PAGE)
    if message_id is not None and not found:
        raise NotFound("decision_not_found",
                       f"No decision about message {message_id} for you: you wrote it, were "
                       "not a member of its room, it was a system message, or it has not "
                       "been processed yet.")
    return found
