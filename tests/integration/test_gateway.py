"""The gateway in front of the real services (`tertulia up`): it serves the documented public
routes and nothing else, and refuses request bodies above its limit before any service
reads them."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.system import RunningSystem

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GATEWAY_MAX_BODY = 64 * 1024  # below the services' own 1 MiB, so the gateway answers first
PASSWORD = "gateway test password"
FILE_MAX = 200_000  # uploads' own limit: above the gateway's for other bodies
# A public prefix is its path and what lies under it, never a longer name (/api/chatter).
INTERNAL = ["/metrics", "/openapi.json", "/readyz", "/livez", "/healthz", "/docs", "/redoc",
            "/docs/oauth2-redirect", "/no/such/page", "/api/chatter", "/api/authz",
            "/staticfiles", "/api/presences", "/dashboards", "/wss"]
# The same internal paths dressed up: case, doubled slashes, dot segments (raw, as a client
# that does not normalise them sends them), percent-encoding, behind a public prefix.
DISGUISED = ["/METRICS", "//metrics", "/static/../metrics", "/api/chat/../../metrics",
             "/api/chat/%2e%2e/%2e%2e/metrics", "/static/%2e%2e/openapi.json", "/%6detrics",
             "/api/presence/../../readyz", "/dashboard/../metrics", "/ws/../openapi.json",
             "/.well-known/jwks.json/../../metrics", "/static%2f..%2fmetrics",
             "/api/notifications/%2e%2e/%2e%2e/openapi.json"]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    running = RunningSystem(tmp_path_factory.mktemp("gateway") / "data",
                            env={"TERTULIA_MAX_BODY_BYTES": str(GATEWAY_MAX_BODY),
                                 "CHAT_FILES_MAX_BYTES": str(FILE_MAX)})
    with running:
        yield running


@pytest.fixture(scope="module")
def token(system: RunningSystem) -> str:
    with httpx.Client(base_url=system.url, timeout=10) as http:
        http.post("/api/auth/register",
                  json={"username": "gatekeeper", "password": PASSWORD}).raise_for_status()
        login = http.post("/api/auth/token", data={"username": "gatekeeper",
                                                   "password": PASSWORD})
        login.raise_for_status()
        return str(login.json()["access_token"])


def raw(port: int, request: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """One request as bytes on a socket, exactly as written (no client normalises the path)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data or not _complete(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def _complete(data: bytes) -> bool:
    head, _, body = data.partition(b"\r\n\r\n")
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            return len(body) >= int(value)
    return False


def get(port: int, target: str) -> tuple[int, dict[str, str], bytes]:
    return raw(port, f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Connection: close\r\n\r\n".encode())


@pytest.mark.parametrize("path", INTERNAL + DISGUISED)
def test_internal_endpoints_are_not_found_through_the_gateway(
        system: RunningSystem, path: str) -> None:
    status, headers, body = get(system.port, path)
    assert status == 404, (path, status, body[:200])
    assert headers["content-type"] == "application/problem+json", path
    assert json.loads(body)["code"] == "not_found"
    for leak in (b"tertulia_", b"openapi", b"checks", b"swagger"):
        assert leak not in body, (path, body[:200])


def test_the_public_routes_still_answer(system: RunningSystem, token: str) -> None:
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=system.url, headers=auth, timeout=10) as http:
        page = http.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "default-src 'none'" in page.headers["content-security-policy"]
        for asset in ("/static/app.js", "/static/js/socket.js", "/static/app.css",
                      "/dashboard/assets/dashboard.js", "/dashboard/assets/dashboard.css"):
            assert http.get(asset).status_code == 200, asset
        assert http.get("/.well-known/jwks.json").json()["keys"]
        assert http.get("/api/auth/me").json()["username"] == "gatekeeper"
        room = http.post("/api/chat/rooms", json={"name": "gateway"})
        assert room.status_code == 201, room.text
        room_id = room.json()["id"]
        assert http.get(f"/api/chat/rooms/{room_id}/messages").status_code == 200
        assert isinstance(http.get("/api/chat/unread").json(), list)
        assert http.get("/api/presence").status_code == 200
        assert "online" in http.get("/api/presence/stats").json()
        assert "count" in http.get("/api/notifications/unread-count").json()
        assert http.get("/api/notifications").status_code == 200
        assert http.get("/dashboard").status_code == 200
        # The gatekeeper is the system's first account, so its administrator: the dashboard
        # itself answers its stats.
        stats = http.get("/api/dashboard/stats")
        assert stats.status_code == 200 and "connections" in stats.json(), stats.text
        admin = http.get("/api/admin/users")
        assert admin.status_code == 200 and "gatekeeper" in [
            u["username"] for u in admin.json()["users"]], admin.text
        assert http.get("/admin").status_code == 200
        assert http.get("/api/moderation/reports").json() == {"reports": [],
                                                              "next_before_id": None}
        unknown_hook = http.post("/api/hooks/th_none", json={"text": "hi"})
        assert unknown_hook.json().get("code") == "hook_not_found", unknown_hook.text
    ws_url = system.url.replace("http://", "ws://")
    with connect(f"{ws_url}/ws", origin=system.url,
                 additional_headers={"Cookie": f"tertulia_session={token}"}) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    with connect(f"{ws_url}/ws/chat/{room_id}?token={token}") as ws:
        while (frame := json.loads(ws.recv(timeout=5)))["type"] != "joined":
            pass
        assert frame["data"]["room_id"] == room_id


def _json_of_size(size: int) -> bytes:
    pad = size - len(b'{"name":""}')
    return b'{"name":"' + b"x" * pad + b'"}'


def _assert_gateway_413(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 413, body[:300]
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    # The gateway's limit, not the service's 1 MiB: the gateway refused it.
    assert (problem["code"], problem["max_bytes"]) == ("body_too_large", GATEWAY_MAX_BODY)


def test_bodies_above_the_gateway_limit_are_413(system: RunningSystem, token: str) -> None:
    port = system.port
    head = (f"POST /api/chat/rooms HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n")
    body = _json_of_size(2 * GATEWAY_MAX_BODY)
    announced = raw(port, (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    _assert_gateway_413(*announced)

    chunked = b"".join(f"{len(part):x}\r\n".encode() + part + b"\r\n"
                       for part in (body[i:i + 4096] for i in range(0, len(body), 4096)))
    _assert_gateway_413(*raw(port, (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
                             + chunked + b"0\r\n\r\n"))

    # 100 MB announced, 1 KiB sent: the answer comes without the rest ever being sent.
    status, _, problem = raw(port, (head + "Content-Length: 104857600\r\n\r\n").encode()
                             + body[:1024])
    assert status == 413 and json.loads(problem)["code"] == "body_too_large"

    # Within the limit the body reaches chat, which answers as it always did.
    within = _json_of_size(GATEWAY_MAX_BODY - 1024)
    status, _, answer = raw(port, (head + f"Content-Length: {len(within)}\r\n"
                                   "Connection: close\r\n\r\n").encode() + within)
    assert status == 422 and json.loads(answer)["code"] == "validation_error"



def test_uploads_have_their_own_limit_at_the_gateway(system: RunningSystem, token: str) -> None:
    """`tertulia up` gives the gateway CHAT_FILES_MAX_BYTES plus the framing for uploads."""
    with httpx.Client(base_url=system.url, timeout=30,
                      headers={"Authorization": f"Bearer {token}"}) as http:
        body = b"y" * (2 * GATEWAY_MAX_BODY)  # larger than any other body may be
        stored = http.post("/api/chat/files", files={"file": ("big.bin", body)})
        assert stored.status_code == 201, stored.text
        assert stored.json()["size"] == len(body)
        assert http.get(stored.json()["url"]).content == body
        over = http.post("/api/chat/files", content=b"z" * (FILE_MAX + 70_000),
                         headers={"Content-Type": "multipart/form-data; boundary=b"})
        assert over.status_code == 413
        assert (over.json()["code"], over.json()["max_bytes"]) == (
            "file_too_large", FILE_MAX + 65_536)
        # Every other path keeps the gateway's limit.
        other = http.post("/api/chat/rooms", content=_json_of_size(2 * GATEWAY_MAX_BODY),
                          headers={"Content-Type": "application/json"})
        assert other.status_code == 413 and other.json()["code"] == "body_too_large"
