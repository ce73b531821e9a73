"""Alembic's entry for chat's migrations; `shared.migrations.run_env` does the work."""

from services.chat.migrations import SCHEMA
from shared.migrations import run_env

run_env(SCHEMA)
