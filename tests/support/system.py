"""The whole system started the way `make up` starts it (`tertulia up`), for slow and e2e tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from services.launcher import free_port

ROOT = Path(__file__).resolve().parents[2]
UP_TIMEOUT_SECS = 90.0
STOP_TIMEOUT_SECS = 30.0
# `up`'s own line for each process it starts: readable (`01:02:03 tertulia INFO  chat-1
# pid=...`) or, with --log-format json, as `tertulia | chat-1 pid=...`.
_STARTED = re.compile(
    r"^(?:\d\d:\d\d:\d\d )?tertulia\s+(?:\| |INFO\s+)(\S+) pid=(\d+) url=(\S*)")


def pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


class RunningSystem:
    """`tertulia up` in a subprocess on free ports; its output is kept (and written to a log)."""

    def __init__(self, data_dir: Path, *, args: Sequence[str] = (),
                 env: dict[str, str] | None = None, python: str = sys.executable,
                 installed: Path | None = None) -> None:
        self.data_dir = data_dir
        self.python = python  # the interpreter (and so the venv) that runs `tertulia up`
        # A venv with the wheel installed: its own `tertulia` runs, from data_dir's parent,
        # with nothing of the checkout on PYTHONPATH.
        self.installed = installed
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{data_dir.name}-up.log"
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._args = list(args)
        self._env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._reader: threading.Thread | None = None
        self.every_pid: set[int] = set()

    # --- lifecycle ----------------------------------------------------------------------

    def start(self) -> RunningSystem:
        command = [self.python, "-m", "services.cli"]
        cwd = ROOT
        env = {**os.environ, **self._env,
               "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        if self.installed is not None:
            command, cwd = [str(self.installed / "bin" / "tertulia")], self.data_dir.parent
            env = {name: value for name, value in env.items()
                   if name not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self.process = subprocess.Popen(
            [*command, "up", "--port", str(self.port), "--data-dir", str(self.data_dir),
             *self._args],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            self.wait_for_line(f"Tertulia is up: {self.url}/", UP_TIMEOUT_SECS)
        except BaseException:
            self.stop()
            raise
        return self

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        with self.log_path.open("a", encoding="utf-8") as log:
            for raw in self.process.stdout:
                line = raw.decode(errors="replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                with self._lock:
                    self.lines.append(line)
                    if match := _STARTED.match(line):
                        self.every_pid.add(int(match.group(2)))

    def stop(self) -> int | None:
        """SIGTERM to `up`, which stops everything; anything left is killed (and reported)."""
        process = self.process
        if process is None:
            return None
        code: int | None = None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(STOP_TIMEOUT_SECS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        finally:
            if self._reader:
                self._reader.join(5)
            for pid in self.every_pid:
                if pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
        return code

    def __enter__(self) -> RunningSystem:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what it printed ---------------------------------------------------------------

    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for_line(self, text: str, timeout_secs: float, after: int = 0) -> str:
        deadline = time.monotonic() + timeout_secs
        while True:
            with self._lock:
                found = next((line for line in self.lines[after:] if text in line), None)
            if found is not None:
                return found
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"`tertulia up` exited with {self.process.returncode} "
                                     f"before printing {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not printed within {timeout_secs:.0f} s:\n"
                                     f"{self.output()[-6000:]}")
            time.sleep(0.1)

    def line_count(self) -> int:
        with self._lock:
            return len(self.lines)

    def urls(self) -> dict[str, str]:
        """Each process's URL as `up` printed it (chat-1's own port, not the gateway's)."""
        with self._lock:
            return {match.group(1): match.group(3)
                    for match in map(_STARTED.match, self.lines) if match}

    def pids(self) -> dict[str, int]:
        """The latest PID of each process `up` started (restarts replace earlier ones)."""
        found: dict[str, int] = {}
        with self._lock:
            for line in self.lines:
                if match := _STARTED.match(line):
                    found[match.group(1)] = int(match.group(2))
        return found
