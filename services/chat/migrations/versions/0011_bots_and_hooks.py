"""Bots and incoming webhooks (issue 17): users.is_bot, chat_bot_tokens, chat_hooks, and
chat_messages.author_label (a webhook's per-message name).

Revision ID: 0011
Revises: 0008 (0007 on its own branch; the lead re-chains 0008 → 0009 → 0010 → 0011)
Create Date: 2026-12-03 09:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("is_bot", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("author_label", sa.String(length=64), nullable=True))
    op.create_table(
        "chat_bot_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["bot_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("chat_bot_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_chat_bot_tokens_bot", ["bot_id"], unique=False)
    op.create_table(
        "chat_hooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("bot_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["bot_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["room_id"], ["chat_rooms.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("chat_hooks", schema=None) as batch_op:
        batch_op.create_index("ix_chat_hooks_room", ["room_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("chat_hooks", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_hooks_room")
    op.drop_table("chat_hooks")
    with op.batch_alter_table("chat_bot_tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_chat_bot_tokens_bot")
    op.drop_table("chat_bot_tokens")
    with op.batch_alter_table("chat_messages", schema=None) as batch_op:
        batch_op.drop_column("author_label")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("is_bot")
