"""Which network addresses an outgoing webhook may reach (SSRF): only public ones, unless
the operator allows private ones (all, or some networks). Pure: the resolving is the
adapter's (`adapters/outbound/webhook_http.py`), which checks every address a name has."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# IPv6 prefixes that carry an IPv4 address a router may hand on: NAT64's well-known prefix
# (RFC 6052) and its local-use one (RFC 8215). Mapped (::ffff:0:0/96), 6to4 (2002::/16)
# and Teredo (2001::/32) are read by `ipaddress` itself.
_NAT64 = (ip_network("64:ff9b::/96"), ip_network("64:ff9b:1::/48"))


def embedded_ipv4(address: Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for (mapped, 6to4, Teredo's server, NAT64)."""
    if isinstance(address, IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[0]
    if any(address in prefix for prefix in _NAT64):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _own_reason(address: Address) -> str | None:
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "not globally routable"
    return None


def blocked_reason(address: Address) -> str | None:
    """Why a webhook must not connect to `address` (None: a public address). An IPv6
    address carrying an IPv4 one is judged by that one too (`::ffff:127.0.0.1` is
    loopback)."""
    inner = embedded_ipv4(address)
    if inner is not None:
        reason = _own_reason(inner)
        if reason is not None:
            return f"{reason} (as {inner})"
        # Python 3.11 calls every mapped address private; a public one inside is public.
        if address.ipv4_mapped is not None:
            return None
    return _own_reason(address)


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """`allow_private`: every address is fine (a closed network where webhooks go to
    internal services). `allowed_networks`: these networks are fine although private."""

    allow_private: bool = False
    allowed_networks: tuple[Network, ...] = ()

    @classmethod
    def of(cls, allow_private: bool, networks: Iterable[str]) -> AddressPolicy:
        return cls(allow_private, tuple(ip_network(n, strict=False) for n in networks))

    def _allowed(self, address: Address) -> bool:
        inner = embedded_ipv4(address)
        return any(candidate in network for network in self.allowed_networks
                   for candidate in (address, inner) if candidate is not None
                   and candidate.version == network.version)

    def refusal(self, addresses: Iterable[Address | str]) -> str | None:
        """None if every address may be reached; otherwise why not (the first refused).
        No address at all is a refusal too."""
        seen = False
        for raw in addresses:
            address = ip_address(raw) if isinstance(raw, str) else raw
            seen = True
            if self.allow_private or self._allowed(address):
                continue
            reason = blocked_reason(address)
            if reason is not None:
                return f"{address} is {reason}"
        return None if seen else "the name has no address"
