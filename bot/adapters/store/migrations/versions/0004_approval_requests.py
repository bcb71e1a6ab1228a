"""The record of approval requests mailed to approvers (each approver is asked once per draft).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Types are spelled out here (not imported from store/outbox.py) so this revision never changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("draft_id", sa.String(64), nullable=False),
        sa.Column("approver", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("sent_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("draft_id", "approver", name="pk_approval_requests"),
    )


def downgrade() -> None:
    op.drop_table("approval_requests")
