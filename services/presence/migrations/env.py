"""Alembic's entry for presence's migrations; `shared.migrations.run_env` does the work."""

from services.presence.migrations import SCHEMA
from shared.migrations import run_env

run_env(SCHEMA)
