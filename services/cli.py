"""`tertulia`: run one service, the whole system on one machine, or an admin chore.

Longer than 300 lines because it is the one command line: every subcommand's arguments are
declared here, side by side, and each hands over to its module at once."""

from __future__ import annotations

import argparse
import asyncio
import copy
import getpass
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.up import DEFAULT_GATEWAY_PORT, DEFAULT_HOST, GATEWAY_CONFIG, UpOptions, up

GRACEFUL_SHUTDOWN_SECS = 10


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


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


# --- serve -----------------------------------------------------------------------------------

# Probes and scrapes every few seconds would drown the access log.
QUIET_ACCESS_PATHS = ("/livez", "/readyz", "/healthz", "/metrics")
# An incoming webhook's URL is its only credential: access lines show it without the secret.
SECRET_PATH_PREFIX = "/api/hooks/"


class QuietProbes(logging.Filter):
    """Drops uvicorn's access-log lines for health probes and metric scrapes, and hides
    the secret of a webhook's path."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        path = args[2] if isinstance(args, tuple) and len(args) > 2 else ""
        if isinstance(path, str) and path.startswith(SECRET_PATH_PREFIX):
            assert isinstance(args, tuple)
            record.args = (*args[:2], SECRET_PATH_PREFIX + "<secret>", *args[3:])
        return not (isinstance(path, str) and path.split("?")[0] in QUIET_ACCESS_PATHS)


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["quiet_probes"] = {"()": QuietProbes}
    config["handlers"]["access"]["filters"] = ["quiet_probes"]
    return config


def serve(name: str, host: str, port: int | None) -> int:
    import uvicorn

    from shared.observability import configure_logging

    entry = SERVICES[name]
    settings = _load(entry.settings)()
    # The process's logging is the command's to set, not the app's: an app made by a test
    # or by another server keeps its caller's handlers. Before uvicorn.run, whose own
    # logging config leaves the root logger and these filters alone.
    configure_logging(settings.log_level, settings.log_json)
    # X-Forwarded-For / -Proto are believed from <P>TRUSTED_PROXIES only, never from
    # uvicorn's own FORWARDED_ALLOW_IPS. Chat also applies the same list in the app
    # (services/chat/adapters/inbound/edge.py, for any server): a second pass over the same
    # headers with the same list finds the same client and scheme.
    uvicorn.run(
        entry.factory,
        factory=True,
        host=host,
        port=port or entry.default_port,
        ws=getattr(settings, "ws_protocol", "auto"),
        ws_max_size=getattr(settings, "ws_max_frame_bytes", 64 * 1024),
        ws_per_message_deflate=False,
        # Protocol-level pings every 20 s; a peer that does not answer in 20 s is dropped.
        ws_ping_interval=getattr(settings, "ws_ping_interval_secs", 20.0),
        ws_ping_timeout=getattr(settings, "ws_ping_interval_secs", 20.0),
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
        log_config=_log_config(),
        log_level=str(getattr(settings, "log_level", "info")).lower(),
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECS,
    )
    return 0


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


def create_admin(username: str, password: str | None, data_dir: Path | None = None,
                 *, reset: bool = False) -> int:
    from services.chat.bootstrap import create_admin as create
    from services.chat.domain import ChatError
    from services.chat.settings import ChatSettings

    secret = _admin_password(password)
    if not secret:
        raise SystemExit("error: an empty password is not allowed")
    # --data-dir means what it means for `tertulia up`: the chat database (and key) there.
    settings = ChatSettings(data_dir=data_dir.resolve()) if data_dir else ChatSettings()
    try:
        outcome = asyncio.run(create(settings, username, secret, reset=reset))
    except ChatError as exc:
        raise SystemExit(f"error: {exc.message}") from exc
    messages = {
        "created": f"Created admin user {username!r}.",
        "promoted": f"User {username!r} existed; it is now an admin (password unchanged).",
        "exists": f"Admin user {username!r} already exists (password unchanged).",
        "password_set": (f"User {username!r} has this password now; its sessions are "
                         "revoked." if reset else f"User {username!r} had no password "
                         "(imported); it is now an admin with this password."),
    }
    print(messages.get(outcome, f"User {username!r}: {outcome}."))
    return 0


# --- demo ------------------------------------------------------------------------------------

def demo(url: str, data_dir: Path) -> int:
    from services.demo import DemoError, fill_demo

    try:
        lines = asyncio.run(fill_demo(url, data_dir.resolve()))
    except DemoError as exc:
        print(f"tertulia demo: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
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
        "up", help="run everything on this machine (NATS, the services and the gateway) "
                   "until Ctrl-C")
    up_cmd.add_argument("--host", default=DEFAULT_HOST,
                        help="where the gateway listens (default: %(default)s)")
    up_cmd.add_argument("--port", type=int, default=DEFAULT_GATEWAY_PORT,
                        help="the gateway's port, the one URL to open (default: %(default)s)")
    # $DATA_DIR as for `serve`: the image sets it to its volume, /data.
    up_cmd.add_argument("--data-dir", type=Path, default=Path(os.environ.get("DATA_DIR", "data")),
                        help="databases, signing key and NATS store (default: $DATA_DIR, "
                             "else ./data)")
    up_cmd.add_argument("--chat-replicas", type=int, default=None, metavar="N",
                        help="chat service processes behind the gateway (default: 1; "
                             "3 with --ha)")
    up_cmd.add_argument("--instances", type=int, default=None, metavar="N",
                        help="processes of presence, notifications and the dashboard each "
                             "(default: 1; 2 with --ha); more than 1 needs --postgres")
    up_cmd.add_argument("--nats-nodes", type=int, default=None, metavar="N",
                        help="NATS servers, clustered on loopback, EVENTS and the KV buckets "
                             "replicated on up to 3 (default: 1; 3 with --ha)")
    up_cmd.add_argument("--postgres", default=None, metavar="URL",
                        help="a PostgreSQL server (postgresql://user@host:port/db, db being "
                             "one to connect to): every service on a database of its own "
                             "there, created when missing (default: SQLite in the data dir)")
    up_cmd.add_argument("--postgres-prefix", default="tertulia", metavar="NAME",
                        help="the databases' names: NAME_chat, NAME_presence, ... "
                             "(default: %(default)s)")
    up_cmd.add_argument("--ha", action="store_true",
                        help="as a cluster runs it, on this machine: 3 NATS nodes, 3 chat "
                             "replicas, 2 of every other service, on --postgres")
    for name in ("chat", "presence", "notifications", "dashboard", "nats"):
        up_cmd.add_argument(f"--{name}-port", type=int, default=None, metavar="PORT",
                            help=f"{name}'s own port on 127.0.0.1 (default: a free port"
                                 + ("; further replicas count up" if name == "chat" else "")
                                 + ")")
    up_cmd.add_argument("--gateway-config", type=Path, default=GATEWAY_CONFIG,
                        help="the Caddyfile (default: services/gateway/Caddyfile)")
    up_cmd.add_argument("--demo", action="store_true",
                        help="once up, fill an empty system with demo users, rooms and "
                             "messages, and print the logins")

    up_cmd.add_argument("--log-format", choices=("text", "json"), default="text",
                        help="text: readable lines (time, process, level, message; access "
                             "lines left out); json: every line as the process wrote it "
                             "(default: %(default)s)")

    demo_cmd = commands.add_parser(
        "demo", help="fill a running, empty system with demo users, rooms and a conversation")
    demo_cmd.add_argument("--url", default=f"http://{DEFAULT_HOST}:{DEFAULT_GATEWAY_PORT}/",
                          help="the gateway (default: %(default)s)")
    demo_cmd.add_argument("--data-dir", type=Path, default=Path("data"),
                          help="the chat service's data directory, to make the demo admin "
                               "(default: ./data)")

    migrate_cmd = commands.add_parser(
        "migrate", help="bring each service's database to its latest schema revision "
                        "(settings from environment variables, as `serve` reads them)")
    migrate_cmd.add_argument("services", nargs="*", metavar="SERVICE",
                             help=f"one of {', '.join(sorted(SERVICES))} (default: all four)")
    migrate_cmd.add_argument("--data-dir", type=Path, default=None,
                             help="the data directory `tertulia up --data-dir` was given "
                                  "(default: each service's <P>DATA_DIR or $DATA_DIR, else "
                                  "./data)")

    admin_cmd = commands.add_parser(
        "create-admin", help="create an administrator account in the chat service's database")
    admin_cmd.add_argument("--username", required=True)
    admin_cmd.add_argument("--password", default=None,
                           help="default: $TERTULIA_ADMIN_PASSWORD, else prompt")
    admin_cmd.add_argument("--data-dir", type=Path, default=None,
                           help="the data directory `tertulia up --data-dir` was given "
                                "(default: $CHAT_DATA_DIR or $DATA_DIR, else ./data)")

    from services.backup import add_commands as add_backup_commands

    add_backup_commands(commands)
    from services.exchange import add_commands as add_exchange_commands

    add_exchange_commands(commands)
    return parser


def _or(given: int | None, default: int) -> int:
    return default if given is None else given


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args.service, args.host, args.port)
    if args.command == "up":
        return up(UpOptions(
            host=args.host, port=args.port, data_dir=args.data_dir,
            chat_replicas=_or(args.chat_replicas, 3 if args.ha else 1),
            instances=_or(args.instances, 2 if args.ha else 1),
            nats_nodes=_or(args.nats_nodes, 3 if args.ha else 1),
            postgres=args.postgres, postgres_prefix=args.postgres_prefix,
            chat_port=args.chat_port,
            presence_port=args.presence_port, notifications_port=args.notifications_port,
            dashboard_port=args.dashboard_port, nats_port=args.nats_port,
            gateway_config=args.gateway_config, demo=args.demo,
            log_format=args.log_format))
    if args.command == "migrate":
        from services.migrate import migrate

        return migrate(args.services, args.data_dir)
    if args.command == "demo":
        return demo(args.url, args.data_dir)
    if args.command in ("backup", "restore"):
        from services.backup import run as run_backup_command

        return run_backup_command(args)
    if args.command in ("export", "import"):
        from services.exchange import run as run_exchange_command

        return run_exchange_command(args)
    return create_admin(args.username, args.password, args.data_dir,
                        reset=args.command == "set-password")


if __name__ == "__main__":
    raise SystemExit(main())
