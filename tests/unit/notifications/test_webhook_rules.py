"""Outgoing webhooks' pure rules: which addresses may be reached (SSRF), which URLs are
accepted, the signature receivers check, the retry schedule, what an answer means."""

from __future__ import annotations

import hashlib
import hmac
from ipaddress import ip_address

import pytest

from services.notifications.domain import Invalid
from services.notifications.domain.ssrf import AddressPolicy, blocked_reason
from services.notifications.domain.webhooks import (
    WEBHOOK_EVENTS,
    checked_choice,
    delivery_id,
    event_name,
    parse_url,
    retry_delay_secs,
    signature,
    verdict_of_status,
)


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("192.168.1.1", "private"),
    ("169.254.169.254", "link-local"), ("224.0.0.251", "multicast"),
    ("0.0.0.0", "unspecified"), ("240.0.0.1", "reserved"),
    ("100.64.0.1", "not globally routable"),  # carrier-grade NAT: neither private nor public
    ("::1", "loopback"), ("::", "unspecified"), ("fe80::1", "link-local"),
    ("fc00::1", "private"), ("fd12:3456::1", "private"), ("ff02::1", "multicast"),
    # IPv6 forms of IPv4 addresses are judged by the IPv4 address they carry.
    ("::ffff:127.0.0.1", "loopback (as 127.0.0.1)"),
    ("::ffff:10.0.0.1", "private (as 10.0.0.1)"),
    ("::ffff:169.254.169.254", "link-local (as 169.254.169.254)"),
    ("2002:7f00:1::", "loopback (as 127.0.0.1)"),  # 6to4
    ("64:ff9b::a00:1", "private (as 10.0.0.1)"),  # NAT64
])
def test_non_public_addresses_are_refused_with_their_reason(address: str, reason: str) -> None:
    assert blocked_reason(ip_address(address)) == reason


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(ip_address(address)) is None


def test_one_private_address_among_public_ones_refuses_the_name() -> None:
    policy = AddressPolicy()
    assert policy.refusal(["8.8.8.8", "2606:4700:4700::1111"]) is None
    assert policy.refusal(["8.8.8.8", "::ffff:127.0.0.1"]) == (
        "::ffff:7f00:1 is loopback (as 127.0.0.1)")
    assert policy.refusal([]) == "the name has no address"


def test_the_operator_may_allow_private_addresses_or_some_networks() -> None:
    assert AddressPolicy(allow_private=True).refusal(["127.0.0.1", "::1", "10.0.0.1"]) is None
    some = AddressPolicy.of(False, ["127.0.0.0/8", "fd00::/8"])
    assert some.refusal(["127.0.0.1", "::ffff:127.0.0.1", "fd00::5"]) is None
    assert some.refusal(["127.0.0.1", "10.0.0.1"]) == "10.0.0.1 is private"
    assert some.refusal(["::1"]) == "::1 is loopback"  # not in the allowed networks


@pytest.mark.parametrize(("url", "host", "port"), [
    ("https://hooks.example.com/x?y=1", "hooks.example.com", 443),
    ("http://Example.COM:8080/", "example.com", 8080),
    ("http://127.0.0.1:9/in", "127.0.0.1", 9),
    ("https://[2001:db8::1]/in", "2001:db8::1", 443),
    ("https://bücher.example/h", "xn--bcher-kva.example", 443),
])
def test_accepted_urls_and_what_is_resolved(url: str, host: str, port: int) -> None:
    target = parse_url(url)
    assert (target.host, target.port) == (host, port)


@pytest.mark.parametrize("url", [
    "ftp://example.com/", "file:///etc/passwd", "gopher://x/", "example.com/hook",
    "https://user:pw@example.com/", "https://user@example.com/", "https:///nohost",
    "https://example.com:99999/", "https://example.com/#frag", "https://exa mple.com/",
    "https://example.com/\nX: y", "https://example.com/" + "a" * 2000,
])
def test_refused_urls(url: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_url(url)
    assert refused.value.code == "invalid_webhook_url"


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    body = b'{"event":"message.created"}'
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("whsec_k", 1700000000, body) == f"sha256={expected}"
    # Any change to the body, the timestamp or the secret changes it.
    assert signature("whsec_k", 1700000001, body) != signature("whsec_k", 1700000000, body)
    assert signature("whsec_x", 1700000000, body) != signature("whsec_k", 1700000000, body)
    assert signature("whsec_k", 1700000000, body + b" ") != signature("whsec_k", 1700000000,
                                                                     body)


def test_retries_back_off_doubling_up_to_the_cap() -> None:
    assert [retry_delay_secs(n, 5.0, 60.0) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert [retry_delay_secs(n, 0.02, 1.0) for n in (1, 2, 3)] == [0.02, 0.04, 0.08]


@pytest.mark.parametrize(("status", "verdict"), [
    (200, "delivered"), (204, "delivered"), (299, "delivered"), (500, "retry"),
    (503, "retry"), (429, "retry"), (408, "retry"), (301, "give_up"), (302, "give_up"),
    (400, "give_up"), (401, "give_up"), (404, "give_up"), (410, "give_up")])
def test_what_an_answer_means(status: int, verdict: str) -> None:
    assert verdict_of_status(status) == verdict


def test_events_offered_are_chats_room_events_by_short_name() -> None:
    assert {"message.created", "message.edited", "message.deleted", "member.joined",
            "member.left", "reaction.added"} <= set(WEBHOOK_EVENTS)
    assert "member.read" not in WEBHOOK_EVENTS and "user.registered" not in WEBHOOK_EVENTS
    assert event_name("events.chat.message.created") == "message.created"
    assert event_name("events.chat.user.registered") is None
    assert event_name("events.presence.changed") is None


def test_a_webhooks_choice_is_checked_and_deduplicated() -> None:
    assert checked_choice([3, 1, 3], ["message.created", "message.created"]) == (
        (3, 1), ("message.created",))
    for rooms, events, code in [([], ["message.created"], "invalid_webhook_rooms"),
                                ([1], [], "invalid_webhook_events"),
                                ([1], ["user.registered"], "invalid_webhook_events"),
                                (list(range(1, 102)), ["message.created"],
                                 "invalid_webhook_rooms")]:
        with pytest.raises(Invalid) as refused:
            checked_choice(rooms, events)
        assert refused.value.code == code


def test_delivery_ids_are_stable_per_event_and_webhook() -> None:
    assert delivery_id("ev-1", 7) == delivery_id("ev-1", 7)
    assert len({delivery_id("ev-1", 7), delivery_id("ev-1", 8), delivery_id("ev-2", 7)}) == 3
    assert delivery_id("ev-1", 7).startswith("whd_")
