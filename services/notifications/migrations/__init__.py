"""Notifications' schema migrations (Alembic): `versions/` holds one revision per schema
change, `env.py` hands them to `shared.migrations`. Every change to `sqla_tables.py` comes
with a revision here (docs/architecture.md, "Schema migrations")."""

from pathlib import Path

from services.notifications.adapters.outbound.sqla_tables import metadata
from services.notifications.settings import NotificationsSettings
from shared.migrations import ServiceSchema

SCHEMA = ServiceSchema("notifications", Path(__file__).resolve().parent, metadata,
                       default_url=lambda: NotificationsSettings().resolved_database_url())
