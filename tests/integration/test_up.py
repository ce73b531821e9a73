"""`tertulia up` end to end: one origin through the gateway, restarts, clean stop, clear errors."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.support.system import ROOT, RunningSystem, pid_alive

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSystem]:
    # JSON logs here (every line as each process wrote it); the default readable console
    # is what the other tests and the browser tests see.
    running = RunningSystem(tmp_path_factory.mktemp("up") / "data",
                            args=["--chat-replicas", "2", "--demo", "--log-format", "json"])
    with running:
        running.wait_for_line("Demo data added", 30)
        yield running


def _code(response: httpx.Response) -> str | None:
    if response.headers.get("content-type", "").startswith("application/problem+json"):
        return response.json().get("code")
    return None


def _sign_in(url: str, username: str) -> str:
    response = httpx.post(f"{url}/api/auth/token",
                          data={"username": username, "password": "tertulia-demo"})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def test_every_path_prefix_reaches_its_service(system: RunningSystem) -> None:
    url = system.url
    token = _sign_in(url, "ana")
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=5) as http:
        assert http.get("/api/auth/me").json()["username"] == "ana"
        assert [r["name"] for r in http.get("/api/chat/rooms").json()] == [
            "general", "random", "equipo"]
        assert http.get("/.well-known/jwks.json").json()["keys"]
        # Each answer below only its own service can give.
        assert http.get("/api/presence/stats").json().keys() >= {"online", "connections"}
        assert "count" in http.get("/api/notifications/unread-count").json()
        assert "messages_24h" in http.get("/api/dashboard/stats").json()
        dashboard = http.get("/dashboard")
        assert dashboard.status_code == 200
        assert "text/html" in dashboard.headers["content-type"]
        assert http.get("/dashboard/").status_code == 308
        # Unknown paths reach no service: the gateway answers with problem details.
        missing = http.get("/no/such/page")
        assert missing.status_code == 404
        assert _code(missing) == "not_found"


def test_the_demo_fills_only_an_empty_system(system: RunningSystem) -> None:
    rerun = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--url", system.url,
         "--data-dir", str(system.data_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 1
    assert "already has rooms" in rerun.stderr
    # The demo's mention of carmen is in her inbox, and ana is the administrator.
    carmen = {"Authorization": f"Bearer {_sign_in(system.url, 'carmen')}"}
    deadline = time.monotonic() + 15
    while True:
        inbox = httpx.get(f"{system.url}/api/notifications", headers=carmen).json()
        reasons = {n["reason"] for n in inbox["notifications"]}
        if "mention" in reasons or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert "mention" in reasons, inbox
    me = httpx.get(f"{system.url}/api/auth/me",
                   headers={"Authorization": f"Bearer {_sign_in(system.url, 'ana')}"})
    assert me.json()["is_admin"] is True


def test_every_demo_user_belongs_to_every_public_room_and_sees_its_conversation(
    system: RunningSystem,
) -> None:
    public = {room["name"]: room["id"]
              for room in httpx.get(f"{system.url}/api/chat/rooms").json()
              if not room["is_private"]}
    assert set(public) == {"general", "random"}
    for username in ("ana", "bruno", "carmen", "diego"):
        mine = httpx.get(f"{system.url}/api/chat/unread", headers={
            "Authorization": f"Bearer {_sign_in(system.url, username)}"}).json()
        last_seq = {entry["room_id"]: entry["last_seq"] for entry in mine}
        for name, room_id in public.items():
            assert room_id in last_seq, f"{username} is not a member of {name}"
            assert last_seq[room_id] > 0, f"{username} sees no message in {name}"


def test_log_format_json_passes_every_line_as_the_process_wrote_it(
        system: RunningSystem) -> None:
    output = system.output()
    assert '"logger":"services.chat.bootstrap","msg":"chat service started"' in output
    assert "[INF] Starting nats-server" in output
    assert "tertulia      | Admin: accounts exist already" in output


def test_websockets_and_server_sent_events_pass_through_unbuffered(
        system: RunningSystem) -> None:
    token = _sign_in(system.url, "ana")
    ws_url = system.url.replace("http://", "ws://") + "/ws"
    with httpx.Client(base_url=system.url, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as http, \
            http.stream("GET", "/api/dashboard/stream") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        first = next(line for line in lines if line.startswith("data:"))
        assert json.loads(first.removeprefix("data:"))["type"] == "initial_data"

        with connect(ws_url, origin=system.url, additional_headers={
                "Cookie": f"tertulia_session={token}"}) as ws:
            hello = json.loads(ws.recv(timeout=5))
            assert hello["type"] == "hello"
            assert hello["data"]["user"]["username"] == "ana"
            assert hello["data"]["replica_id"] in {"chat-1", "chat-2"}
            ws.send(json.dumps({"type": "chat_message", "room_id": 1, "content": "via gateway"}))
            while json.loads(ws.recv(timeout=5))["type"] != "ack":
                pass
            # The dashboard's counters move while the stream is open, and the event arrives
            # while it is open: a gateway that buffered it would leave this read waiting until
            # the client's 10 s read timeout fails the test.
            kinds = (json.loads(line.removeprefix("data:"))["type"]
                     for line in lines if line.startswith("data:"))
            assert "message_stats" in kinds


def test_a_killed_chat_replica_is_restarted_while_the_gateway_keeps_serving(
        system: RunningSystem) -> None:
    before = system.pids()["chat-1"]
    mark = system.line_count()
    os.kill(before, 9)
    ok = 0
    for _ in range(10):
        ok += httpx.get(f"{system.url}/api/chat/rooms", timeout=15).status_code == 200
        time.sleep(0.2)
    assert ok == 10  # the other replica answered meanwhile
    system.wait_for_line("chat-1 pid=", 30, after=mark)
    system.wait_for_line("(restart 1)", 30, after=mark)
    after = system.pids()["chat-1"]
    assert after != before and pid_alive(after)
    assert f"chat-1 pid={before} was killed by SIGKILL; restarting in" in system.output()


def test_the_console_is_readable_start_up_ends_with_a_summary_and_sigterm_stops_all(
        tmp_path: Path) -> None:
    # One `tertulia up` with the default console for both (each started its own before).
    running = RunningSystem(tmp_path / "data").start()
    try:
        httpx.get(f"{running.url}/api/chat/rooms").raise_for_status()  # an access line
        running.wait_for_line("Ctrl-C", 10)
        lines = running.lines[:]
        pids = running.pids()
    except BaseException:
        running.stop()
        raise
    # SIGTERM stops every process and exits zero.
    assert {"nats", "chat-1", "presence", "notifications", "dashboard", "gateway"} <= set(pids)
    assert running.stop() == 0, running.output()
    deadline = time.monotonic() + 5
    while any(pid_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [name for name, pid in pids.items() if pid_alive(pid)] == []
    assert running.output().rstrip().endswith("Stopped.")
    # The console up to then.
    url = f"{running.url}/"
    up_at = next(n for n, line in enumerate(lines) if f"Tertulia is up: {url}" in line)
    summary = [line.split(maxsplit=1) for line in lines[up_at + 1:] if line.startswith("  ")]
    assert dict(row for row in summary if len(row) == 2).items() >= {
        "Open": url, "Admin": "the first account you create becomes the administrator",
        "Stop": "Ctrl-C"}.items()
    assert any(label == "Data" and str(tmp_path / "data") in text for label, text in summary)
    # Readable lines: time, process, level, message; no JSON, no banner, no access lines.
    assert not [line for line in lines if "{" in line]
    assert not [line for line in lines if "JETSTREAM" in line or '"GET /' in line]
    started = next(line for line in lines if "chat service started" in line).split()
    assert started[1:5] == ["chat-1", "INFO", "chat", "service"]
    assert re.fullmatch(r"\d\d:\d\d:\d\d", started[0])
    assert any(line.split()[1:4] == ["nats", "INFO", "Server"] for line in lines)


def test_a_taken_port_is_a_one_line_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "services.cli", "up", "--port", str(port),
             "--data-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert f"port {port} (the gateway) is already in use" in result.stderr
    assert "--port" in result.stderr
