"""Addresses that bounced: SqlStore's part that keeps follow-ups away from a dead address.

A mixin of SqlStore (same engine, same transactions). One row per customer and address
(`bounced_contacts`, migration 0005):

- `flag_bounced` records a bounce the policy flagged (idempotent: the same bounce planned again
  changes nothing; a bounce after the address was cleared flags it again);
- `revive_contacts` clears the flag of an address that wrote a human message after its bounce
  (it works again); the tick calls it before planning an order;
- `clear_bounced` is the person's way (`dunbot orders unbounce ID ADDRESS`);
- `bounced_contacts` / `bounced_addresses` are what is flagged now.

Each change writes an audit entry (`contact.bounced`, `contact.working`) in its transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, and_, func, or_, select, update

from bot.adapters.store.rows import clean
from bot.adapters.store.tables import bounced_contacts, customers, messages, orders
from bot.core.model import Direction, Kind, OrderStatus
from bot.errors import OrderLookupError


@dataclass(frozen=True, slots=True)
class BouncedContact:
    """An address of a customer that bounced and has not been cleared."""

    email: str
    order_id: str | None  # the order whose mail bounced
    message_id: str | None  # the bounce (DSN) message
    status: str | None  # RFC 3464 status, e.g. 5.1.1
    bounced_at: datetime
    flagged_at: datetime

    def as_json(self) -> dict[str, object]:
        return {
            "email": self.email,
            "order_id": self.order_id,
            "message_id": self.message_id,
            "status": self.status,
            "bounced_at": self.bounced_at.isoformat(),
            "flagged_at": self.flagged_at.isoformat(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounce:
    """One bounce as flag_bounced keeps it: which order's mail, which DSN, when it came."""

    order_id: str | None
    bounced_at: datetime
    message_id: str | None = None
    status: str | None = None


