"""`tertulia up`'s process supervisor: start in order, prefix logs, restart with back-off, stop."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

import httpx

from services.console import Entry, ReadableLog, render

READY_TIMEOUT_SECS = 30.0
READY_POLL_SECS = 0.2
STOP_TIMEOUT_SECS = 10.0
RESTART_BACKOFF_FIRST_SECS = 0.5
RESTART_BACKOFF_MAX_SECS = 30.0
# A process that ran this long before dying starts its back-off from the beginning again.
RESTART_BACKOFF_RESET_SECS = 60.0
LOG_LINE_LIMIT_BYTES = 1024 * 1024
LOG_TAIL_LINES = 20
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


@dataclass(slots=True)
class ProcessSpec:
    """One supervised program; `ready_url` (HTTP 200) or `ready_port` (TCP open) says ready."""

    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str | None = None
    ready_port: tuple[str, int] | None = None
    url: str | None = None


class StartupFailed(RuntimeError):
    """A process exited or did not become ready while the system was starting."""


def _parent_death_signal() -> Callable[[], object] | None:
    """Linux: a child gets SIGTERM if `up` itself dies (SIGKILL) instead of lingering."""
    if sys.platform != "linux":
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


class Output:
    """Writes our own lines and every child's lines, each prefixed with its source.

    `readable`: `time process LEVEL message` (services/console.py), with access lines and
    start-up chatter left out; otherwise every line exactly as the process wrote it.
    """

    def __init__(self, names: Sequence[str], stream: TextIO | None = None, *,
                 readable: bool = False) -> None:
        self._stream = stream or sys.stdout
        self._width = max((len(n) for n in (*names, "tertulia")), default=8)
        self._readable = readable
        self._logs: dict[str, ReadableLog] = {}

    def line(self, source: str, text: str, *, everything: bool = False) -> None:
        """A child's line; `everything`: even one the readable console leaves out."""
        if not self._readable:
            self._write([f"{source:<{self._width}} | {text}"])
            return
        now = datetime.now(UTC)
        entry = self._logs.setdefault(source, ReadableLog()).entry(text, now)
        if entry is None and everything:
            entry = Entry(now, "", text)
        if entry is not None:
            self._write(render(entry, source, self._width))

    def say(self, text: str, level: str = "INFO") -> None:
        if self._readable:
            self._write(render(Entry(datetime.now(UTC), level, text), "tertulia", self._width))
        else:
            self._write([f"{'tertulia':<{self._width}} | {text}"])

    def block(self, rows: Sequence[tuple[str, str]]) -> None:
        """A few `label  text` rows set apart from the log (readable), or our own lines."""
        if not self._readable:
            for label, text in rows:
                self.say(f"{label}: {text}")
            return
        width = max(len(label) for label, _ in rows)
        self._write(["", *(f"  {label:<{width}}  {text}" for label, text in rows), ""])

    def _write(self, lines: Sequence[str]) -> None:
        self._stream.write("".join(f"{line}\n" for line in lines))
        self._stream.flush()


