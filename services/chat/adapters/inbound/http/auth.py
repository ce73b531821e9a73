"""`/api/auth`: accounts, sign-in and its throttle, session cookies and tokens."""

from __future__ import annotations

import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response, status
from pydantic import BaseModel, Field

from services.chat import use_cases
from services.chat.adapters.inbound.http._deps import ActorDep, Body, ChatDep, user_data
from services.chat.adapters.inbound.http.avatars import me_with_avatar
from services.chat.adapters.inbound.service import ChatService
from shared.auth import SESSION_COOKIE, InvalidToken
from shared.auth.fastapi import request_token


class RegisterBody(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    display_name: str | None = Field(default=None, max_length=100)
    # Needed when open sign-up is off (`/?invite=<token>` on the page).
    invitation: str | None = Field(default=None, max_length=64)


class LoginBody(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class PasswordBody(Body):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class DeleteAccountBody(Body):
    password: str = Field(min_length=1, max_length=1024)


class ProfileBody(Body):
    # Lengths are the domain's rules (stable codes); these bounds only cap the input.
    display_name: str | None = Field(default=None, max_length=1000)
    status_text: str | None = Field(default=None, max_length=1000)
    time_zone: str | None = Field(default=None, max_length=1000)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


def cookie_secure(request: Request, chat: ChatService) -> bool:
    """Secure over HTTPS (the scheme the browser used, from a trusted proxy's
    X-Forwarded-Proto), or always with CHAT_COOKIE_SECURE."""
    return chat.settings.cookie_secure or request.url.scheme == "https"


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
        429 past the sign-up budget of the username or the client address. With open
        sign-up off, 403 `invitation_required` without an `invitation`, and
        `invitation_invalid`, `invitation_expired`, `invitation_used_up` or
        `invitation_revoked` with one that cannot be used."""
        await throttle_sign_up(chat, request, body.username)
        user = await use_cases.register(chat.deps, body.username, body.password,
                                        body.display_name, invitation=body.invitation)
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
        """You, with `avatar_url` (null without an avatar)."""
        return await me_with_avatar(chat, await use_cases.current_user(chat.deps, who))

    @router.patch("/me")
    async def update_me(body: ProfileBody, who: ActorDep, chat: ChatDep) -> dict[str, Any]:
        """Change your profile: any of `display_name` (1-64 characters, shown instead of the
        username; empty or null clears it), `status_text` (up to 100) and `time_zone` (an
        IANA name such as `Europe/Madrid`). 422 `display_name_too_long`,
        `invalid_display_name`, `status_text_too_long`, `invalid_status_text`,
        `invalid_time_zone`; unknown fields are a `validation_error`. Every room you are a
        member of gets `user_updated`."""
        changes = {name: getattr(body, name) for name in body.model_fields_set}
        return await me_with_avatar(chat, await use_cases.update_profile(chat.deps, who, changes))

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
