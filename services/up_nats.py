"""NATS for `tertulia up`, secure by default: one user per service with the permissions of
`shared/contracts/permissions.py`, random passwords made once per data dir (mode 0600),
handed to nats-server and to each service through their environment only."""

from __future__ import annotations

import json
import os
import secrets
import string
from pathlib import Path

from shared.contracts.permissions import ADMIN_USER, PASSWORD_VARS, SERVICES, render_auth_conf

PASSWORDS_FILE = "nats-passwords.json"
CONFIG_FILE = "nats.conf"
PASSWORD_CHARS = 32


def new_password() -> str:
    """Letters and digits, a letter first (about 190 bits). nats-server parses a `$VAR`
    value as configuration: `12345` would be a number, and a digit or `-` first can fail to
    parse at all (seen: one of secrets.token_urlsafe's stopped the server)."""
    alphabet = string.ascii_letters + string.digits
    return secrets.choice(string.ascii_letters) + "".join(
        secrets.choice(alphabet) for _ in range(PASSWORD_CHARS - 1))


def load_or_create_passwords(data_dir: Path) -> dict[str, str]:
    """User -> password, from `<data_dir>/nats-passwords.json`, created on first run."""
    path = data_dir / PASSWORDS_FILE
    data_dir.mkdir(parents=True, exist_ok=True)
    users = [*SERVICES, ADMIN_USER]
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        stored: dict[str, str] = json.loads(path.read_text())
        if set(users) <= set(stored):
            return stored
        # A user added by a newer version: keep the others' passwords, add its own.
        stored |= {user: new_password() for user in users if user not in stored}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored, indent=2))
        tmp.chmod(0o600)
        tmp.replace(path)
        return stored
    passwords = {user: new_password() for user in users}
    with os.fdopen(fd, "w") as fh:
        json.dump(passwords, fh, indent=2)
    return passwords


def write_server_config(nats_dir: Path) -> Path:
    """The server's configuration (JetStream on, the generated users), rewritten at every
    start so it always matches this code's contracts."""
    nats_dir.mkdir(parents=True, exist_ok=True)
    path = nats_dir / CONFIG_FILE
    path.write_text("# Written by `tertulia up` at every start; see infra/nats for yours.\n"
                    "jetstream: enabled\n" + render_auth_conf())
    return path


def server_env(passwords: dict[str, str]) -> dict[str, str]:
    """The variables the server's configuration reads the passwords from."""
    return {PASSWORD_VARS[user]: password for user, password in passwords.items()}


def service_env(service: str, passwords: dict[str, str]) -> dict[str, str]:
    prefix = service.upper()
    return {f"{prefix}_NATS_USER": service, f"{prefix}_NATS_PASSWORD": passwords[service]}
