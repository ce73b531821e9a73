"""The gateway with TERTULIA_DOMAIN set (as infra/compose runs it): Caddy gets the name a
certificate and answers HTTPS, and sends plain HTTP there. A `.localhost` name gets its
certificate from Caddy's own CA, so no ACME server is needed; no upstream runs, so what
answers is the gateway's own 404 for a non-public path."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.launcher import free_port
from services.up import GATEWAY_CONFIG, caddy_binary

pytestmark = pytest.mark.integration
DOMAIN = "tertulia.localhost"


def _wait_listening(port: int, caddy: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert caddy.poll() is None, log.read_text()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"caddy is not listening on {port}: {log.read_text()}")


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[int, int]]:
    http_port, https_port = free_port(), free_port()
    env = {**os.environ, "TERTULIA_DOMAIN": DOMAIN, "TERTULIA_PORT": str(http_port),
           "TERTULIA_HTTP_PORT": str(http_port), "TERTULIA_HTTPS_PORT": str(https_port),
           "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    log = tmp_path / "caddy.log"
    with log.open("wb") as out:
        caddy = subprocess.Popen([caddy_binary(), "run", "--adapter", "caddyfile",
                                  "--config", str(GATEWAY_CONFIG)],
                                 env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(http_port, caddy, log)
        _wait_listening(https_port, caddy, log)
        yield http_port, https_port
    finally:
        caddy.terminate()
        caddy.wait(timeout=30)


def _https_get(port: int, path: str, ca: Path) -> tuple[int, dict[str, str], bytes]:
    context = ssl.create_default_context(cafile=str(ca))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
        tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n"
                    .encode())
        data = b""
        while chunk := tls.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    return int(lines[0].split()[1]), headers, body


def test_a_domain_gets_https_and_plain_http_is_redirected(
        gateway: tuple[int, int], tmp_path: Path) -> None:
    http_port, https_port = gateway
    # The certificate verifies against Caddy's own CA (created in its data directory).
    ca = tmp_path / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    deadline = time.monotonic() + 30
    while True:
        try:
            status, headers, body = _https_get(https_port, "/metrics", ca)
            break
        except (ssl.SSLError, FileNotFoundError, ConnectionError):
            assert time.monotonic() < deadline, "no certificate for the domain"
            time.sleep(0.2)
    assert status == 404
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["code"] == "not_found"

    plain = httpx.get(f"http://127.0.0.1:{http_port}/api/chat/rooms?x=1",
                      headers={"Host": DOMAIN}, follow_redirects=False, timeout=10)
    assert plain.status_code == 308
    assert plain.headers["location"] == f"https://{DOMAIN}/api/chat/rooms?x=1"


def test_without_a_domain_nothing_listens_for_https(tmp_path: Path) -> None:
    """Compose's case without a domain (set, but empty): plain HTTP on TERTULIA_PORT and no
    HTTPS server anywhere. (`tertulia up`, where it is unset: tests/integration/test_gateway.py)"""
    port, https_port = free_port(), free_port()
    env = {**os.environ, "TERTULIA_DOMAIN": "",
           "TERTULIA_PORT": str(port), "TERTULIA_HTTPS_PORT": str(https_port),
        "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    log = tmp_path / "caddy.log"
    with log.open("wb") as out:
        caddy = subprocess.Popen([caddy_binary(), "run", "--adapter", "caddyfile",
                                  "--config", str(GATEWAY_CONFIG)],
                                 env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, caddy, log)
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        assert answer.status_code == 404 and answer.json()["code"] == "not_found"
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
    finally:
        caddy.terminate()
        caddy.wait(timeout=30)
