"""The SQL schema (SQLAlchemy Core): the one place table and column names are spelled.

Migrations in migrations/versions/ create exactly this; `tests/test_store.py` checks they agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes in, UTC-aware datetimes out, on SQLite (naive text) and PG."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """Exact decimal amounts: NUMERIC on PostgreSQL, text on SQLite (which has no decimal type)."""

    impl = Numeric(18, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(40))
        return dialect.type_descriptor(Numeric(18, 4))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        amount = Decimal(str(value)).normalize()
        exponent = amount.as_tuple().exponent
        if isinstance(exponent, int) and exponent > -2:
            amount = amount.quantize(Decimal("0.01"))
        return amount


customers = Table(
    "customers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", String(200), nullable=False, default=""),
    Column("domain", String(255), nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String(200), nullable=False, default=""),
    Column("role", String(40), nullable=False, default="buyer"),
    UniqueConstraint("customer_id", "email"),
)

orders = Table(
    "orders",
    metadata,
    Column("order_id", String(100), primary_key=True),
    Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
    Column("amount", Money, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("due_date", Date, nullable=True),
    Column("status", String(20), nullable=False, default="open", index=True),
    Column("language", String(8), nullable=True),
    Column("country", String(2), nullable=True),
    Column("timezone", String(64), nullable=True),
    Column("mailbox", String(100), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # When the planning tick looks at this order again; NULL: plan at the next tick (0002).
    Column("next_due_at", UtcDateTime, nullable=True, index=True),
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mailbox", String(100), nullable=False),
    Column("folder", String(255), nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("message_id", String(998), nullable=False, index=True),
    Column("direction", String(3), nullable=False),
    Column("subject", Text, nullable=False, default=""),
    Column("sender", String(320), nullable=False, default=""),
    Column("recipients", Text, nullable=False, default=""),  # one address per line
    Column("date", UtcDateTime, nullable=True),
    Column("in_reply_to", String(998), nullable=True),
    Column("references", Text, nullable=False, default=""),  # one Message-ID per line, oldest first
    Column("text", Text, nullable=False, default=""),
    Column("order_id", String(100), ForeignKey("orders.order_id"), nullable=True, index=True),
    Column("match_reason", Text, nullable=False, default=""),
    Column("kind", String(20), nullable=True),
    Column("intent", String(40), nullable=True),
    Column("language", String(8), nullable=True),
    Column("promised_date", Date, nullable=True),
    Column("stated_order", String(100), nullable=True),
    Column("reply_text", Text, nullable=True),
    Column("bounce_recipient", String(320), nullable=True),
    Column("bounce_status", String(20), nullable=True),
    Column("stored_at", UtcDateTime, nullable=False),
    UniqueConstraint("mailbox", "message_id"),
)

quarantine = Table(
    "quarantine",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("mailbox", String(100), nullable=False),
    Column("folder", String(255), nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    Column("at", UtcDateTime, nullable=False),
)

folder_state = Table(
    "folder_state",
    metadata,
    Column("mailbox", String(100), primary_key=True),
    Column("folder", String(255), primary_key=True),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("last_uid", BigInteger, nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("event", String(100), nullable=False),
    Column("order_id", String(100), nullable=True, index=True),
    Column("detail", Text, nullable=False, default=""),
)

Index("ix_messages_mailbox_folder_uid", messages.c.mailbox, messages.c.folder, messages.c.uid)

# --- the planning tick's drafts (migration 0002; methods in drafts.py) ----------------------

drafts = Table(
    "drafts",
    metadata,
    Column("draft_id", String(64), primary_key=True),
    Column("mailbox", String(100), nullable=False),
    Column("order_ids", Text, nullable=False),  # one order_id per line; draft_orders links them
    Column("customer_email", String(320), nullable=False, index=True),
    Column("to", Text, nullable=False),  # one address per line
    Column("cc", Text, nullable=False, default=""),
    Column("subject", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("message_id", String(998), nullable=False, unique=True),
    Column("in_reply_to", String(998), nullable=True),
    Column("references", Text, nullable=False, default=""),
    Column("rule_id", String(100), nullable=False),
    Column("template", String(200), nullable=False),
    Column("language", String(8), nullable=False),
    Column("mode", String(10), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime, nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("status_reason", Text, nullable=False, default=""),
    Column("updated_at", UtcDateTime, nullable=False),
)

# Which orders a draft speaks for (several when one customer's follow-ups are merged). `status`
# mirrors the draft's, so the partial unique index below makes "never two pending drafts for one
# order" a database guarantee, also for several daemons sharing one PostgreSQL.
draft_orders = Table(
    "draft_orders",
    metadata,
    Column("draft_id", String(64), ForeignKey("drafts.draft_id"), primary_key=True),
    Column("order_id", String(100), ForeignKey("orders.order_id"), primary_key=True),
    Column("rule_id", String(100), nullable=False),  # this order's own rule (merged drafts)
    Column("status", String(20), nullable=False),
)

Index(
    "ix_draft_orders_order_id",
    draft_orders.c.order_id,
)
Index(
    "uq_draft_orders_one_pending",
    draft_orders.c.order_id,
    unique=True,
    sqlite_where=draft_orders.c.status == "pending",
    postgresql_where=draft_orders.c.status == "pending",
)

# Small named counters of the tick, e.g. the highest messages.id already planned for.
tick_state = Table(
    "tick_state",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# --- addresses that bounced (migration 0005; methods in bounces.py) --------------------------

# One row per customer and address. `cleared_at` NULL: the address is flagged and no follow-up
# goes to it; set when the person wrote again (a human message after the bounce) or by hand
# (`dunbot orders unbounce`). A later bounce flags it again.
bounced_contacts = Table(
    "bounced_contacts",
    metadata,
    Column("customer_id", Integer, ForeignKey("customers.id"), primary_key=True),
    Column("email", String(320), primary_key=True),
    Column("order_id", String(100), nullable=True),  # the order whose mail bounced
    Column("message_id", String(998), nullable=True),  # the bounce (DSN) message
    Column("status", String(20), nullable=True),  # RFC 3464 status, e.g. 5.1.1
    Column("bounced_at", UtcDateTime, nullable=False),  # the bounce's Date
    Column("flagged_at", UtcDateTime, nullable=False),
    Column("cleared_at", UtcDateTime, nullable=True),
    Column("cleared_by", Text, nullable=False, default=""),
)
