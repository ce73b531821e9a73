"""The project's wheel as `pip` builds it, from a clean copy of the files git knows."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# What the wheel is built from; setuptools needs no more.
SOURCES = ("pyproject.toml", "README.md", "services", "shared")


def source_files() -> list[str]:
    """The checkout's files under SOURCES: tracked or new (not ignored), still on disk."""
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
         "--exclude-standard", "--", *SOURCES],
        capture_output=True, text=True, check=True).stdout.split("\0")
    return sorted(name for name in set(listed) if name and (ROOT / name).is_file())


def build_wheel(dest: Path, *, isolated: bool = True) -> Path:
    """The wheel, built in `dest` from a copy of `source_files()`: a build/ left in the checkout
    (setuptools copies whatever it holds) or an untracked scratch file cannot creep in.

    isolated=False uses this venv's setuptools (the dev extra), a second instead of ten."""
    source = dest / "source"
    for name in source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    wheels = dest / "wheels"
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
               "--wheel-dir", str(wheels), str(source)]
    if not isolated:
        command.insert(4, "--no-build-isolation")
    built = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    wheel, = wheels.glob("tertulia-*.whl")
    return wheel
