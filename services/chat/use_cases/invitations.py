"""Sign-up invitations: administrators make and revoke them; when open sign-up is off, a
sign-up spends one use of one in its own transaction."""

from __future__ import annotations

from services.chat.domain import Actor, Forbidden, NotFound
from services.chat.domain.admin import (
    Invitation,
    invitation_terms,
    new_invitation_token,
    refuse_unusable,
)
from services.chat.ports import ChatDeps, ChatTx
from services.chat.use_cases._access import require_admin
from services.chat.use_cases.audit import record

INVITATIONS_LISTED = 200


async def create_invitation(deps: ChatDeps, actor: Actor, expires_in_secs: int,
                            max_uses: int) -> Invitation:
    """Administrators only: a link good for `max_uses` sign-ups within `expires_in_secs`."""
    admin_id = require_admin(actor)
    now = deps.clock.now()
    expires_at = invitation_terms(now, expires_in_secs, max_uses)
    async with deps.uow.write() as tx:
        made = await tx.invitations.add(new_invitation_token(), admin_id, now, expires_at,
                                        max_uses)
        await record(tx, now, actor, "invite.create", "invitation", made.id,
                     max_uses=max_uses, expires_at=expires_at.isoformat())
    return made


async def list_invitations(deps: ChatDeps, actor: Actor) -> list[Invitation]:
    """Administrators only: the latest invitations, newest first, used up or not."""
    require_admin(actor)
    async with deps.uow.read() as tx:
        return await tx.invitations.page(INVITATIONS_LISTED)


async def revoke_invitation(deps: ChatDeps, actor: Actor, invitation_id: int) -> Invitation:
    """Administrators only: nobody signs up with it any more. Idempotent."""
    require_admin(actor)
    async with deps.uow.write() as tx:
        now = deps.clock.now()
        before = await tx.invitations.get(invitation_id)
        invitation = await tx.invitations.revoke(invitation_id, now)
        if before is not None and before.revoked_at is None:  # revoked now, not before
            await record(tx, now, actor, "invite.revoke", "invitation", invitation_id,
                         uses=before.uses)
    if invitation is None:
        raise NotFound("invitation_not_found", f"No invitation with id {invitation_id}.")
    return invitation


async def spend_invitation(deps: ChatDeps, tx: ChatTx, token: str | None) -> Invitation:
    """One use of the invitation, in the sign-up's transaction (it rolls back with it)."""
    if not token:
        raise Forbidden("invitation_required", "Sign-up is by invitation on this server.")
    now = deps.clock.now()
    used = await tx.invitations.use(token, now)
    if used is None:
        refuse_unusable(await tx.invitations.by_token(token), now)
        raise Forbidden("invitation_used_up", "That invitation has been used up.")
    return used
