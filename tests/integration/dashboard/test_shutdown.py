"""A dashboard process told to stop ends its open streams and exits promptly, instead of
waiting out the server's graceful timeout for streams that never end by themselves."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.launcher import free_port
from tests.integration.dashboard.harness import Keys, SseStream

pytestmark = pytest.mark.integration

GRACEFUL_TIMEOUT_SECS = 10  # what `tertulia serve` gives uvicorn
REPO = Path(__file__).resolve().parents[3]


async def test_sigterm_ends_open_streams_and_the_process_exits_promptly(
        tmp_path: Path, nats_url: str) -> None:
    keys = Keys.generate()
    port = free_port()
    env = {**os.environ, "DASHBOARD_NATS_URL": nats_url, "DASHBOARD_DATA_DIR": str(tmp_path),
           "DASHBOARD_JWT_PUBLIC_KEY_PEM": keys.public_pem, "DASHBOARD_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(REPO)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "services.dashboard.app:create_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
        "--timeout-graceful-shutdown", str(GRACEFUL_TIMEOUT_SECS), env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, headers=keys.headers(),
                                     timeout=30) as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if (await client.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "dashboard did not become ready"
                await asyncio.sleep(0.1)

            async with client.stream("GET", "/api/dashboard/stream") as response:
                stream = SseStream(response)
                try:
                    assert (await stream.next()).type == "initial_data"
                    stopped_at = time.monotonic()
                    process.send_signal(signal.SIGTERM)
                    # The stream ends (cleanly, from the server's side) ...
                    with pytest.raises(EOFError):
                        while True:
                            await stream.next(timeout=5)
                finally:
                    await stream.close()
        # ... and the process is gone well before the graceful timeout.
        await asyncio.wait_for(process.wait(), 5)
        assert time.monotonic() - stopped_at < GRACEFUL_TIMEOUT_SECS / 2
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
