"""Thread participants: who wrote in a thread or was mentioned in one of its replies, so a
new reply notifies them (`thread_reply`). Fed by chat's `message.created` of replies; empty
until the first reply after the upgrade (threads did not exist before).

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


def upgrade() -> None:
    offline = op.get_context().as_sql
    if not offline and sa.inspect(op.get_bind()).has_table("ntf_thread_participants"):
        return  # made at start by this release's code before it kept a version
    op.create_table(
        "ntf_thread_participants",
        sa.Column("root_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("root_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("ntf_thread_participants")
