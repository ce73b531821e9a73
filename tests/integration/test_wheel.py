"""`pip install <the wheel> && tertulia up` in a new venv, away from the checkout: what a user
who never cloned the repository gets."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx
import pytest

from tests.support.system import ROOT, RunningSystem, pid_alive
from tests.support.wheel import build_wheel

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_the_built_wheel_runs_tertulia_up_in_a_fresh_venv_outside_the_checkout(
        tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path / "build")
    env_dir = tmp_path / "venv"
    # A venv of its own, no system site-packages: every dependency comes from the wheel's
    # metadata (pip's cache makes a second run quick).
    venv.EnvBuilder(with_pip=True).create(env_dir)
    started = time.monotonic()
    installed = subprocess.run(
        [str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        capture_output=True, text=True, timeout=600,
        env={name: value for name, value in os.environ.items() if name != "PYTHONPATH"})
    assert installed.returncode == 0, installed.stdout + installed.stderr
    print(f"pip install of the wheel and its dependencies: {time.monotonic() - started:.1f} s",
          file=sys.stderr)

    # The venv imports the installed copy, not this checkout.
    where = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", "import services; print(services.__file__)"],
        capture_output=True, text=True, check=True, cwd=tmp_path, env={"PATH": os.defpath})
    assert Path(where.stdout.strip()).is_relative_to(env_dir)
    assert not Path(where.stdout.strip()).is_relative_to(ROOT)

    system = RunningSystem(tmp_path / "data", installed=env_dir)
    with system:
        page = httpx.get(f"{system.url}/", timeout=10)
        chat_ready = httpx.get(f"{system.urls()['chat-1']}readyz", timeout=10)
        pids = system.pids()
    assert page.status_code == 200 and "<html" in page.text.lower()
    assert chat_ready.status_code == 200, chat_ready.text
    assert system.process is not None and system.process.returncode == 0, system.output()
    assert "Stopped." in system.output()
    assert {"nats", "chat-1", "presence", "notifications", "dashboard", "gateway"} <= set(pids)
    assert [name for name, pid in pids.items() if pid_alive(pid)] == []
    # Its databases went where --data-dir says, relative to nothing of the checkout.
    assert (tmp_path / "data" / "chat.db").is_file()
