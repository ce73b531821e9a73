"""Alembic's entry for notifications's migrations; `shared.migrations.run_env` does the work."""

from services.notifications.migrations import SCHEMA
from shared.migrations import run_env

run_env(SCHEMA)
