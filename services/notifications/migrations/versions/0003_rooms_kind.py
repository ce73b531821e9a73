"""Direct messages: `ntf_rooms.kind`, "room" or "dm" as chat's RoomCreated says (every
room already known is a room), so a DM's members are notified of every message by default.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 13:55:01.669518
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # Only when missing: a database whose tables a newer `create_all` made before it had a
    # version (a baseline case, see 0001) has it already.
    if not op.get_context().as_sql:
        if "kind" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("ntf_rooms")}:
            return
    with op.batch_alter_table("ntf_rooms", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=10), server_default="room", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("ntf_rooms", schema=None) as batch_op:
        batch_op.drop_column("kind")
