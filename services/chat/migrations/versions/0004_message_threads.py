"""Threads: a reply names its root (`thread_root_id`, `also_send_to_room`); a root keeps
its `reply_count` and `last_reply_at`. Existing rows are messages of their room's timeline
with no replies.

Revision ID: 0004
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_messages") as batch:
        batch.add_column(sa.Column("thread_root_id", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("also_send_to_room", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("reply_count", sa.Integer(), nullable=False,
                                   server_default=sa.text("0")))
        batch.add_column(sa.Column("last_reply_at", sa.DateTime(), nullable=True))
    op.create_index("ix_chat_messages_thread_seq", "chat_messages",
                    ["thread_root_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_chat_messages_thread_seq", table_name="chat_messages")
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_column("last_reply_at")
        batch.drop_column("reply_count")
        batch.drop_column("also_send_to_room")
        batch.drop_column("thread_root_id")
