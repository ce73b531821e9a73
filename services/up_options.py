"""What `tertulia up` is asked for (`UpOptions`), what it will start (`UpPlan`), and the one
line it says when it cannot (`UpError`): shared by planning (`services/up.py`) and running
(`services/up_run.py`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from services.supervisor import ProcessSpec

DEFAULT_HOST = "127.0.0.1"
DEFAULT_GATEWAY_PORT = 8080
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
    nats_port: int | None = None  # the first node's, with nats_nodes > 1; the next count up
    # `--ha` (services/up_cluster.py): NATS nodes in a cluster, instances of presence,
    # notifications and the dashboard each, and the PostgreSQL server the services share
    # (a database per service, `<postgres_prefix>_<service>`); None: SQLite in data_dir.
    nats_nodes: int = 1
    instances: int = 1
    postgres: str | None = None
    postgres_prefix: str = "tertulia"
    gateway_config: Path = GATEWAY_CONFIG
    demo: bool = False
    # "text": readable console lines (services/console.py); "json": every line as written.
    log_format: str = "text"


@dataclass(frozen=True, slots=True)
class UpPlan:
    """What `up` starts, stage by stage; a stage starts once the previous one is ready."""

    stages: list[list[ProcessSpec]]
    url: str
    # Each service's PostgreSQL database (--postgres); empty: SQLite in the data dir.
    database_urls: dict[str, str] = field(default_factory=dict)


class UpError(RuntimeError):
    """Something `up` can say in one line before starting anything."""
