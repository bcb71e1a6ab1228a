"""The planning tick: drafts, the orders each draft speaks for, tick state, orders.next_due_at.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Types are spelled out here (not imported from tables.py) so this revision never changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("next_due_at", TS, nullable=True))
        batch.create_index("ix_orders_next_due_at", ["next_due_at"])
    _drafts()
    op.create_table(
        "draft_orders",
        sa.Column("draft_id", sa.String(64), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.draft_id"], name="fk_draft_orders_draft_id_drafts"
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.order_id"], name="fk_draft_orders_order_id_orders"
        ),
        sa.PrimaryKeyConstraint("draft_id", "order_id", name="pk_draft_orders"),
    )
    op.create_index("ix_draft_orders_order_id", "draft_orders", ["order_id"])
    pending = sa.text("status = 'pending'")
    op.create_index(
        "uq_draft_orders_one_pending",
        "draft_orders",
        ["order_id"],
        unique=True,
        sqlite_where=pending,
        postgresql_where=pending,
    )
    op.create_table(
        "tick_state",
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_tick_state"),
    )


def _drafts() -> None:
    op.create_table(
        "drafts",
        sa.Column("draft_id", sa.String(64), nullable=False),
        sa.Column("mailbox", sa.String(100), nullable=False),
        sa.Column("order_ids", sa.Text(), nullable=False),
        sa.Column("customer_email", sa.String(320), nullable=False),
        sa.Column("to", sa.Text(), nullable=False),
        sa.Column("cc", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("message_id", sa.String(998), nullable=False),
        sa.Column("in_reply_to", sa.String(998), nullable=True),
        sa.Column("references", sa.Text(), nullable=False),
        sa.Column("rule_id", sa.String(100), nullable=False),
        sa.Column("template", sa.String(200), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("mode", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("draft_id", name="pk_drafts"),
        sa.UniqueConstraint("message_id", name="uq_drafts_message_id"),
    )
    op.create_index("ix_drafts_customer_email", "drafts", ["customer_email"])
    op.create_index("ix_drafts_status", "drafts", ["status"])


def downgrade() -> None:
    op.drop_table("tick_state")
    op.drop_table("draft_orders")
    op.drop_table("drafts")
    with op.batch_alter_table("orders") as batch:
        batch.drop_index("ix_orders_next_due_at")
        batch.drop_column("next_due_at")
