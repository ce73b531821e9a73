"""Baseline: the schema as the releases before migrations made it.

Those releases created the tables at start (`metadata.create_all`) and kept no version. A
database they made has the tables already and no version table: it is recognised, and only
the tables it lacks are created, so upgrading it keeps every row.
Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    offline = op.get_context().as_sql  # `--sql`: the script for an empty database
    present = set() if offline else set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in TABLES.items():  # in the order foreign keys need
        if name not in present:
            create()


def downgrade() -> None:
    raise NotImplementedError(
        "the baseline is not undone: to go back to a release before "
        "migrations, restore the backup taken before the upgrade"
    )


def _user_presence() -> None:
    op.create_table(
        "user_presence",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("last_activity", sa.DateTime(), nullable=True),
        sa.Column("current_room", sa.Integer(), nullable=True),
        sa.Column("last_seen", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_index("ix_user_presence_status", "user_presence", ["status"], unique=False)


TABLES = {"user_presence": _user_presence}
