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


def _broadcasts() -> None:
    op.create_table(
        "broadcasts",
        sa.Column("broadcast_id", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("sent_by", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.Column("total_connections", sa.Integer(), nullable=False),
        sa.Column("expected_replicas", sa.JSON(), nullable=False),
        sa.Column("receipts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("broadcast_id"),
    )
    op.create_index("ix_broadcasts_sent_at", "broadcasts", ["sent_at"], unique=False)


def _minute_counts() -> None:
    op.create_table(
        "minute_counts",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("minute", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", "minute"),
    )
    op.create_index("ix_minute_counts_minute", "minute_counts", ["minute"], unique=False)


def _processed_events() -> None:
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index(
        "ix_processed_events_processed_at", "processed_events", ["processed_at"], unique=False
    )


def _rooms() -> None:
    op.create_table(
        "rooms",
        sa.Column("room_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("room_id"),
    )


def _service_instances() -> None:
    op.create_table(
        "service_instances",
        sa.Column("service", sa.String(length=64), nullable=False),
        sa.Column("instance_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.Column("interval_secs", sa.Float(), nullable=False),
        sa.Column("ready", sa.Boolean(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("service", "instance_id"),
    )


def _users() -> None:
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_at", sa.DateTime(), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("registered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id"),
    )


TABLES = {
    "broadcasts": _broadcasts,
    "minute_counts": _minute_counts,
    "processed_events": _processed_events,
    "rooms": _rooms,
    "service_instances": _service_instances,
    "users": _users,
}
