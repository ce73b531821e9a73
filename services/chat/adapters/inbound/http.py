"""HTTP routes: accounts and tokens (`/api/auth`), rooms, members, messages (`/api/chat`)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.chat import use_cases
from services.chat.adapters.frames import member_data, message_data, room_data, unread_data
from services.chat.adapters.inbound.actors import actor_of
from services.chat.adapters.inbound.service import ChatService
from services.chat.domain import Actor, Throttled, User
from shared.auth import SESSION_COOKIE, InvalidToken, Principal
from shared.auth.fastapi import current_principal, optional_principal, request_token
from shared.contracts.bounds import Id, Limit, Seq


def chat_of(request: Request) -> ChatService:
    return request.app.state.chat


async def actor(principal: Annotated[Principal, Depends(current_principal)]) -> Actor:
    return actor_of(principal)


async def maybe_actor(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Actor:
    return actor_of(principal)


ChatDep = Annotated[ChatService, Depends(chat_of)]
ActorDep = Annotated[Actor, Depends(actor)]
MaybeActorDep = Annotated[Actor, Depends(maybe_actor)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterBody(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    display_name: str | None = Field(default=None, max_length=100)


class LoginBody(_Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PasswordBody(_Body):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class DeleteAccountBody(_Body):
    password: str = Field(min_length=1, max_length=1024)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class RoomBody(_Body):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    is_private: bool = False


class RoomPatch(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=1000)
    is_private: bool | None = None


class InviteBody(_Body):
    username: str = Field(min_length=1, max_length=64)
    role: str = "member"


class RoleBody(_Body):
    role: str


class MessageBody(_Body):
    content: str = Field(max_length=100_000)
    client_msg_id: str | None = Field(default=None, max_length=64)


class EditBody(_Body):
    content: str = Field(max_length=100_000)


class ReadBody(_Body):
    seq: Seq


def user_data(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "display_name": user.display_name,
            "is_admin": user.is_admin, "created_at": user.created_at.isoformat()}


def cookie_secure(request: Request, chat: ChatService) -> bool:
    """Secure over HTTPS (the scheme the browser used, from a trusted proxy's
    X-Forwarded-Proto), or always with CHAT_COOKIE_SECURE."""
    return chat.settings.cookie_secure or request.url.scheme == "https"


def charge_post(chat: ChatService, who: Actor) -> None:
    """One token of the user's budget on this replica: the one its WebSocket frames spend."""
    if who.user_id is None:
        return  # the use case refuses guests
    now = asyncio.get_running_loop().time()
    bucket = chat.limiter.bucket(who.user_id, now)
    if not bucket.take(now):
        raise Throttled("rate_limited", "Slow down: too many messages.",
                        retry_after_secs=max(1, math.ceil(bucket.wait_secs())))


def client_address(request: Request) -> str:
    """The browser's address: a trusted proxy's X-Forwarded-For, else the peer's."""
    return request.client.host if request.client else "unknown"


async def throttle_sign_in(chat: ChatService, request: Request, username: str) -> None:
    if chat.throttle is not None:
        await chat.throttle.sign_in(username, client_address(request))


async def throttle_sign_up(chat: ChatService, request: Request, username: str) -> None:
    if chat.throttle is not None:
        await chat.throttle.sign_up(username, client_address(request))


