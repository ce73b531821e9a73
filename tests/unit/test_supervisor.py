"""The supervisor behind `tertulia up`, with real (tiny) child processes."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys

import httpx
import pytest

from services.supervisor import Output, ProcessSpec, StartupFailed, Supervisor, describe_exit

SLEEPER = "import sys, time; print('ready', flush=True); time.sleep(60)"


def _spec(name: str, code: str) -> ProcessSpec:
    return ProcessSpec(name=name, argv=[sys.executable, "-c", code], env=dict(os.environ))


async def _until(predicate: object, secs: float = 10.0) -> None:
    async with asyncio.timeout(secs):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.05)


async def test_children_are_prefixed_restarted_with_back_off_and_stopped() -> None:
    stream = io.StringIO()
    supervisor = Supervisor(Output(["worker"], stream))
    async with httpx.AsyncClient() as client:
        worker, = await supervisor.start_stage([_spec("worker", SLEEPER)], client)
    await _until(lambda: "worker   | ready" in stream.getvalue())
    first = worker.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    await _until(lambda: worker.restarts == 1 and worker.running)
    assert worker.pid != first
    text = stream.getvalue()
    assert f"worker pid={first} was killed by SIGKILL; restarting in 0.5 s" in text
    assert "(restart 1)" in text

    await supervisor.stop_all()
    assert not worker.running
    await asyncio.sleep(0.7)  # longer than the back-off: no restart after a stop
    assert not worker.running and worker.restarts == 1


async def test_a_child_that_dies_while_starting_fails_the_start_with_its_reason() -> None:
    stream = io.StringIO()
    supervisor = Supervisor(Output(["broken"], stream))
    spec = _spec("broken", "import sys; print('bad config'); sys.exit(3)")
    spec.ready_port = ("127.0.0.1", 1)
    async with httpx.AsyncClient() as client:
        with pytest.raises(StartupFailed, match="broken exited with code 3 while starting"):
            await supervisor.start_stage([spec], client)
    broken, = supervisor.children
    await _until(lambda: "bad config" in broken.tail)
    await supervisor.stop_all()


async def test_a_stop_request_while_starting_ends_the_wait() -> None:
    supervisor = Supervisor(Output(["slow"], io.StringIO()))
    spec = _spec("slow", SLEEPER)
    spec.ready_port = ("127.0.0.1", 1)  # never ready
    async with httpx.AsyncClient() as client:
        starting = asyncio.create_task(supervisor.start_stage([spec], client))
        await asyncio.sleep(0.3)
        supervisor.request_stop()
        await asyncio.wait_for(starting, 5)
    await supervisor.stop_all()
    assert not supervisor.children[0].running


def test_exit_descriptions() -> None:
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(1) == "exited with code 1"


async def test_a_stage_that_is_late_names_only_the_late_processes() -> None:
    supervisor = Supervisor(Output(["quick", "late"], io.StringIO()))
    late = _spec("late", SLEEPER)
    late.ready_port = ("127.0.0.1", 1)  # never ready
    async with httpx.AsyncClient() as client:
        with pytest.raises(StartupFailed, match=r"not ready within 1 s: late$"):
            await supervisor.start_stage([_spec("quick", SLEEPER), late], client, ready_secs=1)
    await supervisor.stop_all()
