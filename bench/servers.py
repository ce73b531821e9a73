"""The servers bench/run.py measures: each is started fresh, set up for a scenario's layout
through its own interface, and stopped by PID afterwards.

Placement: a pinned server (and its NATS) runs on core 0 (`taskset -c 0`); run.py puts the
load generator on core 1. An unpinned server shares both cores with everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import jwt

from services.launcher import NatsServerProcess  # run.py's checkout: only to start NATS

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SERVER_CPUS = "0"
LOADGEN_CPUS = "1"
PASSWORD = "bench-password-1"
START_SECS = 60.0
STOP_GRACE_SECS = 15.0
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{db}"
# Raised so that the benchmark measures the chat, not the per-user flood protection.
TERTULIA_ENV = {
    "CHAT_RATE_LIMIT_PER_SEC": "1000000",
    "CHAT_RATE_LIMIT_BURST": "1000000",
    # Every bench user signs up and in from 127.0.0.1.
    "CHAT_SIGNUP_LIMIT_PER_ADDRESS": "",
    "CHAT_SIGNIN_LIMIT_PER_ADDRESS": "",
    "CHAT_LOG_LEVEL": "WARNING",
    # Tokens come from a seed made once per run; they must outlive a long run.
    "CHAT_ACCESS_TOKEN_TTL_SECS": "86400",
}
SETUP_CONCURRENCY = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Layout:
    """A scenario's rooms and sockets in server-neutral terms: rooms and users are indexes."""

    room_sizes: list[int]
    socket_room: list[int]  # room index of each socket
    socket_user: list[int]  # user index of each socket
    senders: list[int]  # socket indexes that post

    @property
    def users(self) -> int:
        return max(self.socket_user) + 1

    def memberships(self) -> set[tuple[int, int]]:
        """(user, room) pairs: every user who has a socket in a room is a member of it."""
        return set(zip(self.socket_user, self.socket_room, strict=True))


@dataclass
class Target:
    """A started, set-up server: what the load generator and the checks need."""

    protocol: str  # the load generator's adapter
    ws_urls: list[str]
    room_ids: list[int]  # the server's id of each layout room
    tokens: list[str]  # per user index
    pids: list[int]  # server processes whose CPU and RSS count (NATS included)
    db_pids: list[int] = field(default_factory=list)  # PostgreSQL backends, reported apart
    http_url: str | None = None


class Proc:
    """A child process in its own session (a Ctrl-C reaches run.py, which stops it by PID)."""

    def __init__(self, args: list[str], log: Path, *, cpus: str | None,
                 env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
        cmd = ["taskset", "-c", cpus, *args] if cpus else args
        self.log = log
        with log.open("ab") as out:
            # taskset execs the command: the PID is the server's own.
            self.popen = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                          start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self) -> None:
        if not self.alive():
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(STOP_GRACE_SECS)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def tail(self, size: int = 3000) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_bytes()[-size:].decode(errors="replace")
        return ""


def wait_ready(proc: Proc, url: str, what: str) -> None:
    """Polls `url` until it answers 200; fails with the process's log if it exits first."""
    deadline = time.monotonic() + START_SECS
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{what} exited with {proc.popen.returncode}:\n{proc.tail()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready within {START_SECS}s:\n{proc.tail()}")


def pin_all_threads(pid: int, cpus: str) -> None:
    """Pins every thread of a running process (nats-server is started by the launcher)."""
    subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(pid)], check=True,
                   stdout=subprocess.DEVNULL)


class Server:
    """One server kind; `start` returns a Target, `stop` ends what `start` began."""

    protocol = ""

    def __init__(self, name: str, workdir: Path, pinned: bool = True) -> None:
        self.name = name
        self.workdir = workdir
        self.pinned = pinned
        self.procs: list[Proc] = []

    @property
    def cpus(self) -> str | None:
        return SERVER_CPUS if self.pinned else None

    def spawn(self, args: list[str], log_name: str,
              env: dict[str, str] | None = None) -> Proc:
        proc = Proc(args, self.workdir / log_name, cpus=self.cpus, env=env)
        self.procs.append(proc)
        return proc

    def start(self, layout: Layout) -> Target:
        raise NotImplementedError

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()


