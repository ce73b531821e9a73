"""Presence's schema migrations (Alembic): `versions/` holds one revision per schema change,
`env.py` hands them to `shared.migrations`. Every change to the `user_presence` table in
`sqla_records.py` comes with a revision here (docs/architecture.md, "Schema migrations")."""

from pathlib import Path

from services.presence.adapters.outbound.sqla_records import metadata
from services.presence.settings import PresenceSettings
from shared.migrations import ServiceSchema

SCHEMA = ServiceSchema("presence", Path(__file__).resolve().parent, metadata,
                       default_url=lambda: PresenceSettings().resolved_database_url())
