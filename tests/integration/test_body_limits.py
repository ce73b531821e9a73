"""Every service refuses a request body above its `*_MAX_BODY_BYTES` with 413 problem
details, whether the size is announced (Content-Length) or not (chunked); smaller bodies
are served as before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest

from tests.integration.four_services import SERVICES, running

pytestmark = pytest.mark.integration

LIMIT = 4096
# A JSON route of each service; the body is refused before routing, so any route would do.
ROUTES = {
    "chat": ("POST", "/api/chat/rooms"),
    "presence": ("PUT", "/api/presence/me"),
    "notifications": ("PUT", "/api/notifications/preferences"),
    "dashboard": ("POST", "/api/dashboard/broadcast"),
}


def _json_of_size(size: int) -> bytes:
    body = orjson.dumps({"pad": ""})
    return orjson.dumps({"pad": "x" * (size - len(body))})


def _assert_413(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
    problem = response.json()  # type: ignore[attr-defined]
    assert (problem["code"], problem["max_bytes"]) == ("body_too_large", LIMIT)


@pytest.mark.parametrize("service", SERVICES)
async def test_bodies_above_the_limit_are_413_announced_or_chunked(
        service: str, tmp_path: Path, nats_url: str) -> None:
    method, path = ROUTES[service]
    async with running(service, tmp_path, nats_url, max_body_bytes=LIMIT) as svc:
        async with svc.client() as http:
            headers = {"content-type": "application/json"}
            announced = await http.request(method, path, content=_json_of_size(LIMIT + 1),
                                           headers=headers)
            _assert_413(announced)

            async def chunks() -> AsyncIterator[bytes]:
                body = _json_of_size(3 * LIMIT)
                for start in range(0, len(body), 1024):
                    yield body[start:start + 1024]

            chunked = await http.request(method, path, content=chunks(), headers=headers)
            _assert_413(chunked)
            # At the limit the body reaches the route, which answers as it always did (and
            # the same keep-alive connection still serves after a 413).
            served = await http.request(method, path, content=_json_of_size(LIMIT),
                                        headers=headers)
            assert served.status_code == 422, served.text
            assert served.json()["code"] == "validation_error"


def test_the_default_limit_is_one_mebibyte() -> None:
    from services.chat.settings import ChatSettings
    from services.dashboard.settings import DashboardSettings
    from services.notifications.settings import NotificationsSettings
    from services.presence.settings import PresenceSettings

    for settings in (ChatSettings, PresenceSettings, NotificationsSettings, DashboardSettings):
        assert settings().max_body_bytes == 1024 * 1024, settings.__name__
