"""Outgoing webhook HTTP: `DnsDestinationGuard` resolves a host with the event loop's
`getaddrinfo` (never blocking the loop) and checks every address (`domain/ssrf.py`);
`HttpWebhookSender` POSTs with httpx to the very address it checked, so a name that
resolves to a public address for the check and to a private one a moment later (DNS
rebinding) cannot redirect a delivery: the request goes to the checked IP, with the
name in `Host` and, for https, in SNI and the certificate check. No redirects are
followed, no proxy from the environment is used, and no connection is kept alive (a
pooled connection would be keyed by the IP alone, whatever name it was opened for)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from ipaddress import ip_address

import httpx

from services.notifications.domain.ssrf import Address, AddressPolicy
from services.notifications.domain.webhooks import DestinationRefused, Target, parse_url
from services.notifications.ports import Sent


class DnsDestinationGuard:
    def __init__(self, policy: AddressPolicy, resolve_timeout_secs: float = 5.0) -> None:
        self._policy = policy
        self._timeout = resolve_timeout_secs

    async def addresses(self, target: Target) -> list[Address]:
        """Every address of the host (an IP literal is its own), checked; the first is the
        one to connect to. Raises `DestinationRefused`."""
        try:
            found: list[Address] = [ip_address(target.host)]
        except ValueError:
            found = await self._resolve(target)
        refusal = self._policy.refusal(found)
        if refusal is not None:
            raise DestinationRefused(refusal)
        return found

    async def check(self, target: Target) -> None:
        await self.addresses(target)

    async def _resolve(self, target: Target) -> list[Address]:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self._timeout):
                infos = await loop.getaddrinfo(target.host, target.port,
                                               type=socket.SOCK_STREAM)
        except (OSError, TimeoutError) as exc:
            raise DestinationRefused(f"{target.host} does not resolve ({exc})",
                                     retryable=True) from exc
        # The scope of a link-local IPv6 address ("fe80::1%eth0") is dropped: it is refused.
        return list(dict.fromkeys(ip_address(str(info[4][0]).split("%")[0])
                                  for info in infos))


def pinned(url: str, target: Target, address: Address) -> tuple[httpx.URL, dict[str, str],
                                                                 dict[str, str]]:
    """The URL with the host replaced by `address`; the `Host` header and (https) the TLS
    server name that keep the request addressed to the name."""
    original = httpx.URL(url)
    default = 443 if target.scheme == "https" else 80
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    if target.port != default:
        host_header += f":{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return original.copy_with(host=str(address)), {"Host": host_header}, extensions


class HttpWebhookSender:
    def __init__(self, guard: DnsDestinationGuard, *, timeout_secs: float,
                 max_connections: int) -> None:
        self._guard = guard
        self._timeout = timeout_secs
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_secs), follow_redirects=False, trust_env=False,
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=0))

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Sent:
        try:
            # One deadline for all of it: resolving, connecting, sending, the answer.
            async with asyncio.timeout(self._timeout):
                target = parse_url(url)
                address = (await self._guard.addresses(target))[0]
                where, host, extensions = pinned(url, target, address)
                request = self._client.build_request(
                    "POST", where, content=body, headers={**headers, **host},
                    extensions=extensions)
                response = await self._client.send(request, stream=True)
                await response.aclose()  # the answer's body is not read
                return Sent(response.status_code)
        except DestinationRefused as exc:
            return Sent(None, exc.reason, retryable=exc.retryable)
        except TimeoutError:
            return Sent(None, f"no answer within {self._timeout:g}s")
        except httpx.HTTPError as exc:
            return Sent(None, f"{type(exc).__name__}: {exc}"[:300])
        except OSError as exc:
            return Sent(None, f"{type(exc).__name__}: {exc}"[:300])

    async def aclose(self) -> None:
        await self._client.aclose()
