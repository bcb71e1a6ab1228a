"""Addresses that bounced, per customer: no follow-up goes to them until cleared.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

Types are spelled out here (not imported from tables.py) so this revision never changes.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bounced_contacts",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("order_id", sa.String(100), nullable=True),
        sa.Column("message_id", sa.String(998), nullable=True),
        sa.Column("status", sa.String(20), nullable=True),
        sa.Column("bounced_at", TS, nullable=False),
        sa.Column("flagged_at", TS, nullable=False),
        sa.Column("cleared_at", TS, nullable=True),
        sa.Column("cleared_by", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_bounced_contacts_customer_id_customers"
        ),
        sa.PrimaryKeyConstraint("customer_id", "email", name="pk_bounced_contacts"),
    )


def downgrade() -> None:
    op.drop_table("bounced_contacts")
