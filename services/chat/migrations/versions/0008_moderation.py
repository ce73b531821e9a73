"""Moderation (issue 17): the audit log (chat_audit).

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


def downgrade() -> None:
    op.drop_table("chat_audit")
