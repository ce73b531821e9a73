"""Behind a proxy, under `tertulia serve`: each service believes X-Forwarded-For and
X-Forwarded-Proto from the peers in its <P>TRUSTED_PROXIES only. What shows it is what the
service hands back: the scheme of a redirect's Location (starlette builds it from the request),
the client address uvicorn logs, and chat's Secure session cookie.

Loopback has more than one address: a request from 127.0.0.2 comes from another peer than one
from 127.0.0.1, so one machine plays both the trusted proxy and a stranger."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from services.launcher import free_port
from tests.support.system import ROOT

pytestmark = pytest.mark.integration

PROXY, STRANGER = "127.0.0.2", "127.0.0.1"
FORWARDED = {"X-Forwarded-Proto": "https"}
START_SECS = 30.0


def _public_key_pem() -> str:
    return Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


class Served:
    """`tertulia serve <service>` in a child process, output in a file, stopped by its PID."""

    def __init__(self, service: str, tmp_path: Path, nats_url: str) -> None:
        prefix = service.upper()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / f"{service}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "NATS_URL": nats_url,
               f"{prefix}_DATA_DIR": str(tmp_path / "data"), f"{prefix}_LOG_JSON": "false",
               # Only the second loopback address is the proxy here; 127.0.0.1 is not.
               f"{prefix}_TRUSTED_PROXIES": json.dumps([PROXY])}
        if service != "chat":
            env[f"{prefix}_JWT_PUBLIC_KEY_PEM"] = _public_key_pem()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "serve", service,
                 "--host", "127.0.0.1", "--port", str(self.port)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_SECS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(f"{self.url}/livez", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"not up in {START_SECS:.0f} s:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def from_peer(peer: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=peer), timeout=10)


@pytest.fixture(params=["chat", "presence", "notifications", "dashboard"])
def served(request: pytest.FixtureRequest, tmp_path: Path, nats_url: str) -> Iterator[Served]:
    running = Served(request.param, tmp_path, nats_url)
    try:
        running.wait_ready()
        yield running
    finally:
        running.stop()


def _redirect(client: httpx.Client, served: Served, client_address: str) -> str:
    """Where a trailing-slash redirect points, asked with forwarded headers."""
    response = client.get(f"{served.url}/livez/",
                          headers={**FORWARDED, "X-Forwarded-For": client_address})
    assert response.status_code == 307, response.text
    return response.headers["location"]


def test_forwarded_headers_count_from_a_trusted_proxy_only(served: Served) -> None:
    with from_peer(PROXY) as proxy, from_peer(STRANGER) as stranger:
        through_proxy = _redirect(proxy, served, "198.51.100.20")
        direct = _redirect(stranger, served, "198.51.100.21")

    assert through_proxy == f"https://127.0.0.1:{served.port}/livez"
    assert direct == f"http://127.0.0.1:{served.port}/livez"
    served.stop()  # the access log is complete once the process has exited
    log = served.log.read_text()
    assert '198.51.100.20:0 - "GET /livez/ HTTP/1.1" 307' in log
    assert "198.51.100.21" not in log  # the stranger's claim was not believed...
    assert f'{STRANGER}:' in log  # ...its own address was logged


def test_chat_sets_the_secure_cookie_for_https_through_the_proxy_only(
        tmp_path: Path, nats_url: str) -> None:
    chat = Served("chat", tmp_path, nats_url)
    try:
        chat.wait_ready()
        password = "correct horse battery"
        with from_peer(PROXY) as proxy, from_peer(STRANGER) as stranger:
            cookies = {}
            for name, client in (("proxy", proxy), ("stranger", stranger)):
                client.post(f"{chat.url}/api/auth/register",
                            json={"username": f"u{name}", "password": password})
                login = client.post(f"{chat.url}/api/auth/login", headers=FORWARDED,
                                    json={"username": f"u{name}", "password": password})
                assert login.status_code == 200, login.text
                cookies[name] = {part.strip().lower()
                                 for part in login.headers["set-cookie"].split(";")[1:]}
    finally:
        chat.stop()
    assert "secure" in cookies["proxy"]
    assert "secure" not in cookies["stranger"]
