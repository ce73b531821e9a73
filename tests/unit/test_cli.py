"""`tertulia`: argument handling, and `up` starting and stopping the whole system."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.cli import main, plan_children

ROOT = Path(__file__).resolve().parents[2]


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("serve", "up", "create-admin"):
        assert command in out


def test_serve_unknown_service_names_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "bogus"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'bogus'" in err
    assert "chat" in err


def test_up_runs_chat_against_its_nats_and_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHAT_NATS_URL", "nats://elsewhere:4222")
    monkeypatch.setenv("CHAT_DATA_DIR", "/elsewhere")
    chat, *others = plan_children(host="127.0.0.1", port=8123,
                                  nats_url="nats://127.0.0.1:4333", data_dir=tmp_path)
    assert chat.argv[1:] == ["-m", "services.cli", "serve", "chat",
                             "--host", "127.0.0.1", "--port", "8123"]
    assert chat.env["NATS_URL"] == "nats://127.0.0.1:4333"
    assert chat.env["DATA_DIR"] == str(tmp_path)
    assert "CHAT_NATS_URL" not in chat.env
    assert "CHAT_DATA_DIR" not in chat.env
    assert chat.ready_url == "http://127.0.0.1:8123/readyz"
    # The other services verify tokens with chat's public keys.
    for child in others:
        assert child.env[f"{child.name.upper()}_JWKS_URL"] == (
            "http://127.0.0.1:8123/.well-known/jwks.json")
        assert child.env["NATS_URL"] == "nats://127.0.0.1:4333"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _started_pids(log: str) -> dict[str, int]:
    return {name: int(pid) for name, pid in re.findall(r"^(\S+) pid=(\d+)", log, re.M)}


@pytest.mark.integration
@pytest.mark.slow
def test_up_serves_until_sigterm_then_leaves_nothing_behind(tmp_path: Path) -> None:
    from services.launcher import free_port

    port = free_port()
    log_path = tmp_path / "up.log"
    with log_path.open("wb") as log:
        up = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "up", "--port", str(port),
             "--data-dir", str(tmp_path / "data")],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ,
                 "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])},
        )
    pids: dict[str, int] = {}
    try:
        announced = f"Tertulia is up: http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while announced not in log_path.read_text():
            assert up.poll() is None, f"`up` exited with {up.returncode}:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"not up in 60 s:\n{log_path.read_text()}"
            time.sleep(0.25)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200

        pids = _started_pids(log_path.read_text())
        assert {"nats-server", "chat"} <= set(pids), log_path.read_text()

        up.send_signal(signal.SIGTERM)
        assert up.wait(timeout=20) == 0, log_path.read_text()
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [name for name, pid in pids.items() if _alive(pid)], log_path.read_text()
    finally:
        for pid in [up.pid, *pids.values()]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        up.wait(timeout=5)
