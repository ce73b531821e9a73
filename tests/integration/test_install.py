"""`make up` on a fresh clone installs what runs the system, and nothing of the test toolchain."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.system import ROOT, RunningSystem

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# The test toolchain, by the module each dev dependency installs.
DEV_MODULES = ("pytest", "playwright", "ruff", "testcontainers", "importlinter", "hypothesis")


def test_make_up_installs_the_runtime_only_and_that_is_enough_to_run_tertulia(
        tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # The stamp `make up` depends on, in a venv of its own (VENV is a make variable).
    built = subprocess.run(["make", "-C", str(ROOT), f"VENV={venv}", f"{venv}/.installed-run"],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    python = venv / "bin" / "python"
    missing = subprocess.run(
        [str(python), "-c", "import importlib.util, sys; print(' '.join("
         "m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))", *DEV_MODULES],
        capture_output=True, text=True, check=True, cwd=tmp_path)
    assert missing.stdout.split() == list(DEV_MODULES)

    help_text = subprocess.run([str(venv / "bin" / "tertulia"), "--help"], cwd=tmp_path,
                               capture_output=True, text=True, timeout=60)
    assert help_text.returncode == 0, help_text.stderr
    assert "up" in help_text.stdout

    # And it runs: the whole system, from that venv alone (its nats-server and caddy too).
    with RunningSystem(tmp_path / "data", python=str(python)) as system:
        assert system.url
