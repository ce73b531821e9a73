"""Alembic's entry for dashboard's migrations; `shared.migrations.run_env` does the work."""

from services.dashboard.migrations import SCHEMA
from shared.migrations import run_env

run_env(SCHEMA)
