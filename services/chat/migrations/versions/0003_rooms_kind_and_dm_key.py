"""Direct messages: `chat_rooms.kind` ("room" or "dm"; every room already there is a
room) and `chat_rooms.dm_key`, a DM's people as sorted ids ("3,7,12"), unique, so two people
opening the same DM at once still make one. SQLite adds the constraint by copying the table
(batch mode), which keeps every row.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:52:27.294486
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Only what is missing: a database whose tables a newer `create_all` made before it had
    # a version (a baseline case, see 0001) may have these already.
    present: set[str] = set()
    if not op.get_context().as_sql:
        present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("chat_rooms")}
    if {"kind", "dm_key"} <= present:
        return
    with op.batch_alter_table("chat_rooms", schema=None) as batch_op:
        if "kind" not in present:
            batch_op.add_column(
                sa.Column("kind", sa.String(length=10), server_default="room", nullable=False)
            )
        if "dm_key" not in present:
            batch_op.add_column(sa.Column("dm_key", sa.String(length=100), nullable=True))
            batch_op.create_unique_constraint("uq_chat_rooms_dm_key", ["dm_key"])


def downgrade() -> None:
    with op.batch_alter_table("chat_rooms", schema=None) as batch_op:
        batch_op.drop_constraint("uq_chat_rooms_dm_key", type_="unique")
        batch_op.drop_column("dm_key")
        batch_op.drop_column("kind")