@dataclass(slots=True)
class Supervised:
    """A child process kept running: restarted with exponential back-off when it dies."""

    spec: ProcessSpec
    output: Output
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL_LINES))
    _stopping: bool = False
    _started_at: float = 0.0
    _pump: asyncio.Task[None] | None = None
    _watch: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            *self.spec.argv, env=self.spec.env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            limit=LOG_LINE_LIMIT_BYTES,
            # A session of its own: Ctrl-C reaches `up` only, which stops children in order.
            start_new_session=True, preexec_fn=_parent_death_signal())
        self._started_at = time.monotonic()
        self._pump = asyncio.create_task(self._copy_output(self.process))
        extra = f" (restart {self.restarts})" if self.restarts else ""
        self.output.say(f"{self.spec.name} pid={self.process.pid} "
                        f"url={self.spec.url or '-'}{extra}")

    def supervise(self) -> None:
        """From now on a death means a restart (during startup it means failure)."""
        self._watch = asyncio.create_task(self._keep_running())

    async def _keep_running(self) -> None:
        delay = RESTART_BACKOFF_FIRST_SECS
        while not self._stopping:
            assert self.process is not None
            code = await self.process.wait()
            if self._pump:
                await self._pump
            if self._stopping:
                return
            if time.monotonic() - self._started_at > RESTART_BACKOFF_RESET_SECS:
                delay = RESTART_BACKOFF_FIRST_SECS
            self.output.say(f"{self.spec.name} pid={self.process.pid} {describe_exit(code)}; "
                            f"restarting in {delay:g} s", "WARN")
            await asyncio.sleep(delay)
            if self._stopping:
                return
            delay = min(delay * 2, RESTART_BACKOFF_MAX_SECS)
            self.restarts += 1
            try:
                await self.start()
            except OSError as exc:
                self.output.say(f"{self.spec.name} could not be restarted: {exc}", "ERROR")

    async def _copy_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        while True:
            try:
                raw = await process.stdout.readline()
            except ValueError:  # a line longer than the limit: pass on what was read
                raw = await process.stdout.read(LOG_LINE_LIMIT_BYTES)
            if not raw:
                return
            text = raw.decode(errors="replace").rstrip("\n")
            self.tail.append(text)
            self.output.line(self.spec.name, text)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT_SECS; no restart afterwards."""
        self._stopping = True
        if self._watch:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        process = self.process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_SECS)
            except TimeoutError:
                self.output.say(f"{self.spec.name} pid={process.pid} did not stop in "
                                f"{STOP_TIMEOUT_SECS:.0f} s; killing it", "WARN")
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        if self._pump:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._pump, 2.0)


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


async def _port_open(host: str, port: int) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 1.0)
    except (OSError, TimeoutError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def wait_ready(children: Sequence[Supervised], client: httpx.AsyncClient,
                     ready_secs: float = READY_TIMEOUT_SECS) -> None:
    """Return when every child answers; raise StartupFailed if one exits or is late."""

    ready: set[str] = set()

    async def one(child: Supervised) -> None:
        spec = child.spec
        while True:
            if not child.running:
                code = child.process.returncode if child.process else None
                raise StartupFailed(f"{spec.name} {describe_exit(code)} while starting")
            if spec.ready_url:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(spec.ready_url)).status_code == 200:
                        break
            elif spec.ready_port is None or await _port_open(*spec.ready_port):
                break
            await asyncio.sleep(READY_POLL_SECS)
        ready.add(spec.name)

    try:
        async with asyncio.timeout(ready_secs):
            await asyncio.gather(*(one(child) for child in children))
    except TimeoutError:
        late = ", ".join(c.spec.name for c in children if c.spec.name not in ready)
        raise StartupFailed(f"not ready within {ready_secs:.0f} s: {late}") from None


class Supervisor:
    """Starts stages of processes in order, keeps them running, stops them in reverse."""

    def __init__(self, output: Output) -> None:
        self.output = output
        self.stages: list[list[Supervised]] = []
        self.stop_requested = asyncio.Event()

    @property
    def children(self) -> list[Supervised]:
        return [child for stage in self.stages for child in stage]

    async def start_stage(self, specs: Sequence[ProcessSpec], client: httpx.AsyncClient,
                          ready_secs: float = READY_TIMEOUT_SECS) -> list[Supervised]:
        stage: list[Supervised] = []
        self.stages.append(stage)
        for spec in specs:
            child = Supervised(spec, self.output)
            await child.start()
            stage.append(child)
        waiting = asyncio.create_task(wait_ready(stage, client, ready_secs))
        stopping = asyncio.create_task(self.stop_requested.wait())
        done, _ = await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if waiting not in done:
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await waiting
            return stage
        stopping.cancel()
        waiting.result()  # raises StartupFailed
        for child in stage:
            child.supervise()
        return stage

    async def stop_all(self) -> None:
        """The last stage first (the gateway), then the services together, NATS last."""
        for stage in reversed(self.stages):
            await asyncio.gather(*(child.stop() for child in stage))

    def request_stop(self) -> None:
        self.stop_requested.set()
