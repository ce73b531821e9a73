"""What the SQLAlchemy stores of notifications share: their connection, and the upsert
both databases speak."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def upsert(conn: AsyncConnection, table: Table) -> Any:
    """INSERT ... ON CONFLICT, which both our databases speak in their own dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


class SqlaStore:
    def __init__(self, conn: AsyncConnection) -> None:
        self._c = conn
