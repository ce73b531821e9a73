"""`tertulia`: run one service, the whole system on one machine, or an admin chore."""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import getpass
import importlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

DEFAULT_HOST = "127.0.0.1"
READY_TIMEOUT_SECS = 30.0
READY_POLL_SECS = 0.25
STOP_TIMEOUT_SECS = 10.0
GRACEFUL_SHUTDOWN_SECS = 10
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# The directory that holds the `services` package, so children run this same code.
CODE_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    factory: str  # "module:function" returning the ASGI app
    settings: str  # "module:Class" (pydantic-settings)
    default_port: int


# One line per service that `tertulia serve <name>` can run.
SERVICES: dict[str, ServiceEntry] = {
    "chat": ServiceEntry("services.chat.app:create_app", "services.chat.settings:ChatSettings",
                         8001),
    "presence": ServiceEntry("services.presence.app:create_app",
                             "services.presence.settings:PresenceSettings", 8002),
    "notifications": ServiceEntry("services.notifications.app:create_app",
                                  "services.notifications.settings:NotificationsSettings", 8003),
    "dashboard": ServiceEntry("services.dashboard.app:create_app",
                              "services.dashboard.settings:DashboardSettings", 8004),
}
# Services `up` starts after chat, each on a free port, verifying tokens with chat's JWKS.
# (Until the gateway lands they are reached on their own ports, printed at start.)
TOKEN_VERIFYING_SERVICES = ("presence", "notifications", "dashboard")


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


# --- serve -----------------------------------------------------------------------------------

def serve(name: str, host: str, port: int | None) -> int:
    import uvicorn

    entry = SERVICES[name]
    settings = _load(entry.settings)()
    uvicorn.run(
        entry.factory,
        factory=True,
        host=host,
        port=port or entry.default_port,
        ws_max_size=getattr(settings, "ws_max_frame_bytes", 64 * 1024),
        ws_per_message_deflate=False,
        # Protocol-level pings every 20 s; a peer that does not answer in 20 s is dropped.
        ws_ping_interval=getattr(settings, "ws_ping_interval_secs", 20.0),
        ws_ping_timeout=getattr(settings, "ws_ping_interval_secs", 20.0),
        proxy_headers=True,
        log_level=str(getattr(settings, "log_level", "info")).lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECS,
    )
    return 0


# --- up --------------------------------------------------------------------------------------

@dataclass(slots=True)
class ChildSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    ready_url: str | None = None
    url: str | None = None


@dataclass(slots=True)
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes]


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def plan_children(*, host: str, port: int, nats_url: str, data_dir: Path) -> list[ChildSpec]:
    """What `up` starts, in start order (stopped in reverse)."""
    # Every service reads NATS_URL and DATA_DIR, but a service-prefixed variable left in the
    # shell (CHAT_NATS_URL, ...) would win over them and point it somewhere else.
    inherited = {name: value for name, value in os.environ.items()
                 if not name.endswith(("_NATS_URL", "_DATA_DIR"))}
    env = {
        **inherited,
        "NATS_URL": nats_url,
        "DATA_DIR": str(data_dir),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(CODE_ROOT), os.environ.get("PYTHONPATH", "")) if p),
    }
    base = f"http://{_client_host(host)}:{port}"
    return [
        ChildSpec(
            name="chat",
            argv=[sys.executable, "-m", "services.cli", "serve", "chat",
                  "--host", host, "--port", str(port)],
            env=env,
            ready_url=f"{base}/readyz",
            url=f"{base}/",
        ),
        *(_verifying_child(name, host, env, jwks_url=f"{base}/.well-known/jwks.json")
          for name in TOKEN_VERIFYING_SERVICES),
    ]


def _verifying_child(name: str, host: str, env: dict[str, str], *, jwks_url: str) -> ChildSpec:
    from services.launcher import free_port

    service_port = free_port()
    base = f"http://{_client_host(host)}:{service_port}"
    return ChildSpec(
        name=name,
        argv=[sys.executable, "-m", "services.cli", "serve", name,
              "--host", host, "--port", str(service_port)],
        env={**env, f"{name.upper()}_JWKS_URL": jwks_url},
        ready_url=f"{base}/readyz",
        url=f"{base}/",
    )


def _parent_death_signal() -> Callable[[], object] | None:
    """Linux: a child gets SIGTERM if `up` itself dies (SIGKILL) instead of lingering."""
    if sys.platform != "linux":
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


def _start(spec: ChildSpec) -> Child:
    # A session of its own: Ctrl-C reaches `up` only, which then stops children in order.
    process = subprocess.Popen(spec.argv, env=spec.env, start_new_session=True,
                               preexec_fn=_parent_death_signal())
    print(f"{spec.name} pid={process.pid} url={spec.url or '-'}", flush=True)
    return Child(spec, process)


def _stop(child: Child) -> None:
    process = child.process
    if process.poll() is None:
        try:
            os.kill(process.pid, signal.SIGTERM)
            process.wait(timeout=STOP_TIMEOUT_SECS)
        except subprocess.TimeoutExpired:
            print(f"{child.spec.name} pid={process.pid} did not stop in "
                  f"{STOP_TIMEOUT_SECS:.0f} s; killing it", flush=True)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        except ProcessLookupError:
            pass
    process.wait()


