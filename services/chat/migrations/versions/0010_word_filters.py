"""Word filters (issue 17): chat_word_filters (rules of the server or a room) and
chat_held_messages (posts a `hold` rule stopped, until a moderator decides).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
# On its branch this follows 0009 (i17-admin's, merged in for the admin page); the lead
# re-chains 0008 -> 0009 -> 0010 -> 0011 at merge.
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chat_word_filters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=True),
        sa.Column("pattern", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["chat_rooms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chat_word_filters", schema=None) as batch_op:
        batch_op.create_index("ix_chat_word_filters_room", ["room_id"], unique=False)
    op.create_table(
        "chat_held_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("client_msg_id", sa.String(length=64), nullable=True),
        sa.Column("thread_root_id", _BIG_ID, nullable=True),
        sa.Column("also_send_to_room", sa.Boolean(), nullable=False,
                  server_default=sa.false()),
        sa.Column("attachment_ids", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("message_id", _BIG_ID, nullable=True),
        sa.ForeignKeyConstraint(["room_id"], ["chat_rooms.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chat_held_messages", schema=None) as batch_op:
        batch_op.create_index("ix_chat_held_messages_room", ["room_id", "status", "id"],
                              unique=False)
        batch_op.create_index("ix_chat_held_messages_user", ["user_id", "client_msg_id"],
                              unique=False)


def downgrade() -> None:
    op.drop_table("chat_held_messages")
    op.drop_table("chat_word_filters")
