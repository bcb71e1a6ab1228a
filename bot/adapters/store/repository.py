"""SqlStore: bot.ports.Store on SQLAlchemy Core, for SQLite (embedded) and PostgreSQL (psycopg 3).

Every public method is one transaction. `SqlStore.open(url)` migrates the schema to the
newest Alembic revision before returning. Orders and the audit log are here; the ingest side
(messages, folder state, quarantine) is in ingest.py, the planning tick's in drafts.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import (
    Connection,
    Engine,
    Row,
    create_engine,
    event,
    insert,
    make_url,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from bot.adapters.store import rows
from bot.adapters.store.bounces import BouncesMixin
from bot.adapters.store.drafts import DraftsMixin
from bot.adapters.store.ingest import IngestMixin
from bot.adapters.store.tables import audit, contacts, customers, orders
from bot.core.model import Contact, Order, OrderStatus
from bot.errors import BotError, OrderLookupError

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
CLOSED_STATUSES = (OrderStatus.PAID.value, OrderStatus.CANCELLED.value)
_MIGRATION_LOCK = 0x64756E62  # "dunb": one migrating daemon at a time on PostgreSQL


class StoreError(BotError):
    """The database cannot be opened or migrated; names the URL (without password)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    event: str
    order_id: str | None
    detail: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SqlStore(IngestMixin, DraftsMixin, BouncesMixin):
    """The database: orders, messages, folder state, quarantine, bounced addresses and the
    audit log. `clock` stamps what a caller does not date itself (`at=`/`now=`)."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], datetime] = _utcnow) -> SqlStore:
        """Connect to `url` (sqlite:///FILE or postgresql+psycopg://...) and migrate to head."""
        engine = make_engine(url)
        try:
            migrate(engine)
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            reason = getattr(exc, "orig", None) or exc
            where = engine.url.render_as_string(hide_password=True)
            raise StoreError(
                f"{where}: cannot open the database: {reason}".splitlines()[0]
            ) from exc
        return cls(engine, clock=clock)

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- orders ------------------------------------------------------------------------------

    def upsert_orders(self, new_orders: Iterable[Order]) -> tuple[int, int]:
        """Insert new orders, update known ones (never their status). Returns (created, updated)."""
        now, created, updated = self._clock(), 0, 0
        with self._engine.begin() as conn:
            for order in new_orders:
                customer_id = self._customer_id(conn, order.customer_email, order.customer_name)
                values = rows.order_values(order, customer_id, now)
                result = conn.execute(
                    update(orders).where(orders.c.order_id == order.order_id).values(values)
                )
                if result.rowcount:
                    updated += 1
                else:
                    fresh = {
                        **values,
                        "order_id": order.order_id,
                        "status": order.status.value,
                        "created_at": now,
                    }
                    conn.execute(insert(orders).values(fresh))
                    created += 1
            self._audit(conn, "orders.import", None, f"created {created}, updated {updated}", now)
        return created, updated

    def _customer_id(self, conn: Connection, email: str, name: str) -> int:
        email = email.lower()
        row = conn.execute(
            select(customers.c.id, customers.c.name).where(customers.c.email == email)
        ).first()
        if row is None:
            values = {"email": email, "name": name, "domain": email.rpartition("@")[2]}
            return int(
                conn.execute(
                    insert(customers).values(values).returning(customers.c.id)
                ).scalar_one()
            )
        if name and name != row.name:
            conn.execute(update(customers).where(customers.c.id == row.id).values(name=name))
        return int(row.id)

    def add_contact(self, customer_email: str, contact: Contact) -> bool:
        """Remember another person at a known customer; True if new. OrderLookupError if unknown."""
        with self._engine.begin() as conn:
            customer_id = conn.scalar(
                select(customers.c.id).where(customers.c.email == customer_email.lower())
            )
            if customer_id is None:
                raise OrderLookupError(f"no customer with email {customer_email}")
            stmt = self._insert(contacts).values(
                customer_id=customer_id,
                email=contact.email.lower(),
                name=contact.name,
                role=contact.role,
            )
            return (
                conn.execute(stmt.on_conflict_do_nothing().returning(contacts.c.id)).first()
                is not None
            )

    def get_order(self, order_id: str) -> Order:
        """The order with that id; OrderLookupError (saying how to list orders) if none."""
        with self._engine.begin() as conn:
            found = self._orders(conn, orders.c.order_id == order_id)
        if not found:
            raise OrderLookupError(f"no order {order_id!r}; see `dunbot orders list`")
        return found[0]

    def list_orders(self, status: OrderStatus | None = None) -> list[Order]:
        """Every order (or those with one status), by order_id."""
        where = orders.c.status == status.value if status is not None else None
        with self._engine.begin() as conn:
            return self._orders(conn, where)

    def open_orders(self) -> list[Order]:
        """Orders not yet settled: every status but paid and cancelled (paused ones included,
        so the policy can say why it waits), by due date then order_id."""
        with self._engine.begin() as conn:
            found = self._orders(conn, orders.c.status.not_in(CLOSED_STATUSES))
        return sorted(found, key=lambda o: (o.due_date is None, o.due_date, o.order_id))

    def _orders(self, conn: Connection, where: Any) -> list[Order]:
        query = (
            select(orders, customers.c.email, customers.c.name)
            .join(customers)
            .order_by(orders.c.order_id)
        )
        if where is not None:
            query = query.where(where)
        found = list(conn.execute(query))
        people = self._contacts(conn, {row.customer_id for row in found})
        return [rows.order_from_row(row, people.get(row.customer_id, ())) for row in found]

    def _contacts(self, conn: Connection, customer_ids: set[int]) -> dict[int, tuple[Contact, ...]]:
        if not customer_ids:
            return {}
        query = (
            select(contacts)
            .where(contacts.c.customer_id.in_(sorted(customer_ids)))
            .order_by(contacts.c.id)
        )
        grouped: dict[int, list[Contact]] = {}
        for row in conn.execute(query):
            grouped.setdefault(row.customer_id, []).append(Contact(row.email, row.name, row.role))
        return {key: tuple(value) for key, value in grouped.items()}

    def set_order_status(
        self, order_id: str, status: OrderStatus, *, reason: str, at: datetime | None = None
    ) -> None:
        """Change the status and write an audit entry ("open -> paid: reason"), one transaction;
        dated `at` (the caller's `now`, e.g. `sync --now`), else the store's clock."""
        now = at or self._clock()
        with self._engine.begin() as conn:
            old = conn.scalar(select(orders.c.status).where(orders.c.order_id == order_id))
            if old is None:
                raise OrderLookupError(f"no order {order_id!r}; see `dunbot orders list`")
            conn.execute(
                update(orders)
                .where(orders.c.order_id == order_id)
                .values(status=status.value, updated_at=now, next_due_at=None)  # plan again
            )
            self._audit(conn, "order.status", order_id, f"{old} -> {status.value}: {reason}", now)

    # --- audit ---------------------------------------------------------------------------------

    def audit(
        self, event: str, *, order_id: str | None, detail: str, at: datetime | None = None
    ) -> None:
        """One audit entry, dated `at` (the caller's `now`), else the store's clock."""
        with self._engine.begin() as conn:
            self._audit(conn, event, order_id, detail, at or self._clock())

    def _audit(
        self, conn: Connection, event: str, order_id: str | None, detail: str, at: datetime
    ) -> None:
        conn.execute(
            insert(audit).values(at=at, event=event, order_id=order_id, detail=rows.clean(detail))
        )

    def audit_log(self, order_id: str | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first; only one order's when order_id is given."""
        query = select(audit).order_by(audit.c.id)
        if order_id is not None:
            query = query.where(audit.c.order_id == order_id)
        with self._engine.begin() as conn:
            return [_audit_entry(row) for row in conn.execute(query)]


def _audit_entry(row: Row[Any]) -> AuditEntry:
    return AuditEntry(row.at, row.event, row.order_id, row.detail)


def make_engine(url: str) -> Engine:
    """An Engine with dunbot's connection settings (SQLite: WAL, foreign keys, busy timeout)."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control from pysqlite so BEGIN IMMEDIATE (below) is what starts one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; safe with WAL
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Write lock up front: two processes never deadlock upgrading a read lock (SQLITE_BUSY).
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision, in one transaction (serialised on PostgreSQL)."""
    config = AlembicConfig(str(ALEMBIC_INI))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
