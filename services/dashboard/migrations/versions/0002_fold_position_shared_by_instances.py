"""Fold position shared by instances: several dashboard instances share one database.

`fold_position` says how far the database has folded EVENTS (instances start after it);
`processed_events.seq` which stream message counted an event id. An existing database gets
no position: its next start folds the stream from the first event, and every id it already
counted (seq null) counts nothing again.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 05:24:18.865311
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "fold_position",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table("processed_events", schema=None) as batch_op:
        batch_op.drop_column("seq")

    op.drop_table("fold_position")
