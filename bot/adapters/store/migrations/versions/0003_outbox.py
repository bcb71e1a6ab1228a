"""The outbox (exactly-once sending) and the record of used approval tokens.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Types are spelled out here (not imported from store/outbox.py) so this revision never changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("draft_id", sa.String(64), nullable=False),
        sa.Column("mailbox", sa.String(100), nullable=False),
        sa.Column("order_ids", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("sender", sa.String(320), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("journal", sa.String(320), nullable=True),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("lease_owner", sa.String(100), nullable=True),
        sa.Column("lease_until", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("draft_id", name="uq_outbox_draft_id"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_state_next_attempt_at", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_mailbox_sent_at", "outbox", ["mailbox", "sent_at"])
    op.create_table(
        "approval_uses",
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("draft_id", sa.String(64), nullable=False),
        sa.Column("approver", sa.String(320), nullable=False),
        sa.Column("command", sa.String(20), nullable=False),
        sa.Column("used_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("token", name="pk_approval_uses"),
    )
    op.create_index("ix_approval_uses_draft_id", "approval_uses", ["draft_id"])


def downgrade() -> None:
    op.drop_table("approval_uses")
    op.drop_table("outbox")
