"""Load generator for the chat service: fan-out latency, post throughput, server memory.

Starts its own nats-server and one chat replica (`tertulia serve chat`, a separate process,
as in production) on free ports with a throw-away data directory, drives it with real
WebSocket clients from this process, prints a JSON report, and stops everything it started.

    .venv/bin/python bench/chat_load.py fanout --sockets 200 --messages 300 --rate 50
    .venv/bin/python bench/chat_load.py posts --senders 10 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.launcher import NatsServerProcess, free_port  # noqa: E402


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_secs(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

    return {"n": len(ordered), "p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99),
            "max_ms": round(ordered[-1] * 1000, 2),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 2)}


class Server:
    def __init__(self, data_dir: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.nats = NatsServerProcess(data_dir / "nats")
        self.port = free_port()
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.nats.start()
        env = {**os.environ, "NATS_URL": self.nats.url, "DATA_DIR": str(self.data_dir),
               "CHAT_LOG_LEVEL": "WARNING", **self.env}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", "chat", "--port", str(self.port)],
            cwd=ROOT, env=env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError("chat did not become ready")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.nats.stop()


async def user(http: httpx.AsyncClient, name: str) -> str:
    await http.post("/api/auth/register", json={"username": name, "password": "bench-password"})
    response = await http.post("/api/auth/login",
                               json={"username": name, "password": "bench-password"})
    return response.json()["access_token"]


async def fanout(server: Server, sockets: int, messages: int, rate: float) -> dict[str, object]:
    """One sender posts at `rate`/s into a room where `sockets` listeners wait; latency is
    from the send to each listener's receipt (same clock: one process)."""
    ws_url = server.url.replace("http", "ws")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        token = await user(http, "sender")
        http.headers["Authorization"] = f"Bearer {token}"
        room = (await http.post("/api/chat/rooms", json={"name": "bench"})).json()["id"]
        listener_token = await user(http, "listener")
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    listeners = []
    for _ in range(sockets):
        ws = await connect(f"{ws_url}/ws/chat/{room}?token={listener_token}", max_size=None)
        listeners.append(ws)
    for ws in listeners:
        while orjson.loads(await ws.recv())["type"] != "joined":
            pass

    async def listen(ws) -> None:  # type: ignore[no-untyped-def]
        got = 0
        while got < messages:
            frame = orjson.loads(await ws.recv())
            if frame["type"] == "message":
                latencies.append(time.perf_counter() - sent_at[frame["data"]["content"]])
                got += 1

    cpu0 = cpu_secs(server.proc.pid)  # type: ignore[union-attr]
    tasks = [asyncio.create_task(listen(ws)) for ws in listeners]
    started = time.perf_counter()
    async with connect(f"{ws_url}/ws/chat/{room}?token={token}", max_size=None) as sender:
        for n in range(messages):
            key = f"m{n}"
            sent_at[key] = time.perf_counter()
            await sender.send(orjson.dumps({"type": "chat_message", "content": key}).decode())
            await asyncio.sleep(max(0.0, started + (n + 1) / rate - time.perf_counter()))
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    elapsed = time.perf_counter() - started
    report = {"scenario": "fanout", "sockets": sockets, "messages": messages,
              "rate_per_sec": rate, "deliveries": len(latencies),
              "deliveries_per_sec": round(len(latencies) / elapsed),
              "latency": percentiles(latencies),
              "server_cpu_secs": round(cpu_secs(server.proc.pid) - cpu0, 2),  # type: ignore[union-attr]
              "server_rss_mib": round(rss_mib(server.proc.pid), 1)}  # type: ignore[union-attr]
    for ws in listeners:
        await ws.close()
    return report


async def posts(server: Server, senders: int, seconds: float) -> dict[str, object]:
    """`senders` sockets each post as fast as their acks return, for `seconds`."""
    ws_url = server.url.replace("http", "ws")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        token = await user(http, "poster")
        http.headers["Authorization"] = f"Bearer {token}"
        room = (await http.post("/api/chat/rooms", json={"name": "bench"})).json()["id"]
    acks: list[float] = []
    deadline = time.perf_counter() + seconds
    cpu0 = cpu_secs(server.proc.pid)  # type: ignore[union-attr]

    async def post_loop(n: int) -> None:
        async with connect(f"{ws_url}/ws/chat/{room}?token={token}", max_size=None) as ws:
            while orjson.loads(await ws.recv())["type"] != "joined":
                pass
            i = 0
            while time.perf_counter() < deadline:
                i += 1
                t0 = time.perf_counter()
                await ws.send(orjson.dumps({"type": "chat_message", "content": f"{n}-{i}",
                                            "client_msg_id": f"{n}-{i}"}).decode())
                while orjson.loads(await ws.recv())["type"] != "ack":
                    pass
                acks.append(time.perf_counter() - t0)

    started = time.perf_counter()
    await asyncio.gather(*(post_loop(n) for n in range(senders)))
    elapsed = time.perf_counter() - started
    return {"scenario": "posts", "senders": senders, "seconds": round(elapsed, 1),
            "messages": len(acks), "messages_per_sec": round(len(acks) / elapsed),
            "ack_latency": percentiles(acks),
            "server_cpu_secs": round(cpu_secs(server.proc.pid) - cpu0, 2),  # type: ignore[union-attr]
            "server_rss_mib": round(rss_mib(server.proc.pid), 1)}  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="scenario", required=True)
    f = sub.add_parser("fanout")
    f.add_argument("--sockets", type=int, default=200)
    f.add_argument("--messages", type=int, default=300)
    f.add_argument("--rate", type=float, default=50)
    p = sub.add_parser("posts")
    p.add_argument("--senders", type=int, default=10)
    p.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Server(
            Path(tmp), CHAT_RATE_LIMIT_PER_SEC="100000", CHAT_RATE_LIMIT_BURST="100000") as srv:
        if args.scenario == "fanout":
            report = asyncio.run(fanout(srv, args.sockets, args.messages, args.rate))
        else:
            report = asyncio.run(posts(srv, args.senders, args.seconds))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
