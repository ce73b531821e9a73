"""FastAPI dependencies that turn a bearer token or the session cookie into a `Principal`.

The verifier lives on `app.state.token_verifier` (set by each service's `create_app`).
"""

from __future__ import annotations

from fastapi import Request

from shared.auth.keys import KeysNotLoaded
from shared.auth.tokens import SESSION_COOKIE, InvalidToken, Principal, TokenVerifier
from shared.problems import Problem


def _verifier(conn: Request) -> TokenVerifier:
    return conn.app.state.token_verifier


def request_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value:
        return value.strip()
    return request.cookies.get(SESSION_COOKIE)


async def optional_principal(request: Request) -> Principal | None:
    token = request_token(request)
    if token is None:
        return None
    try:
        return _verifier(request).verify(token)
    except InvalidToken as exc:
        raise Problem(401, "invalid_token", "Invalid or expired token", str(exc)) from exc
    except KeysNotLoaded as exc:
        raise Problem(503, "not_ready", "Not ready yet",
                      "The chat service's public keys (JWKS) are not loaded yet; retry "
                      "shortly.") from exc


async def current_principal(request: Request) -> Principal:
    principal = await optional_principal(request)
    if principal is None:
        raise Problem(401, "not_authenticated", "Authentication required",
                      "Send `Authorization: Bearer <token>` or log in for a session cookie.")
    return principal


async def admin_principal(request: Request) -> Principal:
    principal = await current_principal(request)
    if not principal.is_admin:
        raise Problem(403, "forbidden", "Administrators only")
    return principal
