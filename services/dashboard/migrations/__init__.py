"""The dashboard's schema migrations (Alembic): `versions/` holds one revision per schema
change, `env.py` hands them to `shared.migrations`. Every change to `sqla_tables.py` comes
with a revision here (docs/architecture.md, "Schema migrations")."""

from pathlib import Path

from services.dashboard.adapters.outbound.sqla_tables import metadata
from services.dashboard.settings import DashboardSettings
from shared.migrations import ServiceSchema

SCHEMA = ServiceSchema("dashboard", Path(__file__).resolve().parent, metadata,
                       default_url=lambda: DashboardSettings().resolved_database_url())