class BouncesMixin:
    """Bounced-address methods of SqlStore; every public method is one transaction."""

    if TYPE_CHECKING:
        _engine: Engine
        _clock: Callable[[], datetime]
        _insert: Any

        def _audit(
            self, conn: Connection, event: str, order_id: str | None, detail: str, at: datetime
        ) -> None: ...

    def flag_bounced(
        self,
        customer_email: str,
        email: str,
        *,
        order_id: str | None,
        bounced_at: datetime,
        message_id: str | None = None,
        status: str | None = None,
        now: datetime | None = None,
    ) -> bool:
        """Flag `email` of this customer as bouncing; True when it was not flagged before.

        `bounced_at` is the bounce's Date, `message_id` and `status` its Message-ID and RFC 3464
        status when known. The same bounce recorded again is a no-op; a bounce older than the
        address's clearing (it wrote again, or a person cleared it) does not flag it again."""
        bounce = Bounce(
            order_id=order_id, bounced_at=bounced_at, message_id=message_id, status=status
        )
        at, email = now or self._clock(), email.strip().lower()
        with self._engine.begin() as conn:
            customer_id = _customer_id(conn, customer_email)
            values = {**_flag_values(bounce, at), "customer_id": customer_id, "email": email}
            stmt = (
                self._insert(bounced_contacts)
                .values(values)
                .on_conflict_do_nothing()
                .returning(bounced_contacts.c.email)
            )
            if conn.execute(stmt).first() is not None:  # rowcount is not reliable here on PG
                self._audit(conn, "contact.bounced", bounce.order_id, email, at)
                return True
            return self._reflag(conn, customer_id, email, bounce, at)

    def _reflag(
        self, conn: Connection, customer_id: int, email: str, bounce: Bounce, at: datetime
    ) -> bool:
        row = conn.execute(
            select(bounced_contacts).where(_key(customer_id, email)).with_for_update()
        ).one()
        if row.cleared_at is None:  # flagged already: keep the newest bounce's details
            if bounce.bounced_at > row.bounced_at:
                values = _flag_values(bounce, row.flagged_at)
                conn.execute(
                    update(bounced_contacts).where(_key(customer_id, email)).values(values)
                )
            return False
        if bounce.bounced_at <= row.cleared_at:  # the bounce it was cleared of, planned again
            return False
        conn.execute(
            update(bounced_contacts)
            .where(_key(customer_id, email))
            .values(_flag_values(bounce, at))
        )
        self._audit(conn, "contact.bounced", bounce.order_id, email, at)
        return True

    def bounced_contacts(self, customer_email: str) -> list[BouncedContact]:
        """The customer's flagged addresses (not cleared), by address."""
        query = (
            select(bounced_contacts)
            .join(customers, customers.c.id == bounced_contacts.c.customer_id)
            .where(customers.c.email == customer_email.lower())
            .where(bounced_contacts.c.cleared_at.is_(None))
            .order_by(bounced_contacts.c.email)
        )
        with self._engine.begin() as conn:
            return [_bounced(row) for row in conn.execute(query)]

    def bounced_addresses(self, customer_email: str) -> frozenset[str]:
        """The customer's flagged addresses: no follow-up goes to them."""
        return frozenset(b.email for b in self.bounced_contacts(customer_email))

    def revive_contacts(self, customer_email: str, *, now: datetime | None = None) -> list[str]:
        """Clear the flag of each address that wrote a human message (on one of the customer's
        orders) dated after its bounce: it works again. Returns the cleared addresses."""
        at = now or self._clock()
        with self._engine.begin() as conn:
            flagged = conn.execute(
                select(bounced_contacts)
                .join(customers, customers.c.id == bounced_contacts.c.customer_id)
                .where(customers.c.email == customer_email.lower())
                .where(bounced_contacts.c.cleared_at.is_(None))
            ).all()
            return [row.email for row in flagged if self._revive(conn, row, at)]

    def _revive(self, conn: Connection, row: Any, at: datetime) -> bool:
        wrote = conn.execute(
            select(messages.c.date, messages.c.message_id, messages.c.order_id)
            .join(orders, orders.c.order_id == messages.c.order_id)
            .where(orders.c.customer_id == row.customer_id)
            .where(func.lower(messages.c.sender) == row.email)
            .where(messages.c.direction == Direction.IN.value)
            .where(or_(messages.c.kind == Kind.HUMAN.value, messages.c.kind.is_(None)))
            .where(messages.c.date > row.bounced_at)
            .order_by(messages.c.date.desc())
            .limit(1)
        ).first()
        if wrote is None:
            return False
        why = f"{row.email} wrote again on {wrote.date:%Y-%m-%d %H:%M} ({wrote.message_id})"
        # cleared_at is the message's date: a bounce planned again that is older stays cleared
        self._clear(conn, row.customer_id, row.email, wrote.date, why)
        self._audit(conn, "contact.working", wrote.order_id or row.order_id, why, at)
        return True

    def clear_bounced(
        self, order_id: str, email: str, *, by: str, now: datetime | None = None
    ) -> bool:
        """A person says the address works (`dunbot orders unbounce`): clear the flag for the
        order's customer and plan their open orders again. False if it was not flagged."""
        at, email = now or self._clock(), email.strip().lower()
        with self._engine.begin() as conn:
            customer_id = conn.scalar(
                select(orders.c.customer_id).where(orders.c.order_id == order_id)
            )
            if customer_id is None:
                raise OrderLookupError(f"no order {order_id!r}; see `dunbot orders list`")
            active = conn.scalar(
                select(bounced_contacts.c.email).where(
                    _key(customer_id, email), bounced_contacts.c.cleared_at.is_(None)
                )
            )
            if active is None:
                return False
            why = f"{email} cleared by {by}"
            self._clear(conn, customer_id, email, at, why)
            conn.execute(
                update(orders)
                .where(orders.c.customer_id == customer_id)
                .where(orders.c.status == OrderStatus.OPEN.value)
                .values(next_due_at=None)  # plan again at the next tick
            )
            self._audit(conn, "contact.working", order_id, why, at)
        return True

    @staticmethod
    def _clear(conn: Connection, customer_id: int, email: str, at: datetime, why: str) -> None:
        conn.execute(
            update(bounced_contacts)
            .where(_key(customer_id, email))
            .values(cleared_at=at, cleared_by=clean(why))
        )


def _customer_id(conn: Connection, customer_email: str) -> int:
    found = conn.scalar(select(customers.c.id).where(customers.c.email == customer_email.lower()))
    if found is None:
        raise OrderLookupError(f"no customer with email {customer_email}")
    return int(found)


def _key(customer_id: int, email: str) -> Any:
    return and_(bounced_contacts.c.customer_id == customer_id, bounced_contacts.c.email == email)


def _flag_values(bounce: Bounce, flagged_at: datetime) -> dict[str, Any]:
    return {
        "order_id": bounce.order_id,
        "message_id": bounce.message_id[:998] if bounce.message_id else None,
        "status": bounce.status[:20] if bounce.status else None,
        "bounced_at": bounce.bounced_at,
        "flagged_at": flagged_at,
        "cleared_at": None,
        "cleared_by": "",
    }


def _bounced(row: Any) -> BouncedContact:
    return BouncedContact(
        email=row.email,
        order_id=row.order_id,
        message_id=row.message_id,
        status=row.status,
        bounced_at=row.bounced_at,
        flagged_at=row.flagged_at,
    )
