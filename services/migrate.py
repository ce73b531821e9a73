"""`tertulia migrate [SERVICE ...]`: each service's database to its latest schema revision.

Each service's settings come from the environment as `tertulia serve` reads them
(`<P>DATABASE_URL`, else the SQLite file under `<P>DATA_DIR` or `DATA_DIR`); `--data-dir`
(and `tertulia up`) sets the data directory instead. The work is `shared.migrations.upgrade`,
the same a service does at start.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.db import Database
from shared.migrations import ServiceSchema, shown_url, upgrade

SERVICE_NAMES = ("chat", "presence", "notifications", "dashboard")


def schema_of(name: str) -> ServiceSchema:
    schema: ServiceSchema = importlib.import_module(f"services.{name}.migrations").SCHEMA
    return schema


def _settings(name: str, data_dir: Path | None, database_url: str | None = None) -> Any:
    cls = getattr(importlib.import_module(f"services.{name}.settings"),
                  f"{name.capitalize()}Settings")
    given = {"data_dir": data_dir, "database_url": database_url}
    return cls(**{key: value for key, value in given.items() if value is not None})


async def migrate_services(names: Sequence[str], say: Callable[[str], None],
                           fail: Callable[[str], None], *, data_dir: Path | None = None,
                           database_urls: Mapping[str, str] | None = None) -> bool:
    """Migrate each of `names` in turn; say what each got, or why it failed. True if all
    are at their latest revision. One failing does not stop the others: they are
    independent databases."""
    ok = True
    for name in names:
        url = _settings(name, data_dir, (database_urls or {}).get(name)
                        ).resolved_database_url()
        db = Database(url)
        try:
            await db.prepare()
            say((await upgrade(db, schema_of(name))).describe())
        except Exception as exc:  # the message is the operator's to read, not a traceback
            fail(str(exc) if str(exc).startswith(f"{name}:")
                 else f"{name} ({shown_url(url)}): migration failed: {exc!r}")
            ok = False
        finally:
            await db.dispose()
    return ok


def migrate(names: Sequence[str], data_dir: Path | None = None) -> int:
    def fail(message: str) -> None:
        print(f"tertulia migrate: {message}", file=sys.stderr, flush=True)

    if unknown := sorted(set(names) - set(SERVICE_NAMES)):
        fail(f"unknown service {', '.join(unknown)} (choose from {', '.join(SERVICE_NAMES)})")
        return 2
    done = asyncio.run(migrate_services(names or SERVICE_NAMES, print, fail,
                                        data_dir=data_dir.resolve() if data_dir else None))
    return 0 if done else 1
