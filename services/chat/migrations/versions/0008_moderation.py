"""Moderation (issue 17): the audit log (chat_audit), mutes and bans (chat_sanctions, with
the hot path's copies users.muted_until and room_members.muted_until), slow mode
(chat_rooms.slow_mode_secs, room_members.last_post_at) and reports (chat_reports).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 09:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("target_type", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chat_audit", schema=None) as batch_op:
        batch_op.create_index("ix_chat_audit_action", ["action", "id"], unique=False)
        batch_op.create_index("ix_chat_audit_actor", ["actor_id", "id"], unique=False)
        batch_op.create_index("ix_chat_audit_room", ["room_id", "id"], unique=False)
    op.create_table(
        "chat_sanctions",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("until", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("kind", "room_id", "user_id"),
    )
    with op.batch_alter_table("chat_sanctions", schema=None) as batch_op:
        batch_op.create_index("ix_chat_sanctions_user", ["user_id"], unique=False)
    op.create_table(
        "chat_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", BIG_ID, nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=10), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("open_key", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resolved_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["room_id"], ["chat_rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("open_key", name="uq_chat_reports_open_key"),
    )
    with op.batch_alter_table("chat_reports", schema=None) as batch_op:
        batch_op.create_index("ix_chat_reports_status_room", ["status", "room_id", "id"],
                              unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("muted_until", sa.DateTime(), nullable=True))
    with op.batch_alter_table("chat_rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slow_mode_secs", sa.Integer(), nullable=False,
                                      server_default=sa.text("0")))
    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("muted_until", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_post_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("room_members", schema=None) as batch_op:
        batch_op.drop_column("last_post_at")
        batch_op.drop_column("muted_until")
    with op.batch_alter_table("chat_rooms", schema=None) as batch_op:
        batch_op.drop_column("slow_mode_secs")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("muted_until")
    op.drop_table("chat_reports")
    op.drop_table("chat_sanctions")
    op.drop_table("chat_audit")