def _exited(children: Sequence[Child]) -> Child | None:
    return next((c for c in children if c.process.poll() is not None), None)


class _StopRequested:
    """Set by SIGINT/SIGTERM; the main loop polls it (a flag is safe in a signal handler)."""

    def __init__(self) -> None:
        self.signum: int | None = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.signum = signum

    def __bool__(self) -> bool:
        return self.signum is not None


def _wait_ready(children: Sequence[Child], stop: _StopRequested) -> str:
    """'ready', 'stopped', 'exited' or 'timeout'."""
    import httpx

    pending = [c for c in children if c.spec.ready_url]
    deadline = time.monotonic() + READY_TIMEOUT_SECS
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if stop:
                return "stopped"
            if _exited(children):
                return "exited"
            if time.monotonic() > deadline:
                return "timeout"
            try:
                response = client.get(pending[0].spec.ready_url or "")
                if response.status_code == 200:
                    pending.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            time.sleep(READY_POLL_SECS)
    return "ready"


def _report_exit(child: Child) -> None:
    code = child.process.returncode
    how = f"signal {-code}" if code is not None and code < 0 else f"code {code}"
    print(f"{child.spec.name} pid={child.process.pid} exited with {how}", file=sys.stderr,
          flush=True)


def up(host: str, port: int, data_dir: Path) -> int:
    from services.launcher import NatsServerError, NatsServerProcess

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    stop = _StopRequested()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    nats = NatsServerProcess(data_dir / "nats", jetstream=True)
    children: list[Child] = []
    status = 1
    try:
        try:
            nats.start(timeout=10)
        except (NatsServerError, OSError) as exc:
            print(f"nats-server did not start: {exc}", file=sys.stderr, flush=True)
            return 1
        print(f"nats-server pid={nats.pid} url={nats.url} log={nats.log_path}", flush=True)
        for spec in plan_children(host=host, port=port, nats_url=nats.url, data_dir=data_dir):
            if stop:
                break
            children.append(_start(spec))

        outcome = "stopped" if stop else _wait_ready(children, stop)
        if outcome == "ready":
            print(f"Tertulia is up: http://{_client_host(host)}:{port}/", flush=True)
            print(f"Data lives in {data_dir} (SQLite databases, signing key, NATS JetStream "
                  f"store in {data_dir / 'nats'}). Press Ctrl-C to stop.", flush=True)
            while not stop and not _exited(children):
                time.sleep(READY_POLL_SECS)
            outcome = "stopped" if stop else "exited"

        if outcome == "stopped":
            status = 0
        elif outcome == "exited":
            exited = _exited(children)
            if exited:
                _report_exit(exited)
        else:
            print(f"Tertulia was not ready within {READY_TIMEOUT_SECS:.0f} s", file=sys.stderr,
                  flush=True)
    finally:
        print("Stopping...", flush=True)
        for child in reversed(children):
            _stop(child)
        nats.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Stopped.", flush=True)
    return status


# --- create-admin ----------------------------------------------------------------------------

def _admin_password(given: str | None) -> str:
    if given:
        return given
    if from_env := os.environ.get("TERTULIA_ADMIN_PASSWORD"):
        return from_env
    password = getpass.getpass("Password: ")
    if getpass.getpass("Repeat password: ") != password:
        raise SystemExit("error: the passwords do not match")
    return password


def create_admin(username: str, password: str | None) -> int:
    from services.chat.bootstrap import create_admin as create
    from services.chat.settings import ChatSettings

    secret = _admin_password(password)
    if not secret:
        raise SystemExit("error: an empty password is not allowed")
    outcome = asyncio.run(create(ChatSettings(), username, secret))
    messages = {
        "created": f"Created admin user {username!r}.",
        "promoted": f"User {username!r} existed; it is now an admin (password unchanged).",
        "exists": f"Admin user {username!r} already exists (password unchanged).",
    }
    print(messages.get(outcome, f"User {username!r}: {outcome}."))
    return 0


# --- argument parsing ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tertulia", description="Tertulia: self-hostable real-time team chat.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve_cmd = commands.add_parser(
        "serve", help="run one service (configuration from environment variables)")
    serve_cmd.add_argument("service", choices=sorted(SERVICES), help="the service to run")
    serve_cmd.add_argument("--host", default=DEFAULT_HOST)
    serve_cmd.add_argument("--port", type=int, default=None, help="default: " + ", ".join(
        f"{name} {entry.default_port}" for name, entry in sorted(SERVICES.items())))

    up_cmd = commands.add_parser(
        "up", help="run everything on this machine (NATS and the services) until Ctrl-C")
    up_cmd.add_argument("--host", default=DEFAULT_HOST)
    up_cmd.add_argument("--port", type=int, default=8080)
    up_cmd.add_argument("--data-dir", type=Path, default=Path("data"),
                        help="databases, signing key and NATS store (default: ./data)")

    admin_cmd = commands.add_parser(
        "create-admin", help="create an administrator account in the chat service's database")
    admin_cmd.add_argument("--username", required=True)
    admin_cmd.add_argument("--password", default=None,
                           help="default: $TERTULIA_ADMIN_PASSWORD, else prompt")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.service, args.host, args.port)
    if args.command == "up":
        return up(args.host, args.port, args.data_dir)
    return create_admin(args.username, args.password)


if __name__ == "__main__":
    raise SystemExit(main())
