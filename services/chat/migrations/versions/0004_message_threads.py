"""Threads: a reply names its root (`thread_root_id`, `also_send_to_room`); a root keeps
its `reply_count` and `last_reply_at`. Existing rows are messages of their room's timeline
with no replies.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def _columns() -> list[sa.Column[object]]:
    return [
        sa.Column("thread_root_id", sa.BigInteger(), nullable=True),
        sa.Column("also_send_to_room", sa.Boolean(), nullable=False,
                  server_default=sa.false()),
        sa.Column("reply_count", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_reply_at", sa.DateTime(), nullable=True),
    ]


INDEX = "ix_chat_messages_thread_seq"


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite takes a NOT NULL column with a constant default): no copy
    # of the table, however many messages it holds. A database whose tables were created
    # at start by the code of this release, before it kept a version, has them already.
    offline = op.get_context().as_sql
    inspector = None if offline else sa.inspect(op.get_bind())
    present = set() if inspector is None else {
        c["name"] for c in inspector.get_columns("chat_messages")}
    for column in _columns():
        if column.name not in present:
            op.add_column("chat_messages", column)
    indexes = set() if inspector is None else {
        i["name"] for i in inspector.get_indexes("chat_messages")}
    if INDEX not in indexes:
        op.create_index(INDEX, "chat_messages", ["thread_root_id", "seq"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="chat_messages")
    with op.batch_alter_table("chat_messages") as batch:
        batch.drop_column("last_reply_at")
        batch.drop_column("reply_count")
        batch.drop_column("also_send_to_room")
        batch.drop_column("thread_root_id")