# --- the peers ------------------------------------------------------------------------------

class NaiveServer(Server):
    """bench/peers/naive.py; its users and rooms are seeded at start, tokens minted here."""

    protocol = "naive"

    def __init__(self, name: str, workdir: Path, pinned: bool = True,
                 no_db: bool = False) -> None:
        super().__init__(name, workdir, pinned)
        self.no_db = no_db
        self.secret = secrets.token_hex(16)

    def start(self, layout: Layout) -> Target:
        port = free_port()
        db = ["--no-db"] if self.no_db else ["--db", str(self.workdir / "naive.db")]
        proc = self.spawn([sys.executable, str(BENCH / "peers" / "naive.py"), "--port", str(port),
                           *db, "--users", str(layout.users),
                           "--rooms", str(len(layout.room_sizes))],
                          "naive.log", env={**os.environ, "NAIVE_JWT_SECRET": self.secret})
        wait_ready(proc, f"http://127.0.0.1:{port}/health", self.name)
        expires = int(time.time()) + 86400
        tokens = [jwt.encode({"sub": str(u + 1), "username": f"user{u + 1}", "exp": expires},
                             self.secret, algorithm="HS256") for u in range(layout.users)]
        return Target(self.protocol, [f"ws://127.0.0.1:{port}"],
                      list(range(1, len(layout.room_sizes) + 1)), tokens, [proc.pid])


class SocketioServer(Server):
    protocol = "socketio"

    def start(self, layout: Layout) -> Target:
        port = free_port()
        proc = self.spawn([sys.executable, str(BENCH / "peers" / "socketio_server.py"),
                           "--port", str(port)], "socketio.log")
        # Its only route is engine.io's: an open port is the sign of a started server.
        wait_port(proc, port, self.name)
        return Target(self.protocol, [f"ws://127.0.0.1:{port}"],
                      list(range(1, len(layout.room_sizes) + 1)), [], [proc.pid])


class NodeServer(Server):
    protocol = "node"

    def start(self, layout: Layout) -> Target:
        port = free_port()
        proc = self.spawn(["node", str(BENCH / "peers" / "node_ws_server.js"),
                           "--port", str(port)], "node.log")
        wait_ready(proc, f"http://127.0.0.1:{port}/health", self.name)
        return Target(self.protocol, [f"ws://127.0.0.1:{port}"],
                      list(range(1, len(layout.room_sizes) + 1)), [], [proc.pid])


def wait_port(proc: Proc, port: int, what: str) -> None:
    deadline = time.monotonic() + START_SECS
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{what} exited with {proc.popen.returncode}:\n{proc.tail()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not listening within {START_SECS}s:\n{proc.tail()}")


# --- Tertulia -------------------------------------------------------------------------------

def check_root(root: Path) -> None:
    """`python -m services.cli` run with cwd=root must import that checkout's code, not the
    editable install's: otherwise a baseline would silently measure the working tree."""
    code = "import services, shared; print(services.__file__); print(shared.__file__)"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=tertulia_env(root),
                         capture_output=True, text=True, check=True).stdout.split()
    for package, found in zip(("services", "shared"), out, strict=True):
        if Path(found).resolve() != (root / package / "__init__.py").resolve():
            raise SystemExit(f"{root}: `{package}` resolves to {found}, not to this checkout")


def tertulia_env(root: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, **TERTULIA_ENV, "PYTHONPATH": str(root), **extra}


