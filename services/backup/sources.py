"""Where the running system keeps what a backup saves: each service's settings (as `tertulia
serve` reads them, `--data-dir` overriding DATA_DIR as for `tertulia up`), and the NATS
connection an operator tool uses."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from shared.db import is_sqlite

# In this order (see `services/backup/make.py`): a service's database before the databases
# of the services whose events it applies. The dashboard applies every event,
# notifications chat's and the dashboard's; presence applies none.
SERVICES = ("dashboard", "notifications", "chat", "presence")
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
ADMIN_USER_ENV = "TERTULIA_NATS_ADMIN_USER"
ADMIN_PASSWORD_ENV = "TERTULIA_NATS_ADMIN_PASSWORD"
ADMIN_USER = "admin"
# Where `tertulia up` keeps the passwords of the NATS users it makes (services/up_nats.py).
UP_PASSWORDS_FILE = "nats-passwords.json"


def service_settings(name: str, data_dir: Path | None) -> Any:
    if name == "chat":
        from services.chat.settings import ChatSettings as Settings
    elif name == "notifications":
        from services.notifications.settings import NotificationsSettings as Settings
    elif name == "dashboard":
        from services.dashboard.settings import DashboardSettings as Settings
    else:
        from services.presence.settings import PresenceSettings as Settings
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


@dataclass(frozen=True, slots=True)
class Database:
    service: str
    url: str

    @property
    def sqlite_path(self) -> Path | None:
        """The file, for SQLite; None for a server database (PostgreSQL)."""
        if not is_sqlite(self.url):
            return None
        return Path(make_url(self.url).database or "")

    @property
    def file_name(self) -> str:
        """Its name in a backup and in a restored data directory: the default layout's."""
        return f"{self.service}.db"

    def redacted(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


def databases(data_dir: Path | None) -> list[Database]:
    return [Database(name, service_settings(name, data_dir).resolved_database_url())
            for name in SERVICES]


@dataclass(frozen=True, slots=True)
class SigningKey:
    path: Path
    from_env: bool  # CHAT_SIGNING_KEY_PEM: the key is the deployment's secret, not a file here


def signing_key(data_dir: Path | None) -> SigningKey:
    chat = service_settings("chat", data_dir)
    return SigningKey(chat.resolved_signing_key_file(), chat.signing_key_pem is not None)


def nats_options(url: str | None, data_dir: Path | None = None) -> dict[str, Any]:
    """nats-py connect options: the servers (comma-separated), and the admin user's
    credentials: TERTULIA_NATS_ADMIN_PASSWORD (user `admin` unless TERTULIA_NATS_ADMIN_USER
    says otherwise), else the `admin` password `tertulia up` keeps for its own NATS in
    `<data_dir>/nats-passwords.json`, else none. No reconnecting: a one-shot tool fails
    fast."""
    servers = [s.strip() for s in (url or os.environ.get("NATS_URL") or DEFAULT_NATS_URL)
               .split(",") if s.strip()]
    options: dict[str, Any] = {"servers": servers, "connect_timeout": 5,
                               "allow_reconnect": False, "max_reconnect_attempts": 0}
    password = os.environ.get(ADMIN_PASSWORD_ENV)
    user = os.environ.get(ADMIN_USER_ENV)
    if not password and data_dir is not None:
        password = _up_admin_password(data_dir)
    if password:
        options["user"] = user or ADMIN_USER
        options["password"] = password
    elif user:
        options["user"] = user
    return options


def _up_admin_password(data_dir: Path) -> str | None:
    try:
        stored = json.loads((data_dir / UP_PASSWORDS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    password = stored.get(ADMIN_USER) if isinstance(stored, dict) else None
    return password if isinstance(password, str) and password else None


def redacted_servers(options: dict[str, Any]) -> str:
    """The servers without any credentials a URL carried (nats://user:pass@host)."""
    return ",".join(re.sub(r"//[^/@]*@", "//***@", server) for server in options["servers"])