def auth_router() -> APIRouter:
    router = APIRouter(prefix="/api/auth", tags=["auth"])

    @router.post("/register", status_code=status.HTTP_201_CREATED)
    async def register(body: RegisterBody, request: Request, chat: ChatDep) -> dict[str, Any]:
        """Create an account. 409 when the username is taken, 422 when it is not valid,
        429 past the sign-up budget of the username or the client address."""
        await throttle_sign_up(chat, request, body.username)
        user = await use_cases.register(chat.deps, body.username, body.password,
                                        body.display_name)
        return user_data(user)

    @router.post("/token")
    async def token(username: Annotated[str, Form()], password: Annotated[str, Form()],
                    request: Request, chat: ChatDep) -> TokenOut:
        """OAuth2 password flow (form fields `username` and `password`)."""
        await throttle_sign_in(chat, request, username)
        user = await use_cases.authenticate(chat.deps, username, password)
        return TokenOut(access_token=await chat.issue_token(user),
                        expires_in=chat.settings.access_token_ttl_secs)

    @router.post("/login")
    async def login(body: LoginBody, request: Request, response: Response,
                    chat: ChatDep) -> TokenOut:
        """JSON login: the token in the body and an HttpOnly session cookie for browsers.
        429 past the sign-in budget of the account or the client address."""
        await throttle_sign_in(chat, request, body.username)
        user = await use_cases.authenticate(chat.deps, body.username, body.password)
        access_token = await chat.issue_token(user)
        response.set_cookie(SESSION_COOKIE, access_token,
                            max_age=chat.settings.access_token_ttl_secs, httponly=True,
                            samesite="lax", secure=cookie_secure(request, chat), path="/")
        return TokenOut(access_token=access_token,
                        expires_in=chat.settings.access_token_ttl_secs)

    @router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
    async def logout(request: Request, response: Response, chat: ChatDep) -> Response:
        """End this session: its token (bearer or cookie) is refused by every service within
        seconds and its open WebSockets are closed with 4001; the user's other sessions go
        on. Clears the cookie. An invalid or expired token only clears the cookie."""
        token = request_token(request)
        if token:
            with contextlib.suppress(InvalidToken):
                principal = chat.token_verifier.verify(token)
                await use_cases.end_session(chat.deps, principal.session_id)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.status_code = status.HTTP_204_NO_CONTENT
        return response

    @router.post("/password")
    async def change_password(body: PasswordBody, who: ActorDep, request: Request,
                              response: Response, chat: ChatDep) -> TokenOut:
        """Change the password (403 `wrong_password` if `current_password` is not right).
        Every session of the account is revoked, this one included; the answer carries a
        new token (and cookie) for this device, the others sign in again. Guessing the
        current password spends the account's sign-in budget (429)."""
        await throttle_sign_in(chat, request, who.username or "")
        user, session = await use_cases.change_password(chat.deps, who, body.current_password,
                                                        body.new_password)
        access_token = chat.session_token(user, session)
        response.set_cookie(SESSION_COOKIE, access_token,
                            max_age=chat.settings.access_token_ttl_secs, httponly=True,
                            samesite="lax", secure=cookie_secure(request, chat), path="/")
        return TokenOut(access_token=access_token,
                        expires_in=chat.settings.access_token_ttl_secs)

    @router.get("/me")
    async def me(who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return user_data(await use_cases.current_user(chat.deps, who))

    @router.delete("/me", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_me(body: DeleteAccountBody, who: ActorDep, request: Request,
                        response: Response, chat: ChatDep) -> Response:
        """Delete your account, confirming with `password` (403 `wrong_password`; guesses
        spend the account's sign-in budget, 429). Your messages stay under your name, which
        nobody can take; you leave every room, every session ends, and the account can no
        longer sign in."""
        await throttle_sign_in(chat, request, who.username or "")
        await use_cases.delete_account(chat.deps, who, body.password)
        response.delete_cookie(SESSION_COOKIE, path="/")
        response.status_code = status.HTTP_204_NO_CONTENT
        return response

    return router


def chat_router() -> APIRouter:
    router = APIRouter(prefix="/api/chat", tags=["chat"])

    @router.get("/rooms")
    async def list_rooms(who: MaybeActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        """Public rooms and the caller's private rooms, as a JSON array."""
        return [room_data(r) for r in await use_cases.list_rooms(chat.deps, who)]

    @router.post("/rooms", status_code=status.HTTP_201_CREATED)
    async def create_room(body: RoomBody, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        room = await use_cases.create_room(chat.deps, who, body.name, body.description,
                                           body.is_private)
        return room_data(room)

    @router.get("/rooms/{room_id}")
    async def get_room(room_id: Id, who: MaybeActorDep, chat: ChatDep) -> dict[str, Any]:
        room, member = await use_cases.get_room(chat.deps, who, room_id)
        return {**room_data(room), "my_role": member.role if member else None}

    @router.patch("/rooms/{room_id}")
    async def update_room(room_id: Id, body: RoomPatch, who: ActorDep,
                          chat: ChatDep) -> dict[str, Any]:
        room = await use_cases.update_room(chat.deps, who, room_id, name=body.name,
                                           description=body.description,
                                           is_private=body.is_private)
        return room_data(room)

    @router.post("/rooms/{room_id}/join")
    async def join_room(room_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return member_data(await use_cases.join_room(chat.deps, who, room_id))

    @router.post("/rooms/{room_id}/leave", status_code=status.HTTP_204_NO_CONTENT)
    async def leave_room(room_id: Id, who: ActorDep, chat: ChatDep) -> None:
        await use_cases.leave_room(chat.deps, who, room_id)

    @router.get("/rooms/{room_id}/members")
    async def members(room_id: Id, who: MaybeActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        return [member_data(m) for m in await use_cases.list_members(chat.deps, who, room_id)]

    @router.post("/rooms/{room_id}/members", status_code=status.HTTP_201_CREATED)
    async def invite(room_id: Id, body: InviteBody, who: ActorDep,
                     chat: ChatDep) -> dict[str, Any]:
        member = await use_cases.invite_member(chat.deps, who, room_id, body.username,
                                               body.role)  # type: ignore[arg-type]
        return member_data(member)

    @router.patch("/rooms/{room_id}/members/{user_id}")
    async def change_role(room_id: Id, user_id: Id, body: RoleBody, who: ActorDep,
                          chat: ChatDep) -> dict[str, Any]:
        member = await use_cases.change_role(chat.deps, who, room_id, user_id, body.role)
        return member_data(member)

    @router.delete("/rooms/{room_id}/members/{user_id}",
                   status_code=status.HTTP_204_NO_CONTENT)
    async def kick(room_id: Id, user_id: Id, who: ActorDep, chat: ChatDep) -> None:
        await use_cases.kick_member(chat.deps, who, room_id, user_id)

    @router.get("/rooms/{room_id}/messages")
    async def history(room_id: Id, who: MaybeActorDep, chat: ChatDep,
                      before_seq: Annotated[Seq | None, Query()] = None,
                      after_seq: Annotated[Seq | None, Query()] = None,
                      limit: Annotated[Limit, Query()] = 50) -> dict[str, Any]:
        """A page of history, oldest first, with `has_more` in the paging direction."""
        page = await use_cases.history(chat.deps, who, room_id, before_seq=before_seq,
                                       after_seq=after_seq, limit=limit)
        return {"messages": [message_data(m) for m in page.messages],
                "has_more": page.has_more}

    @router.post("/rooms/{room_id}/messages", status_code=status.HTTP_201_CREATED)
    async def post(room_id: Id, body: MessageBody, who: ActorDep, response: Response,
                   chat: ChatDep) -> dict[str, Any]:
        """Post without a socket; a retried `client_msg_id` answers 200 with the first one.
        Charged to the sender's frame budget, as a post over the WebSocket is (429)."""
        charge_post(chat, who)
        posted = await use_cases.post_message(chat.deps, who, room_id, body.content,
                                              body.client_msg_id)
        if not posted.created:
            response.status_code = status.HTTP_200_OK
        else:
            chat.metrics.messages_posted.inc()
        return message_data(posted.message)

    @router.patch("/messages/{message_id}")
    async def edit(message_id: Id, body: EditBody, who: ActorDep,
                   chat: ChatDep) -> dict[str, Any]:
        return message_data(await use_cases.edit_message(chat.deps, who, message_id,
                                                         body.content))

    @router.delete("/messages/{message_id}")
    async def delete(message_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        return message_data(await use_cases.delete_message(chat.deps, who, message_id))

    @router.post("/rooms/{room_id}/read")
    async def read(room_id: Id, body: ReadBody, who: ActorDep,
                   chat: ChatDep) -> dict[str, Any]:
        return unread_data(await use_cases.mark_read(chat.deps, who, room_id, body.seq))

    @router.get("/unread")
    async def unread(who: ActorDep, chat: ChatDep) -> list[dict[str, Any]]:
        """Per room: `count`, `mentions`, `last_seq`, `read_seq` — derived from read markers."""
        return [unread_data(u) for u in await use_cases.unread_counts(chat.deps, who)]

    return router


def account_data(user: User) -> dict[str, Any]:
    deactivated = user.deactivated_at
    return {**user_data(user), "deactivated_at": deactivated.isoformat() if deactivated else None}


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/api/admin", tags=["admin"])

    @router.post("/users/{user_id}/deactivate")
    async def deactivate(user_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Administrators only. The account can no longer sign in (403
        `account_deactivated`), every session of it is revoked (refused by every service,
        sockets closed with 4001); messages and memberships stay. Idempotent."""
        return account_data(await use_cases.deactivate_user(chat.deps, who, user_id))

    @router.post("/users/{user_id}/reactivate")
    async def reactivate(user_id: Id, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Administrators only. The account can sign in again. Idempotent."""
        return account_data(await use_cases.reactivate_user(chat.deps, who, user_id))

    return router


def jwks_router() -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.get("/.well-known/jwks.json")
    async def jwks(chat: ChatDep) -> dict[str, Any]:
        """The public keys that verify access tokens (other services fetch these)."""
        return chat.issuer.jwks()

    return router