def pg_admin(sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def pg_backend_pids(db: str) -> list[int]:
    async def run() -> list[int]:
        conn = await asyncpg.connect(PG_ADMIN_DSN)
        try:
            rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", db)
        finally:
            await conn.close()
        return [int(r["pid"]) for r in rows]

    return asyncio.run(run())


@dataclass
class System:
    """NATS plus chat replicas of one Tertulia checkout on one data directory."""

    root: Path
    data_dir: Path
    workdir: Path
    cpus: str | None
    database_url: str | None = None
    procs: list[Proc] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    nats: NatsServerProcess | None = None

    def start(self, replicas: int) -> None:
        self.nats = nats = NatsServerProcess(self.workdir / "nats")
        nats.start()
        if self.cpus and nats.pid:
            pin_all_threads(nats.pid, self.cpus)
        extra = {"NATS_URL": nats.url, "DATA_DIR": str(self.data_dir)}
        if self.database_url:
            extra["CHAT_DATABASE_URL"] = self.database_url
        # One after the other: the first creates the schema, the second finds it.
        for n in range(replicas):
            port = free_port()
            proc = Proc([sys.executable, "-m", "services.cli", "serve", "chat", "--port",
                         str(port)], self.workdir / f"chat-{n}.log", cpus=self.cpus,
                        env=tertulia_env(self.root, **extra), cwd=self.root)
            self.procs.append(proc)
            url = f"http://127.0.0.1:{port}"
            wait_ready(proc, f"{url}/readyz", f"chat replica {n} ({self.root})")
            self.urls.append(url)

    @property
    def pids(self) -> list[int]:
        nats_pid = self.nats.pid if self.nats is not None else None
        return [p.pid for p in self.procs] + ([nats_pid] if nats_pid else [])

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
        if self.nats is not None:
            self.nats.stop()
            self.nats = None


async def _register(url: str, users: int) -> list[str]:
    """Registers user0..user<n-1> and logs each in; argon2 makes this ~0.25 s per user."""
    limit = asyncio.Semaphore(2)

    async def one(http: httpx.AsyncClient, n: int) -> str:
        body = {"username": f"user{n}", "password": PASSWORD}
        async with limit:
            r = await http.post("/api/auth/register", json=body)
            if r.status_code not in (201, 409):
                raise RuntimeError(f"register user{n}: {r.status_code} {r.text}")
            r = await http.post("/api/auth/login", json=body)
            r.raise_for_status()
            return str(r.json()["access_token"])

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        return list(await asyncio.gather(*(one(http, n) for n in range(users))))


class Seed:
    """Users registered once per run and checkout: a stopped system's data directory (SQLite
    file and signing key) or a PostgreSQL database used as a template, plus the tokens.
    Every fresh server starts from a copy, so argon2 is paid once, not per server."""

    def __init__(self, root: Path, workdir: Path, users: int, postgres: bool) -> None:
        self.root = root
        self.dir = workdir
        self.users = users
        self.postgres = postgres
        self.data_dir = workdir / "data"
        self.template_db = f"tertulia_bench_{secrets.token_hex(4)}_seed" if postgres else None
        self.tokens: list[str] = []

    def make(self, databases: list[str]) -> None:
        self.data_dir.mkdir(parents=True)
        url = None
        if self.template_db:
            pg_admin(f'CREATE DATABASE "{self.template_db}"')
            databases.append(self.template_db)
            url = PG_URL.format(db=self.template_db)
        system = System(self.root, self.data_dir, self.dir, None, url)
        try:
            system.start(1)
            self.tokens = asyncio.run(_register(system.urls[0], self.users))
        finally:
            system.stop()

    def copy_data_dir(self, dest: Path) -> Path:
        shutil.copytree(self.data_dir, dest)
        return dest


class TertuliaServer(Server):
    """NATS + `services.cli serve chat` replicas from one checkout, set up over HTTP."""

    protocol = "tertulia"

    def __init__(self, name: str, workdir: Path, pinned: bool, seed: Seed, replicas: int,
                 databases: list[str]) -> None:
        super().__init__(name, workdir, pinned)
        self.seed = seed
        self.replicas = replicas
        self.databases = databases  # created databases, dropped at the end of the run
        self.system: System | None = None
        self.db_name: str | None = None

    def start(self, layout: Layout) -> Target:
        if layout.users > self.seed.users:
            raise ValueError(f"layout needs {layout.users} users, seed has {self.seed.users}")
        url = None
        if self.seed.postgres:
            self.db_name = f"tertulia_bench_{secrets.token_hex(6)}"
            create_from_template(self.db_name, self.seed.template_db or "")
            self.databases.append(self.db_name)
            url = PG_URL.format(db=self.db_name)
        data_dir = self.seed.copy_data_dir(self.workdir / "data")
        self.system = System(self.seed.root, data_dir, self.workdir, self.cpus, url)
        self.system.start(self.replicas)
        room_ids = asyncio.run(setup_rooms(self.system.urls[0], layout, self.seed.tokens))
        db_pids = pg_backend_pids(self.db_name) if self.db_name else []
        return Target(self.protocol, [u.replace("http", "ws", 1) for u in self.system.urls],
                      room_ids, self.seed.tokens[:layout.users], self.system.pids, db_pids,
                      self.system.urls[0])

    def stop(self) -> None:
        if self.system is not None:
            self.system.stop()
            self.system = None
        if self.db_name:
            drop_database(self.db_name, self.databases)
            self.db_name = None


def create_from_template(db: str, template: str) -> None:
    # The template must have no sessions; the seed's chat process may take a moment to go.
    for _ in range(50):
        try:
            pg_admin(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
            return
        except asyncpg.ObjectInUseError:
            time.sleep(0.2)
    raise RuntimeError(f"template {template} still in use")


def drop_database(db: str, databases: list[str]) -> None:
    pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    with contextlib.suppress(ValueError):
        databases.remove(db)


async def setup_rooms(url: str, layout: Layout, tokens: list[str]) -> list[int]:
    """Creates the layout's rooms (as user0, their admin) and has every user with a socket
    in a room join it (POST /api/chat/rooms/{id}/join), so posts make no first-post joins."""
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)
    auth = [{"Authorization": f"Bearer {t}"} for t in tokens]
    suffix = secrets.token_hex(3)

    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        async def create(n: int) -> int:
            async with limit:
                r = await http.post("/api/chat/rooms", headers=auth[0],
                                    json={"name": f"bench-{suffix}-{n}"})
                r.raise_for_status()
                return int(r.json()["id"])

        async def join(user: int, room_id: int) -> None:
            async with limit:
                r = await http.post(f"/api/chat/rooms/{room_id}/join", headers=auth[user])
                r.raise_for_status()

        room_ids = list(await asyncio.gather(*(create(n) for n in range(len(layout.room_sizes)))))
        await asyncio.gather(*(join(user, room_ids[room]) for user, room in layout.memberships()
                               if user != 0))
    return room_ids


async def verify_history(url: str, token: str, room_ids: list[int],
                         acked: list[list[object]]) -> dict[str, object]:
    """posts: every acked message is stored under its seq, and seq has no gap in any room."""
    by_room: dict[int, dict[int, str]] = {r: {} for r in room_ids}
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as http:
        for room_id in room_ids:
            after = 0
            while True:
                r = await http.get(f"/api/chat/rooms/{room_id}/messages",
                                   params={"after_seq": after, "limit": 200})
                r.raise_for_status()
                page = r.json()
                for m in page["messages"]:
                    by_room[room_id][int(m["seq"])] = str(m.get("client_msg_id") or "")
                if not page["messages"] or not page["has_more"]:
                    break
                after = int(page["messages"][-1]["seq"])
    lost = sum(1 for room, seq, key in acked
               if by_room.get(int(room), {}).get(int(seq)) != key)  # type: ignore[call-overload]
    gaps = sum(sum(1 for s in range(1, max(seqs) + 1) if s not in seqs)
               for seqs in by_room.values() if seqs)
    stored = sum(len(s) for s in by_room.values())
    return {"acked": len(acked), "stored": stored, "lost": lost, "seq_gaps": gaps}


@contextlib.contextmanager
def started(server: Server, layout: Layout) -> Iterator[Target]:
    try:
        yield server.start(layout)
    finally:
        server.stop()
