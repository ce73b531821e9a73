"""Writing a directory all at once: the work goes into a hidden staging directory, which
becomes the target only when it is whole, so a failure leaves the target as it was.

A target that does not exist yet gets a sibling (`.<name>.<tag>-<pid>`) renamed to it. A
target that exists and is empty may be a mount point (a container's `/data` volume), which
cannot be renamed or replaced, and whose parent may not be writable: the staging directory
goes inside it (`.<tag>-<pid>`) and its entries are renamed into it at the end (the same
file system, so each is one rename)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from services.backup.manifest import BackupError


def refuse_used(target: Path, what: str, ignore: Path | None = None) -> None:
    """BackupError unless `target` is missing or an empty directory (`ignore` aside)."""
    if not target.exists():
        return
    if not target.is_dir() or any(entry != ignore for entry in target.iterdir()):
        raise BackupError(f"{target} is not empty: {what} (nothing was written)")


def begin(target: Path, tag: str, what: str) -> Path:
    refuse_used(target, what)
    if target.exists():
        staging = target / f".{tag}-{os.getpid()}"
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.parent / f".{target.name}.{tag}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    return staging


def finish(staging: Path, target: Path, what: str) -> None:
    """`staging` becomes `target`, which must still be empty: nobody wrote there meanwhile."""
    if staging.parent != target:
        refuse_used(target, what)
        if target.exists():
            target.rmdir()
        os.replace(staging, target)
        return
    refuse_used(target, what, ignore=staging)
    moved: list[Path] = []
    try:
        for entry in sorted(staging.iterdir()):
            os.replace(entry, target / entry.name)
            moved.append(target / entry.name)
    except BaseException:
        for path in moved:  # back to empty, as the target was
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        raise
    staging.rmdir()


def abandon(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
