"""What the chat service takes from its proxy: the client's address and scheme from
`X-Forwarded-For` / `X-Forwarded-Proto`, believed only when the direct peer is a trusted
proxy (`CHAT_TRUSTED_PROXIES`); and `Strict-Transport-Security` on what went over HTTPS."""

from __future__ import annotations

from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

Asgi = Any  # an ASGI application: (scope, receive, send) -> None


def hsts_value(max_age_secs: int) -> bytes:
    return f"max-age={max_age_secs}".encode()


class Hsts:
    """Adds `Strict-Transport-Security` to every HTTP response of a request made over HTTPS
    (after `ProxyHeadersMiddleware`, the scheme the browser used)."""

    def __init__(self, app: Asgi, max_age_secs: int) -> None:
        self.app = app
        self._header = (b"strict-transport-security", hsts_value(max_age_secs))
        self._on = max_age_secs > 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not (self._on and scope["type"] == "http" and scope.get("scheme") == "https"):
            await self.app(scope, receive, send)
            return

        async def send_with_hsts(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), self._header]
            await send(message)

        await self.app(scope, receive, send_with_hsts)


def behind_proxies(app: Asgi, trusted_proxies: list[str], hsts_max_age_secs: int) -> Asgi:
    """The same rule as uvicorn's `--proxy-headers --forwarded-allow-ips` (it is uvicorn's
    middleware), applied by the app itself so that HTTP and WebSockets, `tertulia serve` and
    an app mounted anywhere else agree on who the client is."""
    return ProxyHeadersMiddleware(Hsts(app, hsts_max_age_secs), trusted_hosts=trusted_proxies)
