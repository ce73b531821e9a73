"""The webhook sender's address handling without a network: where a request is pinned to,
and what the guard makes of IP literals and of a name the system resolver knows."""

from __future__ import annotations

from ipaddress import ip_address

import pytest

from services.notifications.adapters.outbound.webhook_http import DnsDestinationGuard, pinned
from services.notifications.domain.ssrf import AddressPolicy
from services.notifications.domain.webhooks import DestinationRefused, parse_url


def test_a_request_goes_to_the_checked_address_addressed_to_the_name() -> None:
    url = "https://hooks.example.com:8443/in?k=v"
    where, host, extensions = pinned(url, parse_url(url), ip_address("2001:db8::7"))
    assert str(where) == "https://[2001:db8::7]:8443/in?k=v"
    assert host == {"Host": "hooks.example.com:8443"}
    assert extensions == {"sni_hostname": "hooks.example.com"}  # SNI and the certificate
    plain = "http://hooks.example.com/in"
    where, host, extensions = pinned(plain, parse_url(plain), ip_address("93.184.216.34"))
    assert (str(where), host, extensions) == ("http://93.184.216.34/in",
                                              {"Host": "hooks.example.com"}, {})


async def test_ip_literals_are_judged_without_resolving() -> None:
    guard = DnsDestinationGuard(AddressPolicy())
    assert await guard.addresses(parse_url("https://93.184.216.34/")) == [
        ip_address("93.184.216.34")]
    for url in ("http://127.0.0.1/", "http://[::1]/", "http://[::ffff:169.254.169.254]/",
                "http://0.0.0.0:80/"):
        with pytest.raises(DestinationRefused) as refused:
            await guard.check(parse_url(url))
        assert not refused.value.retryable


async def test_a_name_is_judged_by_every_address_it_resolves_to() -> None:
    with pytest.raises(DestinationRefused) as refused:
        await DnsDestinationGuard(AddressPolicy()).check(parse_url("http://localhost:8080/"))
    assert "loopback" in refused.value.reason
    allowed = DnsDestinationGuard(AddressPolicy.of(False, ["127.0.0.0/8", "::1/128"]))
    assert all(a.is_loopback for a in await allowed.addresses(parse_url("http://localhost/")))
    with pytest.raises(DestinationRefused) as unknown:
        await allowed.check(parse_url("http://no-such-host.invalid/"))
    assert unknown.value.retryable  # a name that does not resolve now may later
