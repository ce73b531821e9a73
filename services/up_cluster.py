"""`tertulia up --ha`: the parts of the system that run several times on one machine.

A NATS cluster of N `nats-server` processes on loopback (each its own store, routes to the
others, the same users as a single node), and a PostgreSQL database per service, created on
the server `--postgres` names when missing. With these, `up` can start several instances of
every service as a cluster would, so losing any one process can be tried on a laptop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

SERVICE_NAMES = ("chat", "presence", "notifications", "dashboard")
CLUSTER_NAME = "tertulia"


@dataclass(frozen=True, slots=True)
class NatsNode:
    name: str
    client_port: int
    cluster_port: int
    store_dir: Path

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"


def plan_nats_nodes(count: int, nats_dir: Path, first_port: int | None,
                    port_of: Callable[[int | None, str], int]) -> list[NatsNode]:
    """`count` nodes; client ports from `first_port` counting up (or free ones), cluster
    ports always free ones. One node is the single server `up` has always started."""
    nodes = []
    for index in range(count):
        wanted = first_port + index if first_port is not None else None
        name = "nats" if count == 1 else f"nats-{index + 1}"
        nodes.append(NatsNode(
            name=name, client_port=port_of(wanted, f"NATS node {index + 1}"),
            cluster_port=port_of(None, f"NATS node {index + 1} (cluster)") if count > 1 else 0,
            store_dir=nats_dir / "jetstream" if count == 1 else nats_dir / name / "jetstream"))
    return nodes


def node_argv(node: NatsNode, nodes: list[NatsNode], config: Path) -> list[str]:
    """nats-server's arguments for `node` (after the binary): the shared configuration, and
    for a cluster its name, its route port and the routes to the other nodes."""
    argv = ["-c", str(config), "-a", "127.0.0.1", "-p", str(node.client_port),
            "-sd", str(node.store_dir)]
    if len(nodes) > 1:
        routes = ",".join(f"nats://127.0.0.1:{other.cluster_port}"
                          for other in nodes if other is not node)
        argv += ["-n", node.name, "--cluster_name", CLUSTER_NAME,
                 "--cluster", f"nats://127.0.0.1:{node.cluster_port}", "--routes", routes]
    return argv


def replication_env(nodes: int) -> dict[str, str]:
    """Every service the same stream and bucket replicas (each brings EVENTS to its own
    values at start: they must agree), as many as there are nodes, at most 3."""
    replicas = str(min(nodes, 3))
    env = {}
    for service in SERVICE_NAMES:
        env[f"{service.upper()}_EVENTS_REPLICAS"] = replicas
        env[f"{service.upper()}_KV_REPLICAS"] = replicas
    return env


def database_urls(server: str, prefix: str) -> dict[str, str]:
    """Each service's database on the PostgreSQL server `server` (any database URL of it:
    its database is only where `ensure_databases` connects): `<prefix>_<service>`. One
    database per service: chat and the dashboard both have a `users` table."""
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,40}", prefix):
        raise ValueError(f"--postgres-prefix {prefix!r}: lower-case letters, digits and _, "
                         "a letter first")
    base = _asyncpg(make_url(server))
    return {service: base.set(database=f"{prefix}_{service}")
            .render_as_string(hide_password=False) for service in SERVICE_NAMES}


def _asyncpg(url: URL) -> URL:
    if not url.drivername.startswith("postgresql"):
        raise ValueError(f"--postgres wants a postgresql:// URL, not {url.drivername}://")
    return url.set(drivername="postgresql+asyncpg")


async def ensure_databases(server: str, urls: Mapping[str, str]) -> list[str]:
    """Create the databases of `urls` that the server does not have yet; returns their
    names. CREATE DATABASE cannot run in a transaction, so on a connection of its own."""
    import asyncpg

    admin = _asyncpg(make_url(server)).set(drivername="postgresql")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    created = []
    try:
        existing = {row["datname"] for row in await conn.fetch("SELECT datname FROM pg_database")}
        for url in urls.values():
            name = make_url(url).database
            if name and name not in existing:
                await conn.execute(f'CREATE DATABASE "{name}"')
                created.append(name)
    finally:
        await conn.close()
    return created
