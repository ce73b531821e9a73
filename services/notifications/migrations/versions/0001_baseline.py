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


def _ntf_dead_letters() -> None:
    op.create_table(
        "ntf_dead_letters",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("failed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
    )


def _ntf_decisions() -> None:
    op.create_table(
        "ntf_decisions",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.BigInteger(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("suppressed_by", sa.String(length=30), nullable=True),
        sa.Column("notification_id", sa.String(length=40), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("user_id", "message_id", name="uq_ntf_decisions_user_message"),
    )
    op.create_index("ix_ntf_decisions_decided", "ntf_decisions", ["decided_at"], unique=False)
    op.create_index("ix_ntf_decisions_message", "ntf_decisions", ["message_id"], unique=False)


def _ntf_members() -> None:
    op.create_table(
        "ntf_members",
        sa.Column("room_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("read_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "user_id"),
    )
    op.create_index("ix_ntf_members_user", "ntf_members", ["user_id"], unique=False)


def _ntf_notifications() -> None:
    op.create_table(
        "ntf_notifications",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=True),
        sa.Column("broadcast_id", sa.String(length=100), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("read_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("user_id", "message_id", name="uq_ntf_notifications_user_message"),
        sa.UniqueConstraint("user_id", "broadcast_id", name="uq_ntf_notifications_user_broadcast"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_ntf_notifications_message", "ntf_notifications", ["message_id"], unique=False
    )
    op.create_index(
        "ix_ntf_notifications_read_created",
        "ntf_notifications",
        ["read", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_ntf_notifications_user_pk", "ntf_notifications", ["user_id", "pk"], unique=False
    )
    op.create_index(
        "ix_ntf_notifications_user_read", "ntf_notifications", ["user_id", "read"], unique=False
    )


def _ntf_outbox() -> None:
    op.create_table(
        "ntf_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_ntf_outbox_unsent",
        "ntf_outbox",
        ["id"],
        unique=False,
        sqlite_where=sa.text("sent_at IS NULL"),
        postgresql_where=sa.text("sent_at IS NULL"),
    )


def _ntf_preferences() -> None:
    op.create_table(
        "ntf_preferences",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("room_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "room_id"),
    )


def _ntf_processed_events() -> None:
    op.create_table(
        "ntf_processed_events",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("event_id"),
    )
    op.create_index(
        "ix_ntf_processed_events_at", "ntf_processed_events", ["processed_at"], unique=False
    )


def _ntf_rooms() -> None:
    op.create_table(
        "ntf_rooms",
        sa.Column("room_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("room_id"),
    )


def _ntf_users() -> None:
    op.create_table(
        "ntf_users",
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


TABLES = {
    "ntf_dead_letters": _ntf_dead_letters,
    "ntf_decisions": _ntf_decisions,
    "ntf_members": _ntf_members,
    "ntf_notifications": _ntf_notifications,
    "ntf_outbox": _ntf_outbox,
    "ntf_preferences": _ntf_preferences,
    "ntf_processed_events": _ntf_processed_events,
    "ntf_rooms": _ntf_rooms,
    "ntf_users": _ntf_users,
}
