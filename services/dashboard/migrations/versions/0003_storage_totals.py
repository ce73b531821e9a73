"""Storage totals: the bytes and files chat keeps, per kind (attachment, avatar).

Summed from `events.chat.file.stored` and `events.chat.file.deleted`; an existing database
starts with none and the fold adds the file events after its position.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "storage_totals",
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("files", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )


def downgrade() -> None:
    op.drop_table("storage_totals")
