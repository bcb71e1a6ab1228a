"""The SQL store (SQLAlchemy + Alembic): SQLite embedded, PostgreSQL via psycopg 3."""

from bot.adapters.store.bounces import BouncedContact
from bot.adapters.store.outbox import SqlOutbox  # registers the outbox tables on `metadata`
from bot.adapters.store.repository import AuditEntry, SqlStore, StoreError, make_engine, migrate

__all__ = [
    "AuditEntry",
    "BouncedContact",
    "SqlOutbox",
    "SqlStore",
    "StoreError",
    "make_engine",
    "migrate",
]
