"""NATS connection settings: one mixin for the four services, and no password in a log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from services.chat.settings import ChatSettings
from services.dashboard.settings import DashboardSettings
from services.launcher import free_port
from services.notifications.settings import NotificationsSettings
from services.presence.settings import PresenceSettings
from shared.bus.nats import NatsEventBus
from shared.bus.nats_options import NatsAuth, redact_url, split_servers

SERVICES = {"CHAT_": ChatSettings, "PRESENCE_": PresenceSettings,
            "NOTIFICATIONS_": NotificationsSettings, "DASHBOARD_": DashboardSettings}


@pytest.mark.parametrize("prefix", SERVICES)
def test_every_service_reads_the_same_nats_variables_under_its_prefix(
        prefix: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in {"NATS_URL": "nats://a:1,nats://b:2", "NATS_USER": "svc",
                        "NATS_PASSWORD": "pw", "NATS_CREDS_FILE": str(tmp_path / "c"),
                        "NATS_NKEY_SEED_FILE": str(tmp_path / "s"),
                        "NATS_TLS_CA_FILE": str(tmp_path / "ca"), "EVENTS_REPLICAS": "3",
                        "KV_REPLICAS": "3", "EVENTS_MAX_AGE_SECS": "604800",
                        "EVENTS_MAX_BYTES": "1000"}.items():
        monkeypatch.setenv(prefix + name, value)
    settings = SERVICES[prefix]()
    assert split_servers(settings.nats_url) == ["nats://a:1", "nats://b:2"]
    service = prefix.rstrip("_").lower()
    auth = settings.nats_auth(service)
    assert (auth.user, auth.password) == ("svc", "pw")
    assert auth.creds_file == tmp_path / "c" and auth.nkey_seed_file == tmp_path / "s"
    assert auth.tls_ca_file == tmp_path / "ca"
    assert auth.inbox_prefix == f"_INBOX.{service}"
    limits = settings.events_limits()
    assert (limits.replicas, limits.max_age_secs, limits.max_bytes) == (3, 604800, 1000)
    assert settings.kv_replicas == 3
    assert "pw" not in repr(settings) and "pw" not in repr(auth)


@pytest.mark.parametrize("prefix", SERVICES)
def test_the_prefixed_url_wins_over_nats_url_which_is_the_fallback(
        prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_URL", "nats://shared:1")
    assert SERVICES[prefix]().nats_url == "nats://shared:1"
    monkeypatch.setenv(prefix + "NATS_URL", "nats://own:2")
    assert SERVICES[prefix]().nats_url == "nats://own:2"


def test_events_are_kept_a_bounded_while_by_default() -> None:
    limits = ChatSettings().events_limits()
    assert limits.max_age_secs == 30 * 86_400 and limits.max_bytes == 4 * 1024**3
    assert ChatSettings(events_max_age_secs=0, events_max_bytes=0).events_limits() \
        .max_age_secs is None


def test_a_max_age_shorter_than_the_revocation_replay_is_refused() -> None:
    with pytest.raises(ValueError, match="EVENTS_MAX_AGE_SECS"):
        ChatSettings(events_max_age_secs=3600)


@pytest.mark.parametrize(("url", "logged"), [
    ("nats://user:secret@host:4222", "nats://user:***@host:4222"),
    ("nats://secret@host:4222", "nats://***@host:4222"),
    ("tls://host:4222", "tls://host:4222"),
])
def test_urls_are_redacted(url: str, logged: str) -> None:
    assert redact_url(url) == logged


def test_connect_kwargs_carry_every_credential(tmp_path: Path) -> None:
    kwargs = NatsAuth(user="u", password="p", creds_file=tmp_path / "x.creds",
                      nkey_seed_file=tmp_path / "x.nk", inbox_prefix="_INBOX.chat"
                      ).connect_kwargs()
    assert kwargs == {"user": "u", "password": "p", "user_credentials": str(tmp_path / "x.creds"),
                      "nkeys_seed": str(tmp_path / "x.nk"), "inbox_prefix": "_INBOX.chat"}


async def test_no_log_line_of_a_failing_connection_shows_the_password(
        caplog: pytest.LogCaptureFixture) -> None:
    # Nothing listens there: every attempt fails and is logged, then connect gives up.
    port = free_port()
    bus = NatsEventBus(f"nats://user:secret@127.0.0.1:{port},nats://other:secret@127.0.0.1:"
                       f"{port}", name="t", connect_timeout_secs=1.5)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ConnectionError) as failure:
        await bus.connect()
    assert "secret" not in str(failure.value)
    assert f"nats://user:***@127.0.0.1:{port}" in str(failure.value)
    attempts = [r for r in caplog.records if "connection attempt" in r.getMessage()]
    assert attempts, "the failed attempts were not logged at all"
    for record in caplog.records:
        assert "secret" not in record.getMessage()
