"""Chat's schema migrations (Alembic): `versions/` holds one revision per schema change,
`env.py` hands them to `shared.migrations`. Every change to `sqla_tables.py` comes with a
revision here (docs/architecture.md, "Schema migrations")."""

from pathlib import Path

from services.chat.adapters.outbound.sqla_tables import metadata
from services.chat.settings import ChatSettings
from shared.migrations import ServiceSchema

SCHEMA = ServiceSchema("chat", Path(__file__).resolve().parent, metadata,
                       default_url=lambda: ChatSettings().resolved_database_url())
