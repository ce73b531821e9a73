"""Reactions, pins and the editing history of messages (issue 15): three new tables.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 13:52:40.958729
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "message_edits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("previous_content", sa.Text(), nullable=False),
        sa.Column("new_content", sa.Text(), nullable=True),
        sa.Column("edited_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["editor_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("message_edits", schema=None) as batch_op:
        batch_op.create_index("ix_message_edits_message", ["message_id", "id"], unique=False)

    op.create_table(
        "message_pins",
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("pinned_by", sa.Integer(), nullable=True),
        sa.Column("pinned_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["pinned_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["room_id"], ["chat_rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id"),
    )
    with op.batch_alter_table("message_pins", schema=None) as batch_op:
        batch_op.create_index(
            "ix_message_pins_room_pinned_at", ["room_id", "pinned_at"], unique=False
        )

    op.create_table(
        "message_reactions",
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("emoji", sa.String(length=64), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["chat_messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("message_id", "user_id", "emoji"),
    )


def downgrade() -> None:
    op.drop_table("message_reactions")
    with op.batch_alter_table("message_pins", schema=None) as batch_op:
        batch_op.drop_index("ix_message_pins_room_pinned_at")

    op.drop_table("message_pins")
    with op.batch_alter_table("message_edits", schema=None) as batch_op:
        batch_op.drop_index("ix_message_edits_message")

    op.drop_table("message_edits")
